/// The `claims` and `headers` arguments: `"name1=value1;name2='value 2';..."`, read as
/// Kamailio's `parse_params` reads SIP parameters (a trailing `;` dropped first), and typed as
/// its jwt module types them: a quoted value (single or double quotes) is a string, an
/// unquoted one an integer when it is one (`str2slong`), else a string. Parameters without a
/// name or with an empty value are ignored.
enum ClaimList {
    /// A claim (or header) to add or require.
    struct Item: Equatable {
        let name: String
        let value: JSONValue
    }

    /// The items of `text` in the order Kamailio's module adds them (its parameter list is
    /// built by prepending, so the last one written comes first), or nil when the text does
    /// not parse (an unclosed quote, a character other than `;` after a value, a `;` with
    /// nothing after it).
    static func parse(_ text: String) -> [Item]? {
        var all = ArraySlice(Array(text.utf8))
        if all.last == UInt8(ascii: ";") { all = all.dropLast() }
        var s = all
        var items: [Item] = []
        if s.isEmpty { return items }
        while true {
            // Parameter name: up to whitespace, ',', '=' or ';'.
            let nameStart = s.startIndex
            while let c = s.first, !isSpace(c), c != UInt8(ascii: ","), c != UInt8(ascii: "="), c != UInt8(ascii: ";") {
                s = s.dropFirst()
            }
            let name = all[nameStart..<s.startIndex]
            trimLeading(&s)
            var body: ArraySlice<UInt8> = []
            var quoted = false
            if s.first == UInt8(ascii: "=") {
                s = s.dropFirst()
                trimLeading(&s)
                if let q = s.first, q == UInt8(ascii: "\"") || q == UInt8(ascii: "'") {
                    guard s.count >= 2 else { return nil }
                    s = s.dropFirst()
                    guard let end = s.firstIndex(of: q) else { return nil }
                    body = s[s.startIndex..<end]
                    s = s[(end + 1)...]
                    quoted = true
                } else if !s.isEmpty {
                    let start = s.startIndex
                    while let c = s.first, !isSpace(c), c != UInt8(ascii: ","), c != UInt8(ascii: ";") {
                        s = s.dropFirst()
                    }
                    guard s.startIndex > start else { return nil }
                    body = all[start..<s.startIndex]
                }
                trimLeading(&s)
            }
            if !name.isEmpty && !body.isEmpty {
                let value = String(decoding: body, as: UTF8.self)
                var typed = JSONValue.string(value)
                if !quoted, let number = Int64(value) { typed = .integer(number) }
                items.insert(Item(name: String(decoding: name, as: UTF8.self), value: typed), at: 0)
            }
            // End of the list: the text ends, or a ',' or '>' (parse_params stops there).
            guard let c = s.first, c != UInt8(ascii: ","), c != UInt8(ascii: ">") else { return items }
            guard c == UInt8(ascii: ";") else { return nil }
            s = s.dropFirst()
            trimLeading(&s)
            if s.isEmpty { return nil }
        }
    }

    /// Adds `item` to `object` as libjwt's `jwt_add_grant`/`jwt_add_grant_int` (and the
    /// header and validation forms) do: false (the call fails) when the name already holds a
    /// value of the same kind (a string, or an integer other than -1); a value of the other
    /// kind is replaced.
    static func add(_ item: Item, to object: inout JSONObject) -> Bool {
        switch (object[item.name], item.value) {
        case (.string?, .string): return false
        case (.integer(let old)?, .integer) where old != -1: return false
        default:
            object[item.name] = item.value
            return true
        }
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }

    private static func trimLeading(_ s: inout ArraySlice<UInt8>) {
        while let c = s.first, isSpace(c) { s = s.dropFirst() }
    }
}

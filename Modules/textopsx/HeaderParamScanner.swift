/// Finding a parameter inside a header value, as Kamailio's textopsx does for
/// `remove_hf_value`/`assign_hf_value` (`name;param=value`, `find_hf_value_param`) and for
/// `remove_hf_value2`/`assign_hf_value2` (`Digest a=1, b="2"`, `find_hf_value2_param`).
/// All ranges are offsets into the message buffer.
struct ParamMatch {
    var found = false
    /// After the parameter name to the end of its value (what an assignment replaces).
    var update = 0..<0
    /// The whole parameter with the separator before it (what a removal deletes); when not
    /// found, an empty range where a new parameter goes.
    var delete = 0..<0
    /// The separator a new parameter takes (value2 form): `,` after `name=value` items, ` `
    /// after bare tokens, none in an empty value.
    var delimiter: UInt8? = nil
}

enum HeaderParamScanner {
    static func isSpace(_ c: UInt8) -> Bool { HeaderValueSelector.isSpace(c) }

    static func sameName(_ b: [UInt8], _ r: Range<Int>, _ name: [UInt8]) -> Bool {
        r.count == name.count && zip(b[r], name).allSatisfy { HeaderValueSelector.lower($0) == $1 }
    }

    /// Where the parameters of a value start (Kamailio's `get_uri_and_skip_until_params`):
    /// the first `;` outside double quotes and outside `<...>`.
    static func parameters(_ b: [UInt8], _ area: Range<Int>) -> Range<Int> {
        var i = area.lowerBound
        let end = area.upperBound
        while i < end, b[i] != UInt8(ascii: ";") {
            var quoted = false
            while i < end {
                if !quoted {
                    if b[i] == UInt8(ascii: "\"") {
                        quoted = true
                    } else if b[i] == UInt8(ascii: "<") || b[i] == UInt8(ascii: ";") || isSpace(b[i]) {
                        break
                    }
                } else if b[i] == UInt8(ascii: "\""), b[i - 1] != UInt8(ascii: "\\") {
                    quoted = false
                }
                i += 1
            }
            while i < end, isSpace(b[i]) { i += 1 }
            if i < end, b[i] == UInt8(ascii: "<") {
                quoted = false
                while i < end {
                    if !quoted {
                        if b[i] == UInt8(ascii: "\"") {
                            quoted = true
                        } else if b[i] == UInt8(ascii: ">") {
                            break
                        }
                    } else if b[i] == UInt8(ascii: "\""), b[i - 1] != UInt8(ascii: "\\") {
                        quoted = false
                    }
                    i += 1
                }
            }
        }
        return i..<end
    }

    /// The parameter `name` (lowercased) among `;p=v` items at the start of `area`.
    static func findParameter(_ name: [UInt8], _ b: [UInt8], _ area: Range<Int>) -> ParamMatch {
        var i = area.lowerBound
        let end = area.upperBound
        while true {
            let delStart = i
            while i < end, isSpace(b[i]) { i += 1 }
            guard i < end, b[i] == UInt8(ascii: ";") else { return ParamMatch(delete: delStart..<delStart) }
            i += 1
            while i < end, isSpace(b[i]) { i += 1 }
            let j = i
            while i < end, !isSpace(b[i]), b[i] != UInt8(ascii: "="), b[i] != UInt8(ascii: ";") { i += 1 }
            let found = sameName(b, j..<i, name)
            let updStart = i
            while i < end, isSpace(b[i]) { i += 1 }
            if i < end, b[i] == UInt8(ascii: "=") {
                i += 1
                while i < end, isSpace(b[i]) { i += 1 }
                i = valueEnd(b, i, end, stop: UInt8(ascii: ";"))
            }
            if found { return ParamMatch(found: true, update: updStart..<i, delete: delStart..<i) }
        }
    }

    /// The end of a parameter value starting at `i`: past the closing quote of a quoted one,
    /// else at a space or `stop`.
    static func valueEnd(_ b: [UInt8], _ start: Int, _ end: Int, stop: UInt8) -> Int {
        var i = start
        guard i < end else { return i }
        if b[i] == UInt8(ascii: "\"") {
            i += 1
            while i < end {
                if b[i] == UInt8(ascii: "\"") { return i + 1 }
                i += 1
            }
            return i
        }
        while i < end, !isSpace(b[i]), b[i] != stop { i += 1 }
        return i
    }

    /// The parameter `name` (lowercased) among `token name=value, name="value"` items.
    /// Kamailio 5.6.3 loops forever when an item starts with a character other than a
    /// letter, digit, `_`, `-`, comma or space; here such a character is skipped.
    static func findParameter2(_ name: [UInt8], _ b: [UInt8], _ area: Range<Int>) -> ParamMatch {
        var i = area.lowerBound
        let end = area.upperBound
        var m = ParamMatch()
        while i < end {
            let delStart = i
            while i < end, isSpace(b[i]) { i += 1 }
            let comma = i < end && b[i] == UInt8(ascii: ",")
            if comma { i += 1 }
            while i < end, isSpace(b[i]) { i += 1 }
            if i < end, HeaderValueSelector.isNameByte(b[i]) {
                let j = i
                if m.delimiter == nil { m.delimiter = UInt8(ascii: " ") }
                while i < end, HeaderValueSelector.isNameByte(b[i]) { i += 1 }
                let k = i
                while i < end, isSpace(b[i]) { i += 1 }
                let updStart = i
                if i < end, b[i] == UInt8(ascii: "=") {
                    m.delimiter = UInt8(ascii: ",")
                    i += 1
                    let found = sameName(b, j..<k, name)
                    while i < end, isSpace(b[i]) { i += 1 }
                    i = valueEnd(b, i, end, stop: UInt8(ascii: ","))
                    if found {
                        m.found = true
                        m.update = updStart..<i
                        var delEnd = i
                        while i < end, isSpace(b[i]) { i += 1 }
                        if !comma, i < end, b[i] == UInt8(ascii: ",") { delEnd = i + 1 }
                        m.delete = delStart..<delEnd
                        return m
                    }
                }
                while i < end, isSpace(b[i]) { i += 1 }
            } else if i < end {
                i += 1
            }
        }
        m.delete = i..<i
        return m
    }
}

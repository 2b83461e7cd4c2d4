import SwiftletSDK

/// The header selector of the textopsx header-value functions (Kamailio's
/// `fixup_hname_param`): `name [ "[" ( "" | "*" | index ) "]" ] [ "." param ]`, spaces
/// allowed around the parts. The name is letters, digits, `_` and `-`; a name the SIP parser
/// knows matches its long and compact forms, any other is compared ignoring case.
struct HeaderValueSelector: Equatable {
    /// The name as written (used for headers the functions add).
    let name: String
    let kind: HeaderName
    /// `[...]` was given.
    var hasIndex = false
    /// `[*]`
    var all = false
    /// The index (1 the first value, -1 the last); 0 when none was given.
    var index = 0
    /// The parameter after `.`, or empty.
    var parameter = ""

    /// Parses `text`; the error names the place where parsing stopped, as Kamailio's does.
    init(_ text: String) throws(FixupError) {
        let b = Array(text.utf8)
        var i = 0
        func skipSpaces() { while i < b.count, Self.isSpace(b[i]) { i += 1 } }
        func near() -> FixupError {
            FixupError("cannot parse header near '\(String(decoding: b[min(i, b.count)...], as: UTF8.self))'")
        }
        skipSpaces()
        let start = i
        while i < b.count, Self.isNameByte(b[i]) { i += 1 }
        guard i > start else { throw near() }
        name = String(decoding: b[start..<i], as: UTF8.self)
        let lower = name.lowercased()
        // Kamailio has no compact form `n` (Identity-Info).
        kind = lower == "n" ? .other : HeaderName(name: name)
        skipSpaces()
        if i < b.count, b[i] == UInt8(ascii: "[") {
            i += 1
            skipSpaces()
            hasIndex = true
            if i < b.count, b[i] == UInt8(ascii: "*") {
                all = true
                i += 1
            } else if i < b.count, b[i] != UInt8(ascii: "]") {
                guard let (value, end) = Self.strtol(b, i) else { throw near() }
                index = value
                i = end
            }
            skipSpaces()
            guard i < b.count, b[i] == UInt8(ascii: "]") else { throw near() }
            i += 1
        }
        skipSpaces()
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            skipSpaces()
            let p = i
            while i < b.count, Self.isNameByte(b[i]) { i += 1 }
            guard i > p else { throw near() }
            parameter = String(decoding: b[p..<i], as: UTF8.self)
        }
        guard i == b.count else { throw near() }
    }

    /// The fixup of a selector argument (a constant).
    init(argument: ScriptArgument) throws(FixupError) {
        do {
            try self.init(try argument.constantString())
        } catch {
            throw FixupError(error.message, at: argument.location)
        }
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }

    static func isNameByte(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 95 || c == 45
    }

    /// C's `strtol(s, &end, 10)`: optional spaces and sign, then digits; nil without digits.
    static func strtol(_ b: [UInt8], _ from: Int) -> (Int, Int)? {
        var i = from
        while i < b.count, isSpace(b[i]) || b[i] == 11 || b[i] == 12 { i += 1 }
        var negative = false
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            negative = b[i] == UInt8(ascii: "-")
            i += 1
        }
        let digits = i
        var v = 0
        while i < b.count, b[i] >= 48, b[i] <= 57 {
            v = v &* 10 &+ Int(b[i] - 48)
            i += 1
        }
        guard i > digits else { return nil }
        return (negative ? -v : v, i)
    }

    /// True when the header field `h` is one this selector names.
    func matches(_ h: HeaderField, in b: [UInt8]) -> Bool {
        if kind != .other { return h.name == kind }
        let n = Array(name.utf8)
        guard h.nameRange.count == n.count else { return false }
        return zip(b[h.nameRange], n).allSatisfy { Self.lower($0) == Self.lower($1) }
    }

    static func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }

    /// The matching header fields of `msg`, in order.
    func fields(_ msg: SIPMessage) -> [HeaderField] { msg.headers.filter { matches($0, in: msg.buffer) } }
}

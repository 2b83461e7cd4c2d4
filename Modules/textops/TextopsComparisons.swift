import SwiftletSDK

/// Method and string tests (Kamailio's `is_method`, `cmp_str`, `cmp_istr`, `starts_with`,
/// `in_list`).
extension TextopsModule {
    /// `is_method("INVITE|BYE")`: the list is parsed at start-up into method bits (names are
    /// case-insensitive); a single unknown method is compared by name. Replies are tested by
    /// their CSeq method.
    func fixupIsMethod(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let text = try args[0].constantString()
        guard !text.isEmpty else { throw FixupError("empty method name", at: args[0].location) }
        let names = text.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        var bits: UInt32 = 0
        for name in names {
            guard !name.isEmpty, name.utf8.allSatisfy(MethodBits.isTokenByte) else {
                throw FixupError("bad method names '\(text)'", at: args[0].location)
            }
            bits |= MethodBits.bit(Array(name.utf8))
        }
        if names.count > 1, bits & MethodBits.other != 0 {
            throw FixupError(
                "unknown method in list '\(text)' - must be only defined methods", at: args[0].location)
        }
        let otherName: [UInt8]? = bits == MethodBits.other ? Array(text.lowercased().utf8) : nil
        return { ctx in
            let msg = ctx.message
            let method: [UInt8]
            switch msg.firstLine {
            case .request(_, let r, _): method = Array(msg.buffer[r])
            case .response:
                guard let cseq = try? msg.cseq() else {
                    Log.error("textops", "cannot parse cseq header")
                    return -1
                }
                method = Array(msg.buffer[cseq.methodRange])
            }
            let bit = MethodBits.bit(method)
            if let otherName {
                return bit == MethodBits.other && method.map(MethodBits.lower) == otherName ? 1 : -1
            }
            return bit & bits != 0 ? 1 : -1
        }
    }

    /// `cmp_str(a, b)`: 1 when equal, -1 when `a` sorts after `b`, -2 when before.
    func fixupCmpStr(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.comparison(args, caseInsensitive: false)
    }

    /// `cmp_istr(a, b)`: the same, ignoring case.
    func fixupCmpIStr(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try Self.comparison(args, caseInsensitive: true)
    }

    static func comparison(_ args: [ScriptArgument], caseInsensitive: Bool) throws(FixupError) -> ScriptAction {
        let a = try args[0].stringFormat()
        let b = try args[1].stringFormat()
        return { ctx in
            var x = Array(a.render(ctx).utf8)
            var y = Array(b.render(ctx).utf8)
            if caseInsensitive {
                x = x.map(MethodBits.lower)
                y = y.map(MethodBits.lower)
            }
            let r = compare(x, y)
            return r == 0 ? 1 : (r > 0 ? -1 : -2)
        }
    }

    /// Kamailio's `cmp_str`: an empty string sorts first, then bytes (up to a NUL, as
    /// `strncmp`), then length.
    static func compare(_ x: [UInt8], _ y: [UInt8]) -> Int {
        if x.isEmpty && y.isEmpty { return 0 }
        if x.isEmpty { return -1 }
        if y.isEmpty { return 1 }
        for i in 0..<min(x.count, y.count) {
            if x[i] != y[i] { return Int(x[i]) - Int(y[i]) }
            if x[i] == 0 { return 0 }
        }
        return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
    }

    /// `starts_with(s, prefix)`: 1 when `s` starts with `prefix`; -1 when shorter or after it,
    /// -2 when before it.
    func fixupStartsWith(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let a = try args[0].stringFormat()
        let b = try args[1].stringFormat()
        return { ctx in
            let s = Array(a.render(ctx).utf8)
            let p = Array(b.render(ctx).utf8)
            guard s.count >= p.count else { return -1 }
            for i in 0..<p.count where s[i] != p[i] { return s[i] > p[i] ? -1 : -2 }
            return 1
        }
    }

    /// `in_list(subject, list, separator)`: 1 when `subject` equals an item of `list` split
    /// at the one-character `separator` (items trimmed of whitespace).
    func fixupInList(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let subject = try args[0].stringFormat()
        let list = try args[1].stringFormat()
        let sep = try args[2].constantString()
        guard sep.utf8.count == 1 else { throw FixupError("invalid separator parameter", at: args[2].location) }
        let separator = sep.utf8.first!
        return { ctx in
            let s = subject.render(ctx)
            guard !s.isEmpty else {
                Log.error("textops", "subject cannot be empty string")
                return -1
            }
            let l = Array(list.render(ctx).utf8)
            guard !l.isEmpty else { return -1 }
            let wanted = Array(s.utf8)
            for item in l.split(separator: separator, omittingEmptySubsequences: false) {
                var t = item[...]
                while let f = t.first, MethodBits.isSpace(f) { t = t.dropFirst() }
                while let e = t.last, MethodBits.isSpace(e) { t = t.dropLast() }
                if t.elementsEqual(wanted) { return 1 }
            }
            return -1
        }
    }
}

/// Kamailio's method bits (`METHOD_INVITE` = 1 ... `METHOD_OTHER`), from names compared
/// case-insensitively (`parse_method_name`).
enum MethodBits {
    static let other: UInt32 = 1 << 19
    static let names: [(String, UInt32)] = [
        ("invite", 1), ("cancel", 2), ("ack", 4), ("bye", 8), ("info", 16), ("register", 32), ("subscribe", 64),
        ("notify", 128), ("message", 256), ("options", 512), ("prack", 1024), ("update", 2048), ("refer", 4096),
        ("publish", 8192), ("kdmq", 16384), ("get", 32768), ("post", 65536), ("put", 131072), ("delete", 262144),
    ]

    static func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }
    static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }

    /// RFC 3261 token characters.
    static func isTokenByte(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57)
            || "-.!%*_+`'~".utf8.contains(c)
    }

    static func bit(_ name: [UInt8]) -> UInt32 {
        let l = String(decoding: name.map(lower), as: UTF8.self)
        for (n, b) in names where n == l { return b }
        return other
    }
}

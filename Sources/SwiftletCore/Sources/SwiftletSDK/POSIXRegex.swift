#if canImport(Glibc)
    import Glibc
#endif

/// A POSIX extended regular expression compiled once at start-up (Kamailio's
/// `fixup_regexp_null`: `REG_EXTENDED|REG_ICASE|REG_NEWLINE`), matched against bytes with
/// C string semantics (matching stops at a NUL byte). Thread-safe to match. Shared by the
/// modules that take regular expressions (textops, textopsx) and the core (`=~`, `switch`
/// regex labels, `modparam` module names).
public final class POSIXRegex: @unchecked Sendable {
    private var regex = regex_t()
    public let pattern: String

    public init(_ pattern: String, flags: Int32 = REG_EXTENDED | REG_ICASE | REG_NEWLINE) throws(FixupError) {
        self.pattern = pattern
        guard regcomp(&regex, pattern, flags) == 0 else {
            throw FixupError("bad regular expression '\(pattern)'")
        }
    }

    deinit { regfree(&regex) }

    /// The first match in `bytes` at or after `from` (offsets into `bytes`), or nil.
    /// `notBOL`: `^` does not match at `from`.
    public func firstMatch(in bytes: [UInt8], from: Int = 0, notBOL: Bool = false) -> Range<Int>? {
        var c = bytes.map { CChar(bitPattern: $0) }
        c.append(0)
        return Self.match(&regex, c, from, notBOL)
    }

    /// Every match from the start (Kamailio's replace-all loop): after a match `^` matches
    /// again only if the match ended with a line break (when `lineStarts`). Nil when a match
    /// is empty (Kamailio refuses those).
    public func allMatches(in bytes: [UInt8], lineStarts: Bool = true) -> [Range<Int>]? {
        var c = bytes.map { CChar(bitPattern: $0) }
        c.append(0)
        var out: [Range<Int>] = []
        var offset = 0
        var notBOL = false
        while offset < bytes.count, let m = Self.match(&regex, c, offset, notBOL) {
            guard !m.isEmpty else { return nil }
            out.append(m)
            offset = m.upperBound
            let last = bytes[offset - 1]
            notBOL = !(lineStarts && (last == 10 || last == 13))
        }
        return out
    }

    /// True when the regex matches somewhere in `bytes`.
    public func matches(_ bytes: ArraySlice<UInt8>) -> Bool { firstMatch(in: Array(bytes)) != nil }

    /// True when the regex matches somewhere in `string` (up to a NUL character, as in C).
    public func matches(_ string: String) -> Bool {
        string.withCString { regexec(&regex, $0, 0, nil, 0) == 0 }
    }

    private static func match(_ re: inout regex_t, _ c: [CChar], _ from: Int, _ notBOL: Bool) -> Range<Int>? {
        var m = regmatch_t()
        let status = c.withUnsafeBufferPointer { p in
            regexec(&re, p.baseAddress! + from, 1, &m, notBOL ? REG_NOTBOL : 0)
        }
        guard status == 0, m.rm_so >= 0 else { return nil }
        return (from + Int(m.rm_so))..<(from + Int(m.rm_eo))
    }
}

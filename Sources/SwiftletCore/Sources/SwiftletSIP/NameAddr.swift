/// Helpers for `name-addr` / `addr-spec` header values (From, To, Contact, ...).
public enum NameAddr {
    /// The range of the `tag` parameter value in a From/To value, if present.
    ///
    /// Parameters are those after the URI: after `>` for a name-addr, or after the
    /// addr-spec's host part otherwise (URI parameters of an addr-spec without `<>` belong to
    /// the header, RFC 3261 section 20.10).
    public static func tag(in b: [UInt8], _ range: Range<Int>) -> Range<Int>? {
        guard let params = headerParameterStart(in: b, range) else { return nil }
        var i = params
        while i < range.upperBound {
            guard b[i] == ASCII.semicolon else {
                i += 1
                continue
            }
            i += 1
            while i < range.upperBound, ASCII.isWhitespace(b[i]) { i += 1 }
            let nameStart = i
            while i < range.upperBound, b[i] != ASCII.equals, b[i] != ASCII.semicolon, !ASCII.isWhitespace(b[i]) {
                i += 1
            }
            let name = nameStart..<i
            while i < range.upperBound, ASCII.isWhitespace(b[i]) { i += 1 }
            guard i < range.upperBound, b[i] == ASCII.equals else { continue }
            i += 1
            while i < range.upperBound, ASCII.isWhitespace(b[i]) { i += 1 }
            let valueStart = i
            while i < range.upperBound, b[i] != ASCII.semicolon, !ASCII.isWhitespace(b[i]) { i += 1 }
            if b.equalsLowercased(name, "tag") { return valueStart..<i }
        }
        return nil
    }

    /// Where the header parameters of a name-addr/addr-spec value start (index of the first
    /// byte after the URI), or nil when the value is malformed.
    static func headerParameterStart(in b: [UInt8], _ range: Range<Int>) -> Int? {
        var i = range.lowerBound
        var inQuotes = false
        while i < range.upperBound {
            let c = b[i]
            if inQuotes {
                if c == ASCII.backslash { i += 2; continue }
                if c == ASCII.quote { inQuotes = false }
            } else if c == ASCII.quote {
                inQuotes = true
            } else if c == ASCII.lessThan {
                return b.firstIndex(of: ASCII.greaterThan, in: i..<range.upperBound).map { $0 + 1 }
            }
            i += 1
        }
        // addr-spec without angle brackets: parameters start at the first ';'.
        return b.firstIndex(of: ASCII.semicolon, in: range) ?? range.upperBound
    }
}

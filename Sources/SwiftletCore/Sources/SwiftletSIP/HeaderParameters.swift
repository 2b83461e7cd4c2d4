/// A `;name[=value]` parameter of a header value or URI, by offsets into the message.
public struct HeaderParameter: Sendable, Equatable {
    /// The whole parameter including its leading `;` (and the spaces around `=`).
    public let range: Range<Int>
    public let name: Range<Int>
    /// The value as written (quotes included for a quoted-string), or nil for a flag.
    public let value: Range<Int>?
}

/// Scanning helpers for the structure shared by many header values: comma-separated
/// values, `;`-separated parameters, quoted strings.
public enum HeaderScanner {
    /// The first comma at the top level of `range` (outside quotes and `<...>`), if any:
    /// where a multi-value header field's value ends.
    public static func nextTopLevelComma(_ b: [UInt8], _ range: Range<Int>) -> Int? {
        var i = range.lowerBound
        var inQuotes = false
        var inAngle = false
        while i < range.upperBound {
            let c = b[i]
            if inQuotes {
                if c == ASCII.backslash {
                    i += 2
                    continue
                }
                if c == ASCII.quote { inQuotes = false }
            } else if c == ASCII.quote {
                inQuotes = true
            } else if c == ASCII.lessThan {
                inAngle = true
            } else if c == ASCII.greaterThan {
                inAngle = false
            } else if c == ASCII.comma, !inAngle {
                return i
            }
            i += 1
        }
        return nil
    }

    /// Splits a header value at top-level commas (not inside quotes or `<...>`); each part is
    /// trimmed. An empty value gives no parts.
    public static func splitValues(_ b: [UInt8], _ range: Range<Int>) -> [Range<Int>] {
        var parts: [Range<Int>] = []
        var start = range.lowerBound
        while let comma = nextTopLevelComma(b, start..<range.upperBound) {
            let part = b.trimmed(start..<comma)
            if !part.isEmpty { parts.append(part) }
            start = comma + 1
        }
        let last = b.trimmed(start..<range.upperBound)
        if !last.isEmpty { parts.append(last) }
        return parts
    }

    /// The end (exclusive) of a quoted string starting at `start` (which holds `"`), or nil
    /// when it is not terminated within `end`.
    public static func endOfQuotedString(_ b: [UInt8], from start: Int, to end: Int) -> Int? {
        var i = start + 1
        while i < end {
            if b[i] == ASCII.backslash {
                i += 2
                continue
            }
            if b[i] == ASCII.quote { return i + 1 }
            i += 1
        }
        return nil
    }

    /// Visits `;name[=value]` parameters from `start` to `end` without collecting them;
    /// `visit` returns false to stop early. Throws `failure` at the first malformed parameter.
    public static func scanParameters(
        _ b: [UInt8], from start: Int, to end: Int, failure: SIPParseError.Reason,
        _ visit: (HeaderParameter) -> Bool = { _ in true }
    ) throws(SIPParseError) {
        precondition(start >= 0 && end <= b.count)
        try b.withUnsafeBufferPointer { (p) throws(SIPParseError) in
            try scanParameters(p, from: start, to: end, failure: failure, visit)
        }
    }

    /// `scanParameters` on the message's bytes.
    static func scanParameters(
        _ b: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, failure: SIPParseError.Reason,
        _ visit: (HeaderParameter) -> Bool
    ) throws(SIPParseError) {
        var i = start
        @inline(__always) func skipSpace() { while i < end, ASCII.isLWS(b[i]) { i += 1 } }
        skipSpace()
        while i < end {
            guard b[i] == ASCII.semicolon else { throw SIPParseError(failure, at: i) }
            let paramStart = i
            i += 1
            skipSpace()
            let nameStart = i
            while i < end, SIPMessage.isTokenChar(b[i]) { i += 1 }
            let name = nameStart..<i
            guard !name.isEmpty else { throw SIPParseError(failure, at: i) }
            skipSpace()
            var value: Range<Int>? = nil
            if i < end, b[i] == ASCII.equals {
                i += 1
                skipSpace()
                if i < end, b[i] == ASCII.quote {
                    // As endOfQuotedString.
                    var q = i + 1
                    var close: Int? = nil
                    while q < end {
                        if b[q] == ASCII.backslash {
                            q += 2
                            continue
                        }
                        if b[q] == ASCII.quote {
                            close = q + 1
                            break
                        }
                        q += 1
                    }
                    guard let close else { throw SIPParseError(failure, at: i) }
                    value = i..<close
                    i = close
                } else {
                    let s = i
                    while i < end {
                        let c = b[i]
                        if ASCII.isIn(c, ASCII.parameterValueEnd) { break }
                        i += 1
                    }
                    value = s..<i
                }
                skipSpace()
            }
            if !visit(
                HeaderParameter(range: paramStart..<(value?.upperBound ?? name.upperBound), name: name, value: value))
            {
                return
            }
        }
    }

    /// The first parameter named `name` (lower-case literal) between `start` and `end`, found
    /// without allocating; nil when absent or malformed.
    public static func findParameter(_ b: [UInt8], from start: Int, to end: Int, _ name: StaticString)
        -> HeaderParameter?
    {
        var found: HeaderParameter? = nil
        try? scanParameters(b, from: start, to: end, failure: .badHeader) { p in
            if b.equalsLowercased(p.name, name) {
                found = p
                return false
            }
            return true
        }
        return found
    }

    /// Parses `;name[=value]` parameters from `start` to `end`. Throws `failure` at the first
    /// malformed parameter. Values end at `;`, `,`, whitespace, or `stop` characters.
    public static func parameters(
        _ b: [UInt8], from start: Int, to end: Int, failure: SIPParseError.Reason
    ) throws(SIPParseError) -> [HeaderParameter] {
        var result: [HeaderParameter] = []
        try scanParameters(b, from: start, to: end, failure: failure) { p in
            result.append(p)
            return true
        }
        return result
    }

    /// The value of the parameter `name` (lower-case literal) among `params`, if present;
    /// `.some(nil)` for a flag parameter.
    public static func find(_ b: [UInt8], _ params: [HeaderParameter], _ name: StaticString) -> HeaderParameter? {
        params.first { b.equalsLowercased($0.name, name) }
    }

    /// A comma-separated list of tokens (Supported, Require, Allow, ...): each trimmed token.
    public static func tokens(_ b: [UInt8], _ range: Range<Int>) -> [Range<Int>] {
        splitValues(b, range)
    }

    /// The text of a quoted string without its quotes and with `\x` escapes resolved.
    public static func unquote(_ b: [UInt8], _ range: Range<Int>) -> String {
        guard range.count >= 2, b[range.lowerBound] == ASCII.quote, b[range.upperBound - 1] == ASCII.quote else {
            return b.string(range)
        }
        var out: [UInt8] = []
        var i = range.lowerBound + 1
        while i < range.upperBound - 1 {
            if b[i] == ASCII.backslash, i + 1 < range.upperBound - 1 {
                out.append(b[i + 1])
                i += 2
                continue
            }
            out.append(b[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

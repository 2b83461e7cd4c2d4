#if canImport(Glibc)
    import Glibc
#endif

/// Small byte-level helpers shared by the parsers. All work on `[UInt8]` and index ranges,
/// so parsing never copies the message.
enum ASCII {
    @inline(__always) static var cr: UInt8 { 13 }
    @inline(__always) static var lf: UInt8 { 10 }
    @inline(__always) static var space: UInt8 { 32 }
    @inline(__always) static var tab: UInt8 { 9 }
    @inline(__always) static var colon: UInt8 { 58 }
    @inline(__always) static var semicolon: UInt8 { 59 }
    @inline(__always) static var comma: UInt8 { 44 }
    @inline(__always) static var equals: UInt8 { 61 }
    @inline(__always) static var quote: UInt8 { 34 }
    @inline(__always) static var backslash: UInt8 { 92 }
    @inline(__always) static var lessThan: UInt8 { 60 }
    @inline(__always) static var greaterThan: UInt8 { 62 }
    @inline(__always) static var slash: UInt8 { 47 }
    @inline(__always) static var openBracket: UInt8 { 91 }
    @inline(__always) static var closeBracket: UInt8 { 93 }

    @inline(__always) static func isWhitespace(_ b: UInt8) -> Bool { b == space || b == tab }
    /// Space, tab, CR or LF (linear white space inside a folded header value).
    @inline(__always) static func isLWS(_ b: UInt8) -> Bool { b == space || b == tab || b == cr || b == lf }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b >= 65 && b <= 90) ? b | 0x20 : b }

    /// Whether `b` (below 64) is in `set`, given as bit `b` of the word: one test for a
    /// set of separators instead of one compare each.
    @inline(__always) static func isIn(_ b: UInt8, _ set: UInt64) -> Bool { b < 64 && (set &>> UInt64(b)) & 1 != 0 }
    /// `;`, `,`, space, tab, CR, LF: where an unquoted parameter value ends.
    @inline(__always) static var parameterValueEnd: UInt64 { 1 << 59 | 1 << 44 | 1 << 32 | 1 << 9 | 1 << 13 | 1 << 10 }
    /// `:` and `parameterValueEnd`: where a Via sent-by host ends.
    @inline(__always) static var viaHostEnd: UInt64 { parameterValueEnd | 1 << 58 }
}

extension Array where Element == UInt8 {
    /// The range with leading and trailing spaces/tabs (and line breaks) removed.
    func trimmed(_ range: Range<Int>) -> Range<Int> {
        var lo = range.lowerBound
        var hi = range.upperBound
        while lo < hi, ASCII.isWhitespace(self[lo]) || self[lo] == ASCII.cr || self[lo] == ASCII.lf { lo += 1 }
        while hi > lo, ASCII.isWhitespace(self[hi - 1]) || self[hi - 1] == ASCII.cr || self[hi - 1] == ASCII.lf {
            hi -= 1
        }
        return lo..<hi
    }

    /// Case-insensitive comparison of a range with an ASCII literal given in lower case.
    @inline(__always)
    func equalsLowercased(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard range.count == n, range.lowerBound >= 0, range.upperBound <= count else { return false }
        let lit = literal.utf8Start
        return withUnsafeBufferPointer { p in
            let base = p.baseAddress! + range.lowerBound
            for k in 0..<n where ASCII.lower(base[k]) != lit[k] { return false }
            return true
        }
    }

    /// First index of `byte` in `range`, if any (memchr: vectorised by the C library).
    @inline(__always)
    func firstIndex(of byte: UInt8, in range: Range<Int>) -> Int? {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        guard !range.isEmpty else { return nil }
        return withUnsafeBufferPointer { p in
            guard let found = memchr(p.baseAddress! + range.lowerBound, Int32(byte), range.count) else { return nil }
            return p.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Decimal value of the digits in `range`, or nil if it is empty, not all digits, or too large.
    func decimalValue(_ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 10 else { return nil }
        var value = 0
        for i in range {
            let b = self[i]
            guard ASCII.isDigit(b) else { return nil }
            value = value * 10 + Int(b - 48)
        }
        return value
    }

    /// The bytes of `range` decoded as a String (invalid UTF-8 is repaired).
    func string(_ range: Range<Int>) -> String {
        String(decoding: self[range], as: UTF8.self)
    }
}

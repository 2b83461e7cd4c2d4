/// Small byte-level helpers shared by the parsers. All work on `[UInt8]` and index ranges,
/// so parsing never copies the message.
enum ASCII {
    static let cr: UInt8 = 13
    static let lf: UInt8 = 10
    static let space: UInt8 = 32
    static let tab: UInt8 = 9
    static let colon: UInt8 = 58
    static let semicolon: UInt8 = 59
    static let comma: UInt8 = 44
    static let equals: UInt8 = 61
    static let quote: UInt8 = 34
    static let backslash: UInt8 = 92
    static let lessThan: UInt8 = 60
    static let greaterThan: UInt8 = 62
    static let slash: UInt8 = 47
    static let openBracket: UInt8 = 91
    static let closeBracket: UInt8 = 93

    @inline(__always) static func isWhitespace(_ b: UInt8) -> Bool { b == space || b == tab }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b >= 65 && b <= 90) ? b | 0x20 : b }
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
    func equalsLowercased(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        return literal.withUTF8Buffer { lit in
            var i = range.lowerBound
            for c in lit {
                if ASCII.lower(self[i]) != c { return false }
                i += 1
            }
            return true
        }
    }

    /// First index of `byte` in `range`, if any.
    func firstIndex(of byte: UInt8, in range: Range<Int>) -> Int? {
        var i = range.lowerBound
        while i < range.upperBound {
            if self[i] == byte { return i }
            i += 1
        }
        return nil
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

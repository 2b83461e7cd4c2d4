import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

extension TransactionKey {
    /// `parse(branch:)` on the bytes of a received branch value: the id and branch index of
    /// `z9hG4bK<label>.<id>.<n>`, or nil. No intermediate strings: this runs for every reply.
    static func parse(_ b: [UInt8], _ range: Range<Int>) -> (id: String, index: Int)? {
        parseRange(b, range).map { (String(decoding: b[$0.id], as: UTF8.self), $0.index) }
    }

    /// `parse(_:_:)` with the id as a range of `b`.
    static func parseRange(_ b: [UInt8], _ range: Range<Int>) -> (id: Range<Int>, index: Int)? {
        // z9hG4bK, compared without an array (this runs for every reply).
        let cookie: StaticString = "z9hG4bK"
        let cookieCount = cookie.utf8CodeUnitCount
        guard range.count >= cookieCount, range.lowerBound >= 0, range.upperBound <= b.count else { return nil }
        // The dots, found with memchr (no loop over each byte here).
        let dots = b.withUnsafeBufferPointer { u -> (first: Int, second: Int)? in
            let p = u.baseAddress!
            guard memcmp(p + range.lowerBound, cookie.utf8Start, cookieCount) == 0 else { return nil }
            /// The offset of the first dot at or after `from`, or -1.
            @inline(__always) func dot(from: Int) -> Int {
                guard from < range.upperBound,
                    let hit = memchr(p + from, Int32(UInt8(ascii: ".")), range.upperBound - from)
                else { return -1 }
                return UnsafeRawPointer(p).distance(to: UnsafeRawPointer(hit))
            }
            let first = dot(from: range.lowerBound + cookieCount)
            guard first >= 0 else { return nil }
            let second = dot(from: first + 1)
            guard second >= 0, dot(from: second + 1) < 0 else { return nil }  // two dots, not more
            return (first, second)
        }
        guard let dots, dots.second >= 0, let n = decimal(b, (dots.second + 1)..<range.upperBound), n >= 0 else {
            return nil
        }
        return ((dots.first + 1)..<dots.second, n)
    }

    /// The number in `range` as `Int(_:)` reads it (an optional sign, then decimal digits), or nil.
    private static func decimal(_ b: [UInt8], _ range: Range<Int>) -> Int? {
        var i = range.lowerBound
        var negative = false
        if i < range.upperBound, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            negative = b[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < range.upperBound else { return nil }
        var value = 0
        while i < range.upperBound {
            let d = Int(b[i]) - 48
            guard d >= 0, d <= 9 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
            guard !o1, !o2 else { return nil }
            value = s
            i += 1
        }
        return value
    }
}

extension TransactionKey {
    /// This process's secret for transaction ids (random at start).
    private static let idSeed: (UInt64, UInt64) = {
        var g = SystemRandomNumberGenerator()
        return (g.next(), g.next())
    }()

    /// The id of transaction number `n` (its label's value): 32 hex digits, different for
    /// every transaction of the process (a bijection of `n`) and from one run to the next (a
    /// reply to a request of an earlier run matches nothing). Made without hashing the key:
    /// it is the `<id>` of every branch `z9hG4bK<label>.<id>.<n>`.
    static func id(_ n: UInt64) -> String {
        String(unsafeUninitializedCapacity: idLength) { out in
            writeID(n, to: out.baseAddress!)
            return idLength
        }
    }

    /// SplitMix64's finaliser (a bijection on 64 bits).
    @inline(__always)
    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// The length of `id(_:)`.
    static let idLength = 32

    /// Writes `id(n)` (`idLength` bytes) at `out`.
    static func writeID(_ n: UInt64, to out: UnsafeMutablePointer<UInt8>) {
        var a = mix(n &+ idSeed.0)
        // `number(ofID:)` inverts this half.
        var b = mix(n ^ idSeed.1)
        let hex: StaticString = "0123456789abcdef"  // the digits by value
        let digits = hex.utf8Start
        for i in stride(from: 15, through: 0, by: -1) {
            out[i] = digits[Int(truncatingIfNeeded: a & 0xf)]
            out[16 + i] = digits[Int(truncatingIfNeeded: b & 0xf)]
            a >>= 4
            b >>= 4
        }
    }

    /// True when `bytes`, an id whose first half `number(ofID:)` read as `n`, are `id(n)`:
    /// the first half is then `n`'s by construction (a bijection), so only the second half's
    /// digits are compared, each with `n`'s (no string made or kept).
    static func isID(_ bytes: UnsafeBufferPointer<UInt8>, ofNumberFromFirstHalf n: UInt64) -> Bool {
        guard bytes.count == idLength else { return false }
        var b = mix(n ^ idSeed.1)
        let hex: StaticString = "0123456789abcdef"  // the digits by value
        let digits = hex.utf8Start
        for i in stride(from: idLength - 1, through: idLength / 2, by: -1) {
            guard bytes[i] == digits[Int(truncatingIfNeeded: b & 0xf)] else { return false }
            b >>= 4
        }
        return true
    }

    /// The branch of transaction `tx`'s branch `index` (`branch(label:id:index:)`) handed to
    /// `body` as its UTF-8 bytes: a numbered transaction's, its id written straight into it,
    /// on the stack (a numbered transaction keeps no id string, and a string of this length
    /// is allocated and its bytes validated for every branch sent).
    static func withBranch<R>(of tx: Transaction, index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R)
        throws -> R
    {
        guard tx.hasNumberedID else {
            var text = branch(label: tx.label, id: tx.id, index: index)
            return try text.withUTF8 { try body($0) }
        }
        var label = tx.label
        return try label.withUTF8 { l in
            let count = branchLength(label: l.count, index: index)
            return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { out in
                let n = writeBranch(of: tx, label: l, index: index, to: out.baseAddress!)
                return try body(UnsafeBufferPointer(rebasing: out[..<n]))
            }
        }
    }

    /// The length of a numbered transaction's branch with a label of `label` bytes.
    private static func branchLength(label: Int, index: Int) -> Int {
        var digits = 1
        var v = index.magnitude / 10
        while v > 0 {
            digits += 1
            v /= 10
        }
        let cookie: StaticString = "z9hG4bK"
        return cookie.utf8CodeUnitCount + label + 1 + idLength + 1 + (index < 0 ? 1 : 0) + digits
    }

    /// Writes a numbered transaction's branch (of `branchLength` bytes) at `p`; its length.
    private static func writeBranch(
        of tx: Transaction, label l: UnsafeBufferPointer<UInt8>, index: Int, to p: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var digits = 1
        var v = index.magnitude / 10
        while v > 0 {
            digits += 1
            v /= 10
        }
        let cookie: StaticString = "z9hG4bK"
        p.initialize(from: cookie.utf8Start, count: cookie.utf8CodeUnitCount)
        var n = cookie.utf8CodeUnitCount
        if let base = l.baseAddress { (p + n).initialize(from: base, count: l.count) }
        n += l.count
        p[n] = UInt8(ascii: ".")
        n += 1
        writeID(tx.number, to: p + n)
        n += idLength
        p[n] = UInt8(ascii: ".")
        n += 1
        if index < 0 {
            p[n] = UInt8(ascii: "-")
            n += 1
        }
        var rest = index.magnitude
        for k in stride(from: digits - 1, through: 0, by: -1) {
            p[n + k] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
        return n + digits
    }

    /// The transaction number whose `id(_:)` an id could be: the inverse of the bijection on
    /// its first 16 hex digits (the caller compares the whole id). Nil unless 32 lowercase
    /// hex digits.
    static func number(ofID id: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard id.count == 32 else { return nil }
        var a: UInt64 = 0
        for i in 0..<16 {
            let c = id[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x61...0x66: d = c - 0x57
            default: return nil
            }
            a = a << 4 | UInt64(d)
        }
        // SplitMix64's finaliser undone step by step: each xor-shift and each multiplication
        // by an odd constant (by its inverse modulo 2^64).
        var z = a ^ (a >> 31) ^ (a >> 62)
        z = z &* 0x3196_42b2_d24d_8ec3
        z = z ^ (z >> 27) ^ (z >> 54)
        z = z &* 0x96de_1b17_3f11_9089
        z = z ^ (z >> 30) ^ (z >> 60)
        return z &- idSeed.0
    }
}

import SwiftletSDK

/// Reading and editing the `Max-Forwards` header the way Kamailio's maxfwd does: the value is
/// parsed as an unsigned short (at most 5 digits, an empty value is 0), the decremented value
/// is written over the old digits in place (right-aligned, padded with spaces on the left, so
/// the message keeps its length), and a missing header is added before the first header.
enum MaxForwards {
    enum State: Equatable {
        case missing
        case invalid
        /// The value in effect and the range of the value in the received message.
        case value(Int, Range<Int>)
    }

    /// The value in effect: the one already written by an earlier decrement (the edit on the
    /// value's range), else the received one.
    static func current(_ ctx: MessageContext) -> State {
        guard let field = ctx.message.firstHeader(.maxForwards) else { return .missing }
        let range = field.valueRange
        let value: Int?
        if let bytes = ctx.edits.lastEdit(of: range) {
            value = parseUnsignedShort(bytes.lazy.filter { $0 != 32 })
        } else {
            value = parseUnsignedShort(ctx.message.buffer[range])
        }
        guard let v = value else { return .invalid }
        return .value(v, range)
    }

    /// Kamailio's `str2s`: digits only, at most 5, wrapping at 65536; an empty value is 0.
    static func parseUnsignedShort<C: Collection<UInt8>>(_ b: C) -> Int? {
        var v = 0
        var n = 0
        for c in b {
            n += 1
            guard n <= 5, (48...57).contains(c) else { return nil }
            v = v * 10 + Int(c - 48)
        }
        return v & 0xFFFF
    }

    /// Writes `value` over the digits in `range` (Kamailio's `decrement_maxfwd`).
    static func store(_ ctx: MessageContext, value: Int, in range: Range<Int>) {
        guard !range.isEmpty else {
            ctx.edits.replace(range, with: [])
            return
        }
        // The digits, lowest first, as many as fit (at least one).
        var digits: (UInt64, UInt64) = (0, 0)
        let n = withUnsafeMutableBytes(of: &digits) { d -> Int in
            var x = value
            var n = 0
            repeat {
                d[n] = UInt8(48 + x % 10)
                x /= 10
                n += 1
            } while x != 0 && n < range.count && n < d.count
            return n
        }
        // Spaces, then the digits highest first. An empty array reserved and appended to:
        // `[UInt8](repeating:count:)` allocates through the standard library's unspecialised
        // generic path (a metadata lookup per call).
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        for _ in 0..<(range.count - n) { out.append(32) }
        withUnsafeBytes(of: &digits) { d in
            for k in stride(from: n - 1, through: 0, by: -1) { out.append(d[k]) }
        }
        ctx.edits.replace(range, with: out)
    }

    /// Adds `Max-Forwards: value` before the first header (Kamailio's `add_maxfwd_header`).
    static func add(_ ctx: MessageContext, value: Int) {
        ctx.edits.prependHeader("Max-Forwards: \(value)")
    }
}

extension MessageEditor {
    /// The bytes of the last edit of exactly `range`, if any. Mutating only so that
    /// `ctx.edits.lastEdit(of:)` reads the context's editor in place: a read through the
    /// getter copies the whole editor (its message and lumps) for every request.
    mutating func lastEdit(of range: Range<Int>) -> [UInt8]? {
        lumps.last(where: { $0.range == range })?.bytes
    }
}

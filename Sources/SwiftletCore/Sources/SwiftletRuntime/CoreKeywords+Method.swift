import SwiftletConfig
import SwiftletSDK
import SwiftletSIP

extension CoreKeywords {
    /// `method == "OPTIONS"` (and `!=`, `eq`, `ne`) with a constant ASCII text: the
    /// message's method token (a reply's CSeq method) compared in place with the text, as
    /// `equalIgnoringCase` compares them, without making a `String` of the method for every
    /// message. Nil when `other` is not such a constant. `result` turns equality into the
    /// comparison's value.
    static func methodComparison(with other: Expression, negate: Bool, result: @escaping (Bool) -> PVValue)
        -> ((MessageContext) -> PVValue)?
    {
        let text: String
        switch other {
        case .string(let s, _): text = s
        case .name(let n, _) where protocolNumbers[n.lowercased()] == nil: text = n
        default: return nil
        }
        let constant = Array(text.utf8)
        guard constant.allSatisfy({ $0 < 0x80 }) else { return nil }
        return { ctx in
            let message = ctx.message
            let range: Range<Int>
            if let r = message.requestMethodRange {
                range = r
            } else {
                guard let cseq = try? message.cseq() else { return .int(negate ? 1 : 0) }
                range = cseq.methodRange
            }
            let equal: Bool? = message.buffer.withUnsafeBufferPointer { b in
                let x = UnsafeBufferPointer(rebasing: b[range])
                // Any non-ASCII byte: nil, and the general comparison decides.
                guard x.allSatisfy({ $0 < 0x80 }) else { return nil }
                guard x.count == constant.count else { return false }
                for i in 0..<x.count where x[i] != constant[i] {
                    let p = x[i] | 0x20
                    guard p == constant[i] | 0x20, p >= 0x61, p <= 0x7A else { return false }
                }
                return true
            }
            if let equal { return result(equal) }
            guard let s = method(ctx) else { return .int(negate ? 1 : 0) }
            return result(equalIgnoringCase(s, text))
        }
    }
}

import SwiftletSDK

/// `$msg(attr)` (parts of the received message: `len buf body body_len hdrs hdrs_len hdrc
/// fline fpart lpart`) and `$expires(min|max)` (over the Contact `expires` parameters and the
/// Expires header), as Kamailio's pv_core.c.
extension CorePseudoVariables {
    static var messagePartClasses: [PseudoVariableClass] {
        [
            PseudoVariableClass("msg", make: messagePart),
            PseudoVariableClass("expires", make: expires),
        ]
    }

    enum MessagePart: String {
        case len, buf, body, body_len, hdrs, hdrs_len, hdrc, fline, fpart, lpart
    }

    /// The text of `range`, whitespace and line breaks trimmed at both ends (Kamailio's `trim`).
    static func trimmed(_ b: [UInt8], _ range: Range<Int>) -> String {
        var lo = range.lowerBound
        var hi = range.upperBound
        func space(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }
        while lo < hi, space(b[lo]) { lo += 1 }
        while hi > lo, space(b[hi - 1]) { hi -= 1 }
        return String(decoding: b[lo..<hi], as: UTF8.self)
    }

    static func messagePart(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        let name = pv.inner?.trimmingCharacters() ?? ""
        guard let part = MessagePart(rawValue: name), pv.index == nil else {
            throw FixupError("unknown PV msg name \(name)")
        }
        return PseudoVariable(text: pv.text) { ctx in
            let m = ctx.message
            let b = m.buffer
            let firstLineEnd = m.headers.first?.lineRange.lowerBound ?? m.headersEnd
            switch part {
            case .len: return .int(b.count)
            case .buf: return .string(String(decoding: b, as: UTF8.self))
            case .body: return .string(String(decoding: b[m.bodyRange], as: UTF8.self))
            case .body_len: return .int(m.bodyRange.count)
            case .hdrs: return .string(trimmed(b, firstLineEnd..<m.headersEnd))
            case .hdrs_len: return .int(trimmed(b, firstLineEnd..<m.headersEnd).utf8.count)
            case .hdrc: return .int(m.headers.count)
            case .fline: return .string(trimmed(b, 0..<firstLineEnd))
            case .fpart: return .string(trimmed(b, 0..<m.headersEnd))
            case .lpart:
                guard let first = m.headers.first else { return .null }
                return .string(String(decoding: b[first.lineRange.lowerBound...], as: UTF8.self))
            }
        }
    }

    /// `$expires(min)` / `$expires(max)`: over every Contact (its `expires` parameter, else the
    /// Expires header value); without Contacts, the Expires header; null when there is none.
    static func expires(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        let name = pv.inner?.trimmingCharacters() ?? ""
        guard name == "min" || name == "max", pv.index == nil else {
            throw FixupError("unknown PV expires key: \(name)")
        }
        return PseudoVariable(text: pv.text) { ctx in
            let m = ctx.message
            let b = m.buffer
            var header: Int? = nil
            if let h = m.firstHeader(.expires) {
                guard let v = UInt32(trimmed(b, h.valueRange)) else { return .null }
                header = Int(v)
            }
            var values: [Int] = []
            for h in m.headers(.contact) {
                for r in HeaderScanner.splitValues(b, h.valueRange) {
                    guard let na = try? NameAddr.parse(b, r) else { continue }
                    if let p = na.parameter(b, "expires"), let v = p.value, !v.isEmpty {
                        guard let n = UInt32(String(decoding: b[v], as: UTF8.self)) else { return .null }
                        values.append(Int(n))
                    } else if let header {
                        values.append(header)
                    }
                }
            }
            if values.isEmpty, let header { values = [header] }
            guard let result = name == "min" ? values.min() : values.max() else { return .null }
            return .int(result)
        }
    }
}

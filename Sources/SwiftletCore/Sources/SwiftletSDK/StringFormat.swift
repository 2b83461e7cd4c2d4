/// A string with embedded pseudo-variables (`"$rm from $si"`), parsed once at start-up and
/// rendered per message (Kamailio's `pv_elem_t` list).
public struct StringFormat {
    public enum Part {
        case literal(String)
        case variable(PseudoVariable)
    }

    public let parts: [Part]

    /// True when the format contains no pseudo-variable.
    public var isConstant: Bool {
        parts.allSatisfy { if case .literal = $0 { true } else { false } }
    }

    public init(constant: String) { parts = [.literal(constant)] }

    /// Parses `text`, resolving each `$...` reference through the registry.
    /// A `$` that does not start a name or `(` stays a literal character.
    public init(parsing text: String, registry: PseudoVariableRegistry = .shared) throws(FixupError) {
        let chars = Array(text.utf8)
        var parts: [Part] = []
        var literal: [UInt8] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard c == UInt8(ascii: "$"), i + 1 < chars.count,
                PseudoVariableName.isNameByte(chars[i + 1]) || chars[i + 1] == UInt8(ascii: "(")
            else {
                literal.append(c)
                i += 1
                continue
            }
            guard let end = PseudoVariableName.end(in: chars, from: i) else {
                throw FixupError("unbalanced '(' in \"\(text)\"")
            }
            if !literal.isEmpty {
                parts.append(.literal(String(decoding: literal, as: UTF8.self)))
                literal.removeAll()
            }
            parts.append(.variable(try registry.compile(String(decoding: chars[i..<end], as: UTF8.self))))
            i = end
        }
        if !literal.isEmpty || parts.isEmpty { parts.append(.literal(String(decoding: literal, as: UTF8.self))) }
        self.parts = parts
    }

    /// The text for this message; null values print as `<null>` and a PV whose evaluation
    /// failed (a transformation that does not apply) prints nothing, as in xlog.
    public func render(_ context: MessageContext) -> String {
        if parts.count == 1 {
            // One part (a constant, or one PV such as a realm of "$td"): no concatenation.
            switch parts[0] {
            case .literal(let s): return s
            case .variable(let pv): return pv.value(context)?.printed ?? ""
            }
        }
        var out = ""
        for part in parts {
            switch part {
            case .literal(let s): out += s
            case .variable(let pv): out += pv.value(context)?.printed ?? ""
            }
        }
        return out
    }
}

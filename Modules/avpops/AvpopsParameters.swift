import SwiftletSDK

/// An `$avp(name)` parameter of an avpops function: a fixed name (`$avp(s:x)`, `$avp(i:5)`,
/// `$avp(x)`) or one computed per message (`$avp($var(n))`), and its index (`is_avp_set`).
struct AVPReference {
    let text: String
    private let fixedKey: String?
    private let dynamicName: PseudoVariable?
    let index: PVIndex

    /// Nil when `text` is not an `$avp(...)` reference.
    init?(_ text: String) throws(FixupError) {
        let t = text.trimmingCharacters()
        guard let pv = try? PseudoVariableName(parsing: t), pv.className == "avp", let inner = pv.inner,
            !inner.trimmingCharacters().isEmpty
        else { return nil }
        self.text = t
        index = try PVIndex(pv.index, registry: .shared)
        let name = inner.trimmingCharacters()
        if name.hasPrefix("$") {
            fixedKey = nil
            dynamicName = try PseudoVariableRegistry.shared.compile(name)
        } else {
            fixedKey = AVPList.key(name)
            dynamicName = nil
        }
    }

    /// The name's key for this message (an integer value names `#n`); nil when a computed
    /// name is null or empty.
    func key(_ ctx: MessageContext) -> String? {
        if let fixedKey { return fixedKey }
        switch dynamicName?.get(ctx) ?? .null {
        case .int(let i): return "#\(i)"
        case .string(let s) where !s.isEmpty: return s
        default: return nil
        }
    }

    /// True when the name is given in the script (not computed).
    var isFixed: Bool { fixedKey != nil }
}

/// avpops' matching flags (`a`, `*`, `i`, `s`, followed by script flags): which AVPs a
/// function without an AVP name works on.
struct AVPMatchingFlags {
    let type: AVPNameType?
    let scriptFlags: UInt32

    init(_ text: String) throws(FixupError) {
        guard let first = text.first else { throw FixupError("bad param - expected : $avp(name), *, s or i value") }
        switch first {
        case "s", "S": type = .string
        case "i", "I": type = .integer
        case "*", "a", "A": type = nil
        default: throw FixupError("bad param - expected : *, s or i AVP flag")
        }
        let digits = text.dropFirst()
        guard digits.isEmpty || UInt32(digits) != nil else { throw FixupError("bad avp flags") }
        scriptFlags = UInt32(digits) ?? 0
    }
}

/// Splits `text` at its first `/`: the part before and the flags after (nil when none).
func splitFlags(_ text: String) -> (String, String?) {
    guard let slash = text.firstIndex(of: "/") else { return (text, nil) }
    return (String(text[..<slash]), String(text[text.index(after: slash)...]))
}

/// A value an operation compares with or applies: a pseudo-variable, or `i:int`, `s:string`
/// or a plain string (Kamailio's `parse_intstr_value`; `i:0x1f` is hexadecimal).
enum AVPOperand {
    case variable(PseudoVariable, avp: AVPReference?)
    case constant(PVValue)

    init(_ text: String) throws(FixupError) {
        if text.hasPrefix("$") {
            if let avp = try AVPReference(text) {
                self = .variable(try PseudoVariableRegistry.shared.compile(avp.text), avp: avp)
            } else {
                do {
                    self = .variable(try PseudoVariableRegistry.shared.compile(text), avp: nil)
                } catch {
                    throw FixupError("unable to get pseudo-variable \(text): \(error.message)")
                }
            }
            return
        }
        guard !text.isEmpty else { throw FixupError("empty value") }
        var t = Substring(text)
        var integer = false
        if t.count > 1, t.dropFirst().first == ":" {
            switch t.first {
            case "i", "I": integer = true
            case "s", "S": integer = false
            default: throw FixupError("unknown value type <\(t.first!)>")
            }
            t = t.dropFirst(2)
            guard !t.isEmpty else { throw FixupError("value missing after type") }
        }
        guard integer else {
            self = .constant(.string(String(t)))
            return
        }
        if t.count > 2, t.hasPrefix("0x") || t.hasPrefix("0X"), let v = UInt32(t.dropFirst(2), radix: 16) {
            self = .constant(.int(Int(Int32(bitPattern: v))))
        } else if let v = Int32(t) {
            self = .constant(.int(Int(v)))
        } else {
            throw FixupError("value is not int as type says <\(t)>")
        }
    }

    /// The values for this message: every value of an AVP (newest first), else one.
    func values(_ ctx: MessageContext) -> [PVValue] {
        switch self {
        case .constant(let v): return [v]
        case .variable(let pv, let avp?):
            guard let key = avp.key(ctx) else { return [] }
            _ = pv
            return AVPList.values(ctx, key)
        case .variable(let pv, nil): return [pv.get(ctx)]
        }
    }

    var isAVP: Bool {
        if case .variable(_, _?) = self { return true }
        return false
    }
}

/// Kamailio's `str2int`: an unsigned decimal number, nil otherwise.
func unsignedNumber(_ s: String) -> Int? {
    guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let v = UInt32(s) else { return nil }
    return Int(Int32(bitPattern: v))
}

extension ScriptArgument {
    /// The argument's text as written: a quoted string or a bare pseudo-variable (avpops
    /// parses its parameters itself, as Kamailio's fixups do).
    func rawText() throws(FixupError) -> String {
        switch value {
        case .pseudoVariable(let p): return p
        default: return try constantString()
        }
    }
}

/// A pseudo-variable value: Kamailio's PV values are null, integer or string.
public enum PVValue: Equatable, Sendable {
    case null
    case int(Int)
    case string(String)

    /// The value as printed by xlog (`<null>` for null).
    public var printed: String {
        switch self {
        case .null: "<null>"
        case .int(let i): String(i)
        case .string(let s): s
        }
    }
}

/// A compiled pseudo-variable: its getter (and setter where it is writable), resolved once
/// at start-up from the text in the script.
public struct PseudoVariable {
    /// The text as written, e.g. `$hdr(From)`.
    public let text: String
    public let get: (MessageContext) -> PVValue
    public let set: ((MessageContext, PVValue) -> Bool)?

    public init(
        text: String, get: @escaping (MessageContext) -> PVValue, set: ((MessageContext, PVValue) -> Bool)? = nil
    ) {
        self.text = text
        self.get = get
        self.set = set
    }
}

/// The parts of a pseudo-variable reference: `$class(inner)[index]`.
public struct PseudoVariableName: Equatable {
    public let text: String
    public let className: String
    public let inner: String?
    public let index: String?

    /// Splits `$name`, `$name(inner)`, `$name(inner)[index]` and `$(name(inner)[index])`.
    public init(parsing text: String) throws(FixupError) {
        self.text = text
        guard text.hasPrefix("$"), text.count > 1 else { throw FixupError("invalid pseudo-variable '\(text)'") }
        var body = Substring(text.dropFirst())
        if body.hasPrefix("(") {
            guard body.hasSuffix(")") else { throw FixupError("invalid pseudo-variable '\(text)'") }
            body = body.dropFirst().dropLast()
            if body.contains("{") {
                throw FixupError("transformations are not supported yet in '\(text)'")
            }
        }
        var nameEnd = body.startIndex
        while nameEnd < body.endIndex, body[nameEnd].isLetter || body[nameEnd].isNumber || body[nameEnd] == "_" {
            nameEnd = body.index(after: nameEnd)
        }
        className = String(body[..<nameEnd])
        guard !className.isEmpty else { throw FixupError("invalid pseudo-variable '\(text)'") }
        var rest = body[nameEnd...]
        var inner: String? = nil
        var index: String? = nil
        if rest.hasPrefix("(") {
            guard let close = rest.lastIndex(of: ")") else { throw FixupError("missing ')' in '\(text)'") }
            inner = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
        }
        if rest.hasPrefix("[") {
            guard rest.hasSuffix("]") else { throw FixupError("missing ']' in '\(text)'") }
            index = String(rest.dropFirst().dropLast())
            rest = ""
        }
        guard rest.isEmpty else { throw FixupError("unexpected '\(rest)' in pseudo-variable '\(text)'") }
        self.inner = inner
        self.index = index
    }
}

/// A family of pseudo-variables sharing a class name (`$hdr(...)`, `$rm`), provided by the
/// core or a module (Kamailio's `pv_export_t`).
public struct PseudoVariableClass {
    public let name: String
    /// Builds the getter/setter for one reference; runs at start-up (Kamailio's parse_name).
    public let make: (PseudoVariableName) throws(FixupError) -> PseudoVariable

    public init(_ name: String, make: @escaping (PseudoVariableName) throws(FixupError) -> PseudoVariable) {
        self.name = name
        self.make = make
    }

    /// A read-only PV without inner name, e.g. `$rm`.
    public static func readOnly(_ name: String, _ get: @escaping (MessageContext) -> PVValue) -> PseudoVariableClass {
        PseudoVariableClass(name) { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard pv.inner == nil, pv.index == nil else { throw FixupError("$\(name) takes no name or index") }
            return PseudoVariable(text: pv.text, get: get)
        }
    }
}

/// All pseudo-variable classes known to the process. Filled at start-up (the core's
/// classes, then each module's in load order) and only read afterwards, so it needs no lock.
public final class PseudoVariableRegistry: @unchecked Sendable {
    public static let shared = PseudoVariableRegistry()
    private var classes: [String: PseudoVariableClass] = [:]

    /// Adds a class; a second class of the same name is refused.
    public func register(_ pvClass: PseudoVariableClass) throws(FixupError) {
        guard classes[pvClass.name] == nil else {
            throw FixupError("pseudo-variable class $\(pvClass.name) is already registered")
        }
        classes[pvClass.name] = pvClass
    }

    /// True when a class of that name exists.
    public func contains(_ name: String) -> Bool { classes[name] != nil }

    /// Resolves `text` (e.g. `$hdr(From)`) into its compiled getter/setter.
    public func compile(_ text: String) throws(FixupError) -> PseudoVariable {
        let name = try PseudoVariableName(parsing: text)
        guard let pvClass = classes[name.className] else {
            throw FixupError("unknown pseudo-variable '\(text)'")
        }
        return try pvClass.make(name)
    }
}

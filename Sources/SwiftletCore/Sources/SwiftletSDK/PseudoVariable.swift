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
    /// The value for a message (null when it cannot be evaluated).
    public let get: (MessageContext) -> PVValue
    /// Assigns a value (`$var(x) = ...`); `.null` is Kamailio's `$null` (each class decides
    /// what that means: 0, delete, reset). Returns false when the value was refused.
    public let set: ((MessageContext, PVValue) -> Bool)?
    /// For PVs whose evaluation can fail (a transformation that does not apply): the value, or
    /// nil on failure. Kamailio's xlog prints nothing for a failed PV but `<null>` for null.
    /// Nil when evaluation never fails (then `get` is the value).
    public let evaluate: ((MessageContext) -> PVValue?)?

    public init(
        text: String, get: @escaping (MessageContext) -> PVValue, set: ((MessageContext, PVValue) -> Bool)? = nil
    ) {
        self.text = text
        self.get = get
        self.set = set
        self.evaluate = nil
    }

    /// A PV whose evaluation may fail (nil), e.g. one with transformations.
    public init(
        text: String, evaluate: @escaping (MessageContext) -> PVValue?,
        set: ((MessageContext, PVValue) -> Bool)? = nil
    ) {
        self.text = text
        self.get = { evaluate($0) ?? .null }
        self.set = set
        self.evaluate = evaluate
    }

    /// The value for a message, nil when evaluating it failed.
    @inline(__always)
    public func value(_ context: MessageContext) -> PVValue? {
        if let evaluate { return evaluate(context) }
        return get(context)
    }
}

/// The parts of a pseudo-variable reference: `$class(inner)[index]` or the full form
/// `$(class(inner)[index]{tr1}{tr2})` with transformations.
public struct PseudoVariableName: Equatable {
    public let text: String
    public let className: String
    public let inner: String?
    public let index: String?
    /// The transformations in order, each as written between its braces (`s.substr,1,2`).
    public let transformations: [String]
    /// The registry compiling this reference: PVs inside it (an index such as
    /// `[$var(i)]`) are resolved there.
    public internal(set) var registry: PseudoVariableRegistry = .shared

    public static func == (a: PseudoVariableName, b: PseudoVariableName) -> Bool { a.text == b.text }

    /// Splits `$name`, `$name(inner)`, `$name(inner)[index]` and
    /// `$(name(inner)[index]{tr}...)`.
    public init(parsing text: String) throws(FixupError) {
        self.text = text
        let b = Array(text.utf8)
        guard b.count > 1, b[0] == UInt8(ascii: "$") else { throw FixupError("invalid pseudo-variable '\(text)'") }
        var i = 1
        var end = b.count
        let full = b[1] == UInt8(ascii: "(")
        if full {
            guard b.last == UInt8(ascii: ")"), b.count > 3 else {
                throw FixupError("invalid pseudo-variable '\(text)'")
            }
            i = 2
            end = b.count - 1
        }
        let nameStart = i
        while i < end, PseudoVariableName.isNameByte(b[i]) { i += 1 }
        className = String(decoding: b[nameStart..<i], as: UTF8.self)
        guard !className.isEmpty else { throw FixupError("invalid pseudo-variable '\(text)'") }
        var inner: String? = nil
        var index: String? = nil
        var transformations: [String] = []
        if i < end, b[i] == UInt8(ascii: "(") {
            guard let close = PseudoVariableName.matching(b, i, end) else {
                throw FixupError("missing ')' in '\(text)'")
            }
            inner = String(decoding: b[(i + 1)..<close], as: UTF8.self)
            i = close + 1
        }
        if i < end, b[i] == UInt8(ascii: "[") {
            guard let close = PseudoVariableName.matching(b, i, end) else {
                throw FixupError("missing ']' in '\(text)'")
            }
            index = String(decoding: b[(i + 1)..<close], as: UTF8.self)
            guard !index!.isEmpty else { throw FixupError("empty index in '\(text)'") }
            i = close + 1
        }
        while full, i < end {
            while i < end, b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "\t") { i += 1 }
            guard i < end, b[i] == UInt8(ascii: "{") else { break }
            guard let close = PseudoVariableName.matching(b, i, end) else {
                throw FixupError("missing '}' in '\(text)'")
            }
            transformations.append(String(decoding: b[(i + 1)..<close], as: UTF8.self))
            i = close + 1
        }
        guard i == end else {
            throw FixupError(
                "unexpected '\(String(decoding: b[i..<end], as: UTF8.self))' in pseudo-variable '\(text)'")
        }
        self.inner = inner
        self.index = index
        self.transformations = transformations
    }

    /// Kamailio's `is_pv_valid_char` (a dot included: `$ruri.user`, `$err.class`).
    static func isNameByte(_ c: UInt8) -> Bool {
        (c | 0x20) >= 97 && (c | 0x20) <= 122 || (c >= 48 && c <= 57) || c == UInt8(ascii: "_")
            || c == UInt8(ascii: ".")
    }

    /// The index of the bracket closing the one at `open` (same kind, nesting counted).
    static func matching(_ b: [UInt8], _ open: Int, _ end: Int) -> Int? {
        let o = b[open]
        let c: UInt8 =
            o == UInt8(ascii: "(") ? UInt8(ascii: ")") : o == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: "}")
        var depth = 0
        var i = open
        while i < end {
            if b[i] == o { depth += 1 }
            if b[i] == c {
                depth -= 1
                if depth == 0 { return i }
            }
            i += 1
        }
        return nil
    }

    /// Where the pseudo-variable starting with the `$` at `start` ends (exclusive), the way
    /// formats and transformation parameters delimit one: `$name`, `$name(...)`,
    /// `$name(...)[...]`, `$(...)`. Nil when `start` does not begin a pseudo-variable.
    public static func end(in b: [UInt8], from start: Int) -> Int? {
        guard start + 1 < b.count, b[start] == UInt8(ascii: "$") else { return nil }
        var i = start + 1
        if b[i] == UInt8(ascii: "(") { return matching(b, i, b.count).map { $0 + 1 } }
        guard isNameByte(b[i]) else { return nil }
        while i < b.count, isNameByte(b[i]) { i += 1 }
        if i < b.count, b[i] == UInt8(ascii: "(") {
            guard let close = matching(b, i, b.count) else { return nil }
            i = close + 1
        }
        if i < b.count, b[i] == UInt8(ascii: "["), let close = matching(b, i, b.count) { i = close + 1 }
        return i
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

    /// A writable PV without inner name, e.g. `$ru`: `set` gets `.null` for `$null`.
    public static func writable(
        _ name: String, _ get: @escaping (MessageContext) -> PVValue,
        set: @escaping (MessageContext, PVValue) -> Bool
    ) -> PseudoVariableClass {
        PseudoVariableClass(name) { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard pv.inner == nil, pv.index == nil else { throw FixupError("$\(name) takes no name or index") }
            return PseudoVariable(text: pv.text, get: get, set: set)
        }
    }
}

/// All pseudo-variable classes known to the process. Filled at start-up (the core's
/// classes, then each module's in load order) and only read afterwards, so it needs no lock.
public final class PseudoVariableRegistry: @unchecked Sendable {
    public static let shared = PseudoVariableRegistry()
    private var classes: [String: PseudoVariableClass] = [:]
    /// Names of the classes registered by modules (removed when a configuration is reloaded
    /// in the same process, e.g. by tests).
    private var moduleClasses: Set<String> = []
    /// The transformation classes (`{s.len}`, `{uri.user}`, ...).
    public let transformations: TransformationRegistry

    public init(transformations: TransformationRegistry = TransformationRegistry()) {
        self.transformations = transformations
    }

    /// Adds a class; a second class of the same name is refused. `module` names the module
    /// providing it (nil for the core).
    public func register(_ pvClass: PseudoVariableClass, module: String? = nil) throws(FixupError) {
        guard classes[pvClass.name] == nil else {
            throw FixupError("pseudo-variable class $\(pvClass.name) is already registered")
        }
        classes[pvClass.name] = pvClass
        if module != nil { moduleClasses.insert(pvClass.name) }
    }

    /// Forgets the classes modules registered (before modules are loaded again).
    public func removeModuleClasses() {
        for name in moduleClasses { classes[name] = nil }
        moduleClasses = []
    }

    /// True when a class of that name exists.
    public func contains(_ name: String) -> Bool { classes[name] != nil }

    /// Resolves `text` (e.g. `$hdr(From)` or `$(ru{uri.user}{s.tolower})`) into its compiled
    /// getter/setter; transformations are parsed here, once.
    public func compile(_ text: String) throws(FixupError) -> PseudoVariable {
        var name = try PseudoVariableName(parsing: text)
        name.registry = self
        guard let pvClass = classes[name.className] else {
            throw FixupError("unknown pseudo-variable '\(text)'")
        }
        let base = try pvClass.make(name)
        guard !name.transformations.isEmpty else { return base }
        let chain = try transformations.compile(name.transformations, in: text, registry: self)
        let get = base.get
        if chain.count == 1 {
            let f = chain[0]
            return PseudoVariable(text: text, evaluate: { ctx in f(ctx, get(ctx)) })
        }
        return PseudoVariable(
            text: text,
            evaluate: { ctx in
                var v = get(ctx)
                for f in chain {
                    guard let next = f(ctx, v) else { return nil }
                    v = next
                }
                return v
            })
    }
}

/// The index of a pseudo-variable (`$(hdr(Via)[1])`, `$(avp(x)[*])`, `$(avp(x)[$var(i)])`):
/// none, all, a number (negative counts from the end) or a PV giving the number.
public enum PVIndex {
    case none
    case all
    case int(Int)
    case variable(PseudoVariable)

    /// Parses the text between the brackets (nil: no index).
    public init(_ text: String?, registry: PseudoVariableRegistry = .shared) throws(FixupError) {
        guard let text = text?.trimmingCharacters() else {
            self = .none
            return
        }
        if text == "*" {
            self = .all
        } else if text.hasPrefix("$") {
            self = .variable(try registry.compile(text))
        } else if let i = Int(text) {
            self = .int(i)
        } else {
            throw FixupError("invalid index [\(text)]")
        }
    }

    public enum Resolved: Equatable {
        case all
        /// 0 first, negative from the end.
        case position(Int)
    }

    /// The index for a message (no index is position 0); nil when a PV index is not an integer.
    public func resolve(_ ctx: MessageContext) -> Resolved? {
        switch self {
        case .none: return .position(0)
        case .all: return .all
        case .int(let i): return .position(i)
        case .variable(let pv):
            switch pv.get(ctx) {
            case .int(let i): return .position(i)
            case .string(let s): return Int(s).map(Resolved.position)
            case .null: return nil
            }
        }
    }

    public var isAll: Bool { if case .all = self { true } else { false } }

    /// The element at a resolved position of `items` (negative from the end), nil outside.
    public static func element<T>(_ items: [T], _ position: Int) -> T? {
        let i = position < 0 ? items.count + position : position
        return i >= 0 && i < items.count ? items[i] : nil
    }
}

/// A compiled transformation (`{s.len}`, `{uri.user}`, ...): maps the value of a
/// pseudo-variable to a new value for a message, or nil when it does not apply (Kamailio's
/// `tr_eval_*` returning -1; xlog then prints nothing and expressions see null).
public typealias TransformationFunction = (MessageContext, PVValue) -> PVValue?

/// A parameter of a transformation as written: a constant or a pseudo-variable evaluated per
/// message (`{s.substr,$var(o),2}`).
public enum TransformationArgument {
    case int(Int)
    case string(String)
    case variable(PseudoVariable)

    /// The value as an integer. A pseudo-variable must hold an integer (Kamailio checks
    /// `PV_VAL_INT`); nil otherwise.
    public func intValue(_ ctx: MessageContext) -> Int? {
        switch self {
        case .int(let i): return i
        case .string(let s): return Int(s)
        case .variable(let pv):
            if case .int(let i) = pv.get(ctx) { return i }
            return nil
        }
    }

    /// The value as a string. A pseudo-variable must give a non-empty value; nil otherwise.
    public func stringValue(_ ctx: MessageContext) -> String? {
        switch self {
        case .int(let i): return String(i)
        case .string(let s): return s
        case .variable(let pv):
            switch pv.get(ctx) {
            case .null: return nil
            case .int(let i): return String(i)
            case .string(let s): return s.isEmpty ? nil : s
            }
        }
    }

    /// The constant value, if it is one.
    public var constant: PVValue? {
        switch self {
        case .int(let i): .int(i)
        case .string(let s): .string(s)
        case .variable: nil
        }
    }
}

/// The parameters of one transformation, read left to right by the class that compiles it
/// (Kamailio's `_tr_parse_nparam` / `_tr_parse_sparam`): numbers, strings up to the next
/// `,`, single characters, or pseudo-variables.
public final class TransformationParameters {
    /// The text after the transformation name's `,` (empty when there is none).
    public let bytes: [UInt8]
    /// True when the name was followed by `,`.
    public let present: Bool
    /// Where the next parameter starts.
    public var position = 0
    /// How many parameters were started.
    private var read = 0
    /// The transformation as written, `{s.substr,1,2}`, for error messages.
    public let written: String
    let registry: PseudoVariableRegistry

    init(_ text: String?, written: String, registry: PseudoVariableRegistry) {
        bytes = text.map { Array($0.utf8) } ?? []
        present = text != nil
        self.written = written
        self.registry = registry
    }

    /// An error naming the transformation.
    public func error(_ message: String) -> FixupError { FixupError("\(message) in transformation '\(written)'") }

    /// True when no parameter text is left.
    public var atEnd: Bool { position >= bytes.count }

    private func skipSpace() {
        while position < bytes.count, bytes[position] == 32 || bytes[position] == 9 || bytes[position] == 10 {
            position += 1
        }
    }

    /// Requires that another parameter follows: consumes the `,` before it.
    public func next(_ what: String) throws(FixupError) {
        guard hasNext() else { throw error("missing \(what)") }
    }

    /// True (and consumes the `,`) when an optional parameter follows.
    public func hasNext() -> Bool {
        skipSpace()
        if read == 0 {
            guard present else { return false }
        } else {
            guard position < bytes.count, bytes[position] == UInt8(ascii: ",") else { return false }
            position += 1
        }
        read += 1
        return true
    }

    /// Requires that nothing is left.
    public func finish() throws(FixupError) {
        skipSpace()
        if read == 0 && present { throw error("unexpected parameters") }
        guard position >= bytes.count else {
            throw error("unexpected '\(String(decoding: bytes[position...], as: UTF8.self))'")
        }
    }

    private func variable() throws(FixupError) -> TransformationArgument? {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "$") else { return nil }
        guard let end = PseudoVariableName.end(in: bytes, from: position) else {
            throw error("invalid pseudo-variable parameter")
        }
        let text = String(decoding: bytes[position..<end], as: UTF8.self)
        position = end
        do {
            return .variable(try registry.compile(text))
        } catch {
            throw FixupError("\(error.message) in transformation '\(written)'")
        }
    }

    /// An integer (`-3`, `+2`) or a pseudo-variable.
    public func number() throws(FixupError) -> TransformationArgument {
        skipSpace()
        if let v = try variable() { return v }
        var sign = 1
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+") {
            if bytes[position] == UInt8(ascii: "-") { sign = -1 }
            position += 1
            skipSpace()
        }
        let start = position
        var n = 0
        while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57 {
            n = n &* 10 &+ Int(bytes[position] - 48)
            position += 1
        }
        guard position > start else { throw error("expected a number or a pseudo-variable") }
        return .int(sign * n)
    }

    /// A string up to the next `,` (spaces inside are kept) or a pseudo-variable. With
    /// `includingComma` the `,` that ends it belongs to the string (Kamailio's
    /// `_tr_parse_sparamx(..., 1)`: `{s.count,,}` counts commas).
    public func string(includingComma: Bool = false) throws(FixupError) -> TransformationArgument {
        skipSpace()
        if let v = try variable() { return v }
        let start = position
        while position < bytes.count, bytes[position] != UInt8(ascii: ","), bytes[position] != 9, bytes[position] != 10
        {
            position += 1
        }
        if includingComma, position < bytes.count, bytes[position] == UInt8(ascii: ",") { position += 1 }
        return .string(String(decoding: bytes[start..<position], as: UTF8.self))
    }

    /// One character, or one of the escapes `\\`, `\n`, `\r`, `\t` (`{s.select,0,\t}`).
    public func character() throws(FixupError) -> UInt8 {
        guard position < bytes.count else { throw error("missing separator character") }
        let c = bytes[position]
        position += 1
        guard c == UInt8(ascii: "\\") else { return c }
        guard position < bytes.count else { throw error("unexpected escape") }
        let e = bytes[position]
        position += 1
        switch e {
        case UInt8(ascii: "\\"): return e
        case UInt8(ascii: "n"): return 10
        case UInt8(ascii: "r"): return 13
        case UInt8(ascii: "t"): return 9
        default: throw error("unexpected escape '\\\(String(decoding: [e], as: UTF8.self))'")
        }
    }

    /// Everything left, as written.
    public func rest() -> String {
        defer { position = bytes.count }
        return String(decoding: bytes[min(position, bytes.count)...], as: UTF8.self)
    }
}

/// The transformation classes (Kamailio's `tr_export_t`): `s`, `uri`, `param`, `nameaddr`,
/// `tobody`, `line`, `re`, `sql`, and whatever modules add.
public final class TransformationRegistry: @unchecked Sendable {
    /// Compiles one transformation of a class: gets the name after the class (`substr` in
    /// `{s.substr,1,2}`, lower-cased) and its parameters; returns nil for an unknown name.
    public typealias Compiler = (String, TransformationParameters) throws -> TransformationFunction?

    private var classes: [String: Compiler] = [:]

    /// A registry with the built-in classes.
    public init() {
        classes["s"] = { n, p in try StringTransformations.compile(n, p) }
        classes["uri"] = { n, p in try URITransformations.compile(n, p) }
        classes["param"] = { n, p in try ParamTransformations.compile(n, p) }
        classes["nameaddr"] = { n, p in try NameAddrTransformations.compile(n, p) }
        classes["tobody"] = { n, p in try ToBodyTransformations.compile(n, p) }
        classes["line"] = { n, p in try LineTransformations.compile(n, p) }
        classes["re"] = { n, p in try RegexTransformations.compile(n, p) }
        classes["sql"] = { n, p in try SQLTransformations.compile(n, p) }
    }

    /// Adds (or replaces) a transformation class.
    public func register(_ className: String, _ compiler: @escaping Compiler) { classes[className] = compiler }

    /// True when the class exists.
    public func contains(_ className: String) -> Bool { classes[className] != nil }

    /// Compiles the transformations of `pvText`, each given as written between its braces.
    public func compile(_ specs: [String], in pvText: String, registry: PseudoVariableRegistry) throws(FixupError)
        -> [TransformationFunction]
    {
        var result: [TransformationFunction] = []
        for spec in specs {
            let written = "{\(spec)}"
            let b = Array(spec.utf8)
            let comma = b.firstIndex(of: UInt8(ascii: ",")) ?? b.count
            let head = String(decoding: b[..<comma], as: UTF8.self).trimmingCharacters()
            guard let dot = head.firstIndex(of: "."), dot != head.startIndex else {
                throw FixupError("invalid transformation '\(written)' in '\(pvText)'")
            }
            let className = String(head[..<dot]).lowercased()
            let name = String(head[head.index(after: dot)...]).trimmingCharacters().lowercased()
            guard let compiler = classes[className] else {
                throw FixupError("unknown transformation class '\(className)' in '\(written)' of '\(pvText)'")
            }
            let params = TransformationParameters(
                comma < b.count ? String(decoding: b[(comma + 1)...], as: UTF8.self) : nil, written: written,
                registry: registry)
            let f: TransformationFunction?
            do {
                f = try compiler(name, params)
            } catch let error as FixupError {
                throw FixupError("\(error.message) of '\(pvText)'")
            } catch {
                throw FixupError("\(error) in '\(written)' of '\(pvText)'")
            }
            guard let f else { throw FixupError("unknown transformation '\(written)' in '\(pvText)'") }
            result.append(f)
        }
        return result
    }
}

extension PVValue {
    /// The bytes a string transformation works on: ints are printed, null has none.
    var transformationBytes: [UInt8]? {
        switch self {
        case .null: nil
        case .int(let i): Array(String(i).utf8)
        case .string(let s): Array(s.utf8)
        }
    }

    /// Kamailio's `PV_VAL_STR && len > 0` test of the URI, parameter and name-addr classes.
    var nonEmptyText: String? {
        switch self {
        case .null: nil
        case .int(let i): String(i)
        case .string(let s): s.isEmpty ? nil : s
        }
    }

    /// A string value from bytes.
    static func bytes<C: Collection>(_ b: C) -> PVValue where C.Element == UInt8 {
        .string(String(decoding: b, as: UTF8.self))
    }
}

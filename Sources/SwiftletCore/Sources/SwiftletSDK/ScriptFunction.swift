/// The compiled form of one function call in the script: runs it for a message and returns
/// Kamailio's convention: `> 0` true, `< 0` false, `0` stop the script (like `exit`).
public typealias ScriptAction = (MessageContext) -> Int

/// A function a module exports to the configuration script (Kamailio's `cmd_export_t`).
public struct ScriptFunction {
    /// The name used in the script.
    public let name: String
    /// How many parameters the function takes. Several entries may share a name with
    /// different counts (overloading, as Kamailio's `t_relay/0` and `t_relay/2`).
    public let parameterCounts: ClosedRange<Int>
    /// Where the function may be called; checked when the configuration is loaded.
    public let allowedRoutes: RouteTypes
    /// The fixup: runs once at start-up with the call's arguments, validates and pre-compiles
    /// them (PV names, formats, integers) and returns the action run per message.
    public let fixup: ([ScriptArgument]) throws(FixupError) -> ScriptAction

    public init(
        _ name: String, parameters: ClosedRange<Int>, routes: RouteTypes,
        fixup: @escaping ([ScriptArgument]) throws(FixupError) -> ScriptAction
    ) {
        self.name = name
        self.parameterCounts = parameters
        self.allowedRoutes = routes
        self.fixup = fixup
    }

    /// Convenience for an exact parameter count.
    public init(
        _ name: String, parameters: Int, routes: RouteTypes,
        fixup: @escaping ([ScriptArgument]) throws(FixupError) -> ScriptAction
    ) {
        self.init(name, parameters: parameters...parameters, routes: routes, fixup: fixup)
    }
}

/// A problem found by a fixup; the core reports it at the argument's position.
public struct FixupError: Error, CustomStringConvertible {
    public let message: String
    public let location: SourceLocation?
    public init(_ message: String, at location: SourceLocation? = nil) {
        self.message = message
        self.location = location
    }
    public var description: String { message }
}

/// One argument of a function call as written in the script.
public struct ScriptArgument {
    public enum Value: Equatable {
        case int(Int)
        case string(String)
        /// A bare pseudo-variable such as `$var(code)`.
        case pseudoVariable(String)
    }

    public let value: Value
    public let location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }

    /// The argument as a constant string (ints are printed); PVs are refused.
    public func constantString() throws(FixupError) -> String {
        switch value {
        case .int(let i): return String(i)
        case .string(let s): return s
        case .pseudoVariable(let p): throw FixupError("a constant is required here, not \(p)", at: location)
        }
    }

    /// The argument as an integer parameter: a literal, a numeric string, a PV, or a
    /// string holding PVs, evaluated per message (Kamailio's `fixup_igp`).
    public func intParameter() throws(FixupError) -> IntParameter {
        switch value {
        case .int(let i): return .constant(i)
        case .string(let s):
            if let i = Int(s.trimmingCharacters()) { return .constant(i) }
            let format = try stringFormat()
            guard !format.isConstant else {
                throw FixupError("expected an integer or a pseudo-variable, found \"\(s)\"", at: location)
            }
            return .dynamic(format)
        case .pseudoVariable: return .dynamic(try stringFormat())
        }
    }

    /// The argument as a string that may contain PVs (Kamailio's `fixup_spve`).
    public func stringFormat() throws(FixupError) -> StringFormat {
        switch value {
        case .int(let i): return StringFormat(constant: String(i))
        case .string(let s), .pseudoVariable(let s):
            do {
                return try StringFormat(parsing: s)
            } catch {
                throw FixupError(error.message, at: location)
            }
        }
    }
}

/// An integer function parameter: constant, or computed per message.
public enum IntParameter {
    case constant(Int)
    case dynamic(StringFormat)

    /// The value for this message, or nil when the PV is unset or not a number.
    public func value(_ context: MessageContext) -> Int? {
        switch self {
        case .constant(let i): return i
        case .dynamic(let f):
            if f.parts.count == 1, case .variable(let pv) = f.parts[0] {
                switch pv.get(context) {
                case .int(let i): return i
                case .string(let s): return Int(s.trimmingCharacters())
                case .null: return nil
                }
            }
            return Int(f.render(context).trimmingCharacters())
        }
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    public func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

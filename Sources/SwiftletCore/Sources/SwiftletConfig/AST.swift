/// The syntax tree of a configuration file. Every node carries its source location so that
/// later stages (module resolution, fixups, route checks) report `file:line:col`.
public struct ConfigFile: Sendable {
    public var globals: [GlobalParameter] = []
    public var modules: [ModuleLoad] = []
    public var moduleParameters: [ModuleParameterSetting] = []
    public var routes: [RouteBlock] = []
    /// `flags NAME[:n], ...` (also `bool`): named message flags.
    public var flags: [FlagDeclaration] = []
    /// `avpflags NAME, ...`: named AVP flags (`setavpflag($avp(x), "NAME")`).
    public var avpFlags: [FlagDeclaration] = []
    public init() {}
}

/// One name of a `flags` declaration: `flags FLT_ACC:1, FLT_NAT;` (position nil = the
/// first free flag).
public struct FlagDeclaration: Sendable, Equatable {
    public let name: String
    public let position: Int?
    public let location: SourceLocation
}

/// `name = value` at the top level.
public struct GlobalParameter: Sendable {
    public let name: String
    /// The value tokens (everything up to the end of the line or a `;`).
    public let value: [Token]
    public let location: SourceLocation

    /// The value as one integer (`yes`/`no`/`on`/`off`/`true`/`false` count as 1/0).
    public var intValue: Int? {
        guard value.count == 1 else {
            if value.count == 2, value[0].isPunctuation("-"), case .integer(let v) = value[1].kind { return -v }
            return nil
        }
        switch value[0].kind {
        case .integer(let v): return v
        case .identifier:
            switch value[0].text.lowercased() {
            case "yes", "true", "on", "enable": return 1
            case "no", "false", "off", "disable": return 0
            default: return nil
            }
        default: return nil
        }
    }

    /// The value as one string (a quoted string, an identifier or an address).
    public var stringValue: String? {
        guard value.count == 1 else { return nil }
        switch value[0].kind {
        case .string, .identifier, .ipv4: return value[0].text
        case .ipv6: return "[\(value[0].text)]"
        default: return nil
        }
    }
}

/// `loadmodule "name.so"`
public struct ModuleLoad: Sendable {
    public let path: String
    public let location: SourceLocation
    /// Index of its first token in the preprocessed token stream: orders it against other
    /// items even when they come from different (included) files.
    public let order: Int

    /// A module to load (the command line's `--loadmodule` makes them too).
    public init(path: String, location: SourceLocation, order: Int) {
        self.path = path
        self.location = location
        self.order = order
    }
}

/// `modparam("module", "param", value)`
public struct ModuleParameterSetting: Sendable {
    public enum Value: Sendable, Equatable {
        case int(Int)
        case string(String)
    }
    /// The module name pattern (an anchored, case-insensitive regular expression in Kamailio).
    public let module: String
    public let name: String
    public let value: Value
    public let location: SourceLocation
    public let valueLocation: SourceLocation
    /// Index of its first token in the preprocessed token stream (see `ModuleLoad.order`).
    public let order: Int

    /// A module parameter setting (the command line's `--modparam` makes them too).
    public init(
        module: String, name: String, value: Value, location: SourceLocation, valueLocation: SourceLocation, order: Int
    ) {
        self.module = module
        self.name = name
        self.value = value
        self.location = location
        self.valueLocation = valueLocation
        self.order = order
    }
}

/// The kind of a routing block.
public enum RouteKind: Sendable, Equatable {
    case request  // request_route / route
    case named(String)  // route[NAME]
    case failure(String)  // failure_route[NAME]
    case branch(String)  // branch_route[NAME]
    case onReply(String?)  // onreply_route[NAME] (nil/"0" = core reply route)
    case onSend  // onsend_route
    case event(String)  // event_route[group:name]
}

/// A routing block and its statements.
public struct RouteBlock: Sendable {
    public let kind: RouteKind
    public let body: [Statement]
    public let location: SourceLocation
}

/// A statement inside a routing block.
public indirect enum Statement: Sendable {
    case expression(Expression)
    case ifElse(condition: Expression, then: [Statement], otherwise: [Statement]?, location: SourceLocation)
    case exit(Expression?, location: SourceLocation)
    case drop(Expression?, location: SourceLocation)
    case `return`(Expression?, location: SourceLocation)
    case `break`(location: SourceLocation)
    case routeCall(name: String, location: SourceLocation)
    case assignment(target: Token, op: String, value: Expression, location: SourceLocation)
    case block([Statement])
    /// `switch (subject) { case C: ... default: ... }`; the cases in source order.
    case `switch`(subject: Expression, cases: [SwitchCase], location: SourceLocation)
    /// `while (condition) body`
    case `while`(condition: Expression, body: [Statement], location: SourceLocation)
}

/// One label of a `switch` and the statements after it (up to the next label).
public struct SwitchCase: Sendable {
    public enum Label: Sendable {
        /// `case C:` with a constant expression (integer or string).
        case value(Expression)
        /// `case /"re":` a POSIX extended regular expression (case-sensitive).
        case regex(Expression)
        /// `default:`
        case `default`
    }
    public let label: Label
    public let body: [Statement]
    /// Where `case`/`default` is written.
    public let location: SourceLocation
}

/// An expression.
public indirect enum Expression: Sendable {
    case integer(Int, location: SourceLocation)
    case string(String, location: SourceLocation)
    case pseudoVariable(String, location: SourceLocation)
    /// A core keyword such as `method`, `uri`, `src_ip`, or a bare name used as a value.
    case name(String, location: SourceLocation)
    case call(name: String, arguments: [Expression], location: SourceLocation)
    case unary(op: String, operand: Expression, location: SourceLocation)
    case binary(op: String, lhs: Expression, rhs: Expression, location: SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .integer(_, let l), .string(_, let l), .pseudoVariable(_, let l), .name(_, let l): return l
        case .call(_, _, let l), .unary(_, _, let l), .binary(_, _, _, let l): return l
        }
    }
}

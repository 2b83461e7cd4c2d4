/// A value in an RPC request or reply (what JSON-RPC can carry; Kamailio's `rpc_t` types).
public enum RPCValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([RPCValue])
    /// Members in order (Kamailio's `struct_add` keeps insertion order).
    case object([(String, RPCValue)])

    public static func == (a: RPCValue, b: RPCValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.double(let x), .double(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.map(\.0) == y.map(\.0) && x.map(\.1) == y.map(\.1)
        default: false
        }
    }

    /// The member `name` of an object.
    public subscript(name: String) -> RPCValue? {
        if case .object(let members) = self { return members.first { $0.0 == name }?.1 }
        return nil
    }
}

/// An RPC failure: a code and a message (JSON-RPC error object, Kamailio's `rpc->fault`).
public struct RPCError: Error, Equatable, Sendable {
    public let code: Int
    public let message: String
    public init(_ code: Int, _ message: String) {
        self.code = code
        self.message = message
    }
    public static func badParameters(_ what: String) -> RPCError { RPCError(400, what) }
    public static let methodNotFound = RPCError(-32601, "Method Not Found")
}

/// One RPC call: method name and positional parameters.
public struct RPCRequest: Sendable {
    public let method: String
    public let params: [RPCValue]
    public init(method: String, params: [RPCValue]) {
        self.method = method
        self.params = params
    }

    /// Parameter `index` as a string (numbers are printed), or an error naming it.
    public func string(_ index: Int) throws(RPCError) -> String {
        guard index < params.count else { throw .badParameters("missing parameter \(index + 1)") }
        switch params[index] {
        case .string(let s): return s
        case .int(let i): return String(i)
        default: throw .badParameters("parameter \(index + 1) must be a string")
        }
    }

    /// Parameter `index` as an integer (numeric strings are converted).
    public func int(_ index: Int) throws(RPCError) -> Int {
        guard index < params.count else { throw .badParameters("missing parameter \(index + 1)") }
        switch params[index] {
        case .int(let i): return i
        case .string(let s):
            guard let i = Int(s) else { throw .badParameters("parameter \(index + 1) must be an integer") }
            return i
        default: throw .badParameters("parameter \(index + 1) must be an integer")
        }
    }
}

/// An RPC command a module (or the core) exports, with Kamailio's dotted name (`tm.stats`).
public struct RPCCommand: Sendable {
    public let name: String
    /// One-line documentation (`system.methodHelp`).
    public let documentation: String
    public let handler: @Sendable (RPCRequest) throws(RPCError) -> RPCValue
    /// For a command that answers later (RPCDelayedReply.swift), what a transport that can
    /// wait runs instead of `handler`.
    public let delayedHandler: (@Sendable (RPCRequest, RPCDelayedReply) throws(RPCError) -> Void)?

    public init(
        _ name: String, _ documentation: String,
        delayedHandler: (@Sendable (RPCRequest, RPCDelayedReply) throws(RPCError) -> Void)? = nil,
        handler: @escaping @Sendable (RPCRequest) throws(RPCError) -> RPCValue
    ) {
        self.name = name
        self.documentation = documentation
        self.delayedHandler = delayedHandler
        self.handler = handler
    }
}

/// Every RPC command of a configuration: the core's and the modules' (one per
/// `CoreContext`, `core.rpcs`). Written while modules load (a duplicate name is a start-up
/// error, as in Kamailio), read-only afterwards, so transports may call it from any thread.
public final class RPCRegistry: @unchecked Sendable {
    private var commands: [String: RPCCommand] = [:]
    private var order: [String] = []

    public init() {}

    public func register(_ command: RPCCommand) throws(FixupError) {
        guard commands[command.name] == nil else {
            throw FixupError("RPC command '\(command.name)' is already registered")
        }
        commands[command.name] = command
        order.append(command.name)
    }

    /// The names in registration order.
    public var methodNames: [String] { order }

    public func command(_ name: String) -> RPCCommand? { commands[name] }

    /// Runs a request.
    public func call(_ request: RPCRequest) -> Result<RPCValue, RPCError> {
        guard let c = commands[request.method] else { return .failure(.methodNotFound) }
        do {
            return .success(try c.handler(request))
        } catch {
            return .failure(error)
        }
    }
}

/// An interface a module offers others, under the protocol type it conforms to.
public struct ProvidedAPI {
    /// The protocol's identity.
    public let key: ObjectIdentifier
    /// The protocol's name, for messages (`StatelessReplyAPI`).
    public let typeName: String
    public let object: AnyObject

    /// `object` offered as `type` (a protocol it conforms to).
    public init<API>(_ object: AnyObject, as type: API.Type) {
        precondition(object is API, "\(Swift.type(of: object)) does not conform to \(API.self)")
        key = ObjectIdentifier(type)
        typeName = String(describing: type)
        self.object = object
    }
}

/// Interfaces that modules offer each other (Kamailio's "bind" pattern: `load_tm`,
/// `bind_sl`, ...), by type: a module publishes an object under a protocol
/// (`exports.provide(self, as: StatelessReplyAPI.self)`), others look it up with that
/// protocol (`core.apis.lookup(StatelessReplyAPI.self)`) in their `mod_init`, whatever the
/// load order. Modules never link each other's shared objects. One registry per
/// `CoreContext`; written while modules load, read-only afterwards.
public final class ModuleAPIRegistry: @unchecked Sendable {
    private var apis: [ObjectIdentifier: (module: String, api: ProvidedAPI)] = [:]

    public init() {}

    /// Registers `api` for `module`; a second provider of the same protocol is refused.
    public func register(_ api: ProvidedAPI, module: String) throws(FixupError) {
        if let existing = apis[api.key] {
            throw FixupError("API \(api.typeName) is already provided by module '\(existing.module)'")
        }
        apis[api.key] = (module, api)
    }

    /// The object offered as `type`, if a loaded module offers one.
    public func lookup<API>(_ type: API.Type) -> API? { apis[ObjectIdentifier(type)]?.api.object as? API }

    /// The object registered under `key` (APIs keyed by something other than a protocol
    /// type, such as the database drivers by URL scheme).
    public func lookup(key: ObjectIdentifier) -> AnyObject? { apis[key]?.api.object }

    /// The module offering `type`, if any.
    public func provider<API>(of type: API.Type) -> String? { apis[ObjectIdentifier(type)]?.module }
}

/// The sl module's API (`bind_sl` in Kamailio): stateless replies for other modules.
public protocol StatelessReplyAPI: AnyObject {
    /// Sends a stateless reply to the request in `context`; returns 1 or -1 as `sl_send_reply`.
    func sendReply(_ context: MessageContext, code: Int, reason: String) -> Int
}

extension ModuleExports {
    /// Offers `object` to other modules as `type` (a protocol it conforms to).
    public func provide<API>(_ object: AnyObject, as type: API.Type) {
        apis.append(ProvidedAPI(object, as: type))
    }
}

extension ModuleInitContext {
    /// The API of type `type` that module `provider` offers, or an error naming both modules
    /// and the `loadmodule` line that is missing.
    public func requireAPI<API>(_ type: API.Type, by module: String, from provider: String) throws(FixupError)
        -> API
    {
        guard let api = core.apis.lookup(type) else {
            throw FixupError(
                "module '\(module)' needs the \(type) API of module '\(provider)': add loadmodule \"\(provider).so\"")
        }
        return api
    }
}

/// The tm module's API for other modules (`load_tm_api` in Kamailio), looked up with
/// `core.apis.lookup(TransactionAPI.self)`. Grows as tm does.
public protocol TransactionAPI: AnyObject {
    /// True when the request in `context` has a transaction (created by `t_relay()`,
    /// `t_newtran()` or `t_reply()` for this message, or the one a failure route runs for).
    func hasTransaction(_ context: MessageContext) -> Bool
    /// Replies statefully (`t_reply`); returns 1, -1, or 0 for a retransmission.
    func reply(_ context: MessageContext, code: Int, reason: String) -> Int
    /// Relays statefully (`t_relay()`); returns as `t_relay()`.
    func relay(_ context: MessageContext) -> Int
    /// The reply code the current onreply or failure route runs for (`$T_reply_code`).
    func replyCode(_ context: MessageContext) -> Int?
    /// The branch the current route runs for: the branch being created in a branch route,
    /// the reply's in an onreply route, the failed one in a failure route (`$T_branch_idx`).
    func branchIndex(_ context: MessageContext) -> Int?
    /// Suspends the request (`t_suspend`): its transaction is created if needed, so that
    /// retransmissions are absorbed while it waits. False when it cannot be.
    func suspend(_ context: MessageContext) -> Bool
    /// Continues a suspended request (`t_continue`) by running `route[route]` on it as a
    /// request route, from any thread; false when the transaction is gone or already
    /// answered, or the route is not defined.
    func resume(_ context: MessageContext, route: String) -> Bool
}

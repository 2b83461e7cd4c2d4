/// Named interfaces that modules offer each other (Kamailio's "bind" pattern: `load_tm`,
/// `bind_sl`, ...). A module lists its APIs in `ModuleExports.apis`; the core registers
/// them when the module is loaded, so any module can look them up in its `mod_init`,
/// whatever the load order. Modules never link each other's shared objects.
public final class ModuleAPIRegistry: @unchecked Sendable {
    /// The process-wide registry. Written while modules load, read-only afterwards.
    public static let shared = ModuleAPIRegistry()
    private var apis: [String: (module: String, api: AnyObject)] = [:]

    /// Registers `api` under `name` for `module`; a second registration of a name is refused.
    public func register(_ name: String, _ api: AnyObject, module: String) throws(FixupError) {
        if let existing = apis[name] {
            throw FixupError("API '\(name)' is already provided by module '\(existing.module)'")
        }
        apis[name] = (module, api)
    }

    /// The API registered under `name`, if it has the expected type.
    public func lookup<API>(_ name: String, as type: API.Type) -> API? { apis[name]?.api as? API }

    /// Forgets every API (tests that load configurations repeatedly in one process).
    public func removeAll() { apis.removeAll() }
}

/// The sl module's API (`bind_sl` in Kamailio): stateless replies for other modules.
public protocol StatelessReplyAPI: AnyObject {
    /// Sends a stateless reply to the request in `context`; returns 1 or -1 as `sl_send_reply`.
    func sendReply(_ context: MessageContext, code: Int, reason: String) -> Int
}

extension ModuleInitContext {
    /// The API `name` another module provides, or an error naming both modules and the
    /// `loadmodule` line that is missing.
    public func requireAPI<API>(_ name: String, as type: API.Type, by module: String, from provider: String)
        throws(FixupError)
        -> API
    {
        guard let api = ModuleAPIRegistry.shared.lookup(name, as: type) else {
            throw FixupError(
                "module '\(module)' needs the '\(name)' API of module '\(provider)': add loadmodule \"\(provider).so\"")
        }
        return api
    }
}

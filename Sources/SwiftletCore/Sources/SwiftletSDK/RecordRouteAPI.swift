/// The direction of an in-dialog request relative to the dialog's initial request (rr's
/// `is_direction()`).
public enum DialogDirection: Sendable {
    /// From the caller, as the initial request (the From tag is our Route's `ftag`).
    case downstream
    /// From the callee.
    case upstream
}

/// The rr module's API for other modules (Kamailio's `load_rr` / `struct rr_binds`), looked
/// up with `core.apis.lookup(RecordRouteAPI.self)`. Each function works as the script
/// function of the same name (return codes included) on the request in `context`.
public protocol RecordRouteAPI: AnyObject {
    /// rr's `append_fromtag` parameter (`struct rr_binds.append_fromtag`).
    var appendsFromTag: Bool { get }
    /// `record_route([params])`.
    func recordRoute(_ context: MessageContext, parameters: String?) -> Int
    /// `loose_route()`.
    func looseRoute(_ context: MessageContext) -> Int
    /// `add_rr_param(param)` (`param` starts with `;`).
    func addRecordRouteParameter(_ context: MessageContext, _ parameter: String) -> Int
    /// `check_route_param(re)`: 1 when our Route parameters match the extended,
    /// case-insensitive regular expression `pattern`; -1 otherwise or when it does not compile.
    func checkRouteParameter(_ context: MessageContext, pattern: String) -> Int
    /// `is_direction(dir)`: 1 when the request goes in `direction`, else -1.
    func isDirection(_ context: MessageContext, _ direction: DialogDirection) -> Int
    /// `get_route_param()`: the value of our Route parameter `name` ("" when it has none),
    /// nil when absent.
    func routeParameterValue(_ context: MessageContext, _ name: String) -> String?
    /// `register_rrcb()`: `callback` runs in `loose_route()` when this server's Route entry
    /// has parameters, with those parameters (no leading `;`), in the order of `priority`
    /// (lowest first). Only before workers run (mod_init).
    func registerLooseRouteCallback(priority: Int, _ callback: @escaping (MessageContext, String) -> Void)
}

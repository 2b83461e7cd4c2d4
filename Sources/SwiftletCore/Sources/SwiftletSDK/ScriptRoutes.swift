/// The configuration's routing blocks as a module sees them: tm runs `failure_route[NAME]`,
/// `branch_route[NAME]` and `onreply_route[NAME]` through this when it arms them
/// (`t_on_failure("NAME")`, ...), and checks at start-up that the named block exists.
public protocol ScriptRoutes: AnyObject {
    var failureRouteNames: Set<String> { get }
    var branchRouteNames: Set<String> { get }
    var onReplyRouteNames: Set<String> { get }
    /// Runs `failure_route[name]`; false when it is not defined or the script dropped.
    func runFailureRoute(_ name: String, _ ctx: MessageContext) -> Bool
    /// Runs `branch_route[name]`; false when it is not defined or the branch was dropped.
    func runBranchRoute(_ name: String, _ ctx: MessageContext) -> Bool
    /// Runs tm's `onreply_route[name]`; false when it is not defined or the reply was dropped.
    func runOnReplyRoute(_ name: String, _ ctx: MessageContext) -> Bool
    /// The `route[NAME]` blocks defined.
    var routeNames: Set<String> { get }
    /// Kamailio's index of `route[name]` in its table of routes (`route_lookup(&main_rt,
    /// name)`, `$dlg_ctx(timeout_route_id)`): the `route[NAME]` blocks numbered from 1 in the
    /// order the configuration defines them (0 is `request_route`); nil when not defined.
    func routeIndex(_ name: String) -> Int?
    /// Runs `route[name]` as a top route of type `routeType` (async and tm's suspend/continue
    /// resume a request in one); nil when it is not defined, false when it ran `drop`.
    func runRoute(_ name: String, _ ctx: MessageContext, as routeType: RouteTypes) -> Bool?
    /// The `event_route[NAME]` blocks defined (`group:event` names).
    var eventRouteNames: Set<String> { get }
    /// Runs `event_route[name]` as a route of type `routeType`: nil when the script does not
    /// define it, false when it ran `drop` (a module's event route may use `drop` to veto,
    /// as in Kamailio), true otherwise.
    func runEventRoute(_ name: String, _ ctx: MessageContext, as routeType: RouteTypes) -> Bool?
    /// Runs `onsend_route` (if any) before `bytes` go to `destination`; false cancels the send.
    func runOnSendRoute(_ ctx: MessageContext, destination: Destination, bytes: [UInt8]) -> Bool
}

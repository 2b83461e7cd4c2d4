import SwiftletSDK

/// How a statement finished.
enum Flow {
    case next, exit, drop, `return`, `break`
}

/// A compiled statement or block.
typealias CompiledStatement = (MessageContext) -> Flow

/// A compiled statement in a list. The closure is a struct's field so that it is kept as
/// it is: an array of closures stores each behind a reabstraction thunk (its result
/// returned indirectly), and every call then goes through the thunk.
struct CompiledStep {
    let run: CompiledStatement
}

/// A compiled routing block. A class so that `route(NAME)` calls can be compiled before
/// the body of NAME (and recursion works).
final class CompiledRoute {
    let name: String
    var body: CompiledStatement = { _ in .next }
    init(name: String) { self.name = name }
}

/// The compiled configuration script: the routing blocks ready to run on messages.
public final class CompiledScript: ScriptRoutes {
    var requestRoute: CompiledRoute?
    var replyRoute: CompiledRoute?
    var namedRoutes: [String: CompiledRoute] = [:]
    /// The index of each `route[NAME]` (from 1, in the order of definition).
    var namedRouteIndexes: [String: Int] = [:]
    /// `failure_route[NAME]` blocks (run by tm when it exists).
    var failureRoutes: [String: CompiledRoute] = [:]
    /// `branch_route[NAME]` blocks (run by tm when it exists).
    var branchRoutes: [String: CompiledRoute] = [:]
    /// `onreply_route[NAME]` blocks of tm (the core reply route is `replyRoute`).
    var onReplyRoutes: [String: CompiledRoute] = [:]
    /// `onsend_route`
    var onSendRoute: CompiledRoute?
    /// `event_route[group:name]` blocks, by name.
    var eventRoutes: [String: CompiledRoute] = [:]

    /// The names of the routing blocks of each kind, for callers that arm them (tm).
    public var failureRouteNames: Set<String> { Set(failureRoutes.keys) }
    public var branchRouteNames: Set<String> { Set(branchRoutes.keys) }
    public var onReplyRouteNames: Set<String> { Set(onReplyRoutes.keys) }
    public var eventRouteNames: Set<String> { Set(eventRoutes.keys) }
    public var routeNames: Set<String> { Set(namedRoutes.keys) }
    public func routeIndex(_ name: String) -> Int? { namedRouteIndexes[name] }
    public var hasOnSendRoute: Bool { onSendRoute != nil }

    /// Runs the request route on a request. Returns the final flow (`.drop` when dropped).
    @discardableResult
    public func runRequestRoute(_ ctx: MessageContext) -> Bool {
        // The modules' request-in hooks (pre-script callbacks), in load order.
        for filter in ctx.core.hooks.requestIn where !filter(ctx) { return false }
        guard let route = requestRoute else { return true }
        let kept = run(route, .request, ctx)
        requestRouteCompletion?.requestRouteFinished(ctx)
        return kept
    }

    /// The module told when a request route ends (tm), set once modules are loaded.
    var requestRouteCompletion: (any RequestRouteCompletion)?

    /// Runs the core reply route on a reply. Returns false when the script dropped it.
    @discardableResult
    public func runReplyRoute(_ ctx: MessageContext) -> Bool {
        guard let route = replyRoute else { return true }
        return run(route, .coreOnReply, ctx)
    }

    /// Runs `onsend_route` on a message about to be sent. Returns false when the script
    /// dropped it (the send is cancelled); true without an onsend_route.
    @discardableResult
    public func runOnSendRoute(_ ctx: MessageContext) -> Bool {
        guard let route = onSendRoute else { return true }
        return run(route, .onSend, ctx)
    }

    /// Runs `onsend_route` for a request about to go to `destination` as `bytes` (`$snd(...)`
    /// reads them while it runs).
    public func runOnSendRoute(_ ctx: MessageContext, destination: Destination, bytes: [UInt8]) -> Bool {
        let saved = ctx.sendInfo
        ctx.sendInfo = SendInfo(destination: destination, bytes: bytes)
        defer { ctx.sendInfo = saved }
        return runOnSendRoute(ctx)
    }

    /// Runs `failure_route[name]`; false when it is not defined or the script dropped.
    @discardableResult
    public func runFailureRoute(_ name: String, _ ctx: MessageContext) -> Bool {
        guard let route = failureRoutes[name] else { return false }
        return run(route, .failure, ctx)
    }

    /// Runs `branch_route[name]`; false when it is not defined or the branch was dropped.
    @discardableResult
    public func runBranchRoute(_ name: String, _ ctx: MessageContext) -> Bool {
        guard let route = branchRoutes[name] else { return false }
        return run(route, .branch, ctx)
    }

    /// Runs tm's `onreply_route[name]`; false when it is not defined or the reply was dropped.
    @discardableResult
    public func runOnReplyRoute(_ name: String, _ ctx: MessageContext) -> Bool {
        guard let route = onReplyRoutes[name] else { return false }
        return run(route, .tmOnReply, ctx)
    }

    /// Runs `event_route[name]` with the given route type (Kamailio runs most event routes
    /// as `REQUEST_ROUTE`). Returns nil when the event route is not defined, else false
    /// when the script dropped.
    @discardableResult
    public func runEventRoute(_ name: String, _ ctx: MessageContext, as routeType: RouteTypes) -> Bool? {
        guard let route = eventRoutes[name] else { return nil }
        return run(route, routeType, ctx)
    }

    /// Runs `route[name]` as a top route of type `routeType`; nil when it is not defined,
    /// false when it dropped.
    @discardableResult
    public func runRoute(_ name: String, _ ctx: MessageContext, as routeType: RouteTypes) -> Bool? {
        guard let route = namedRoutes[name] else { return nil }
        return run(route, routeType, ctx)
    }

    /// A context on Kamailio's faked message (`MessageContext.faked`).
    public static func fakedMessageContext(core: CoreContext = .current) -> MessageContext {
        MessageContext.faked(core: core)
    }

    /// Runs `event_route[core:worker-one-init]` (when defined) on the faked message, as
    /// Kamailio does in the first SIP worker after its `child_init`. Returns false when the
    /// route dropped (Kamailio then stops).
    public func runWorkerOneInit() -> Bool {
        guard eventRoutes["core:worker-one-init"] != nil else { return true }
        if runEventRoute("core:worker-one-init", CompiledScript.fakedMessageContext(), as: .request) == false {
            Log.error("core", "exit due to 'drop' in event route")
            return false
        }
        return true
    }

    private func run(_ route: CompiledRoute, _ type: RouteTypes, _ ctx: MessageContext) -> Bool {
        // Work handed off by the script (a request continued on another thread) starts
        // only when the script is done with the message.
        ScriptHandOff.run {
            let saved = ctx.routeType
            ctx.routeType = type
            ctx.exitRequested = false
            defer { ctx.routeType = saved }
            return route.body(ctx) != .drop
        }
    }
}

import SwiftletSDK

/// How a statement finished.
enum Flow {
    case next, exit, drop, `return`, `break`
}

/// A compiled statement or block.
typealias CompiledStatement = (MessageContext) -> Flow

/// A compiled routing block. A class so that `route(NAME)` calls can be compiled before
/// the body of NAME (and recursion works).
final class CompiledRoute {
    let name: String
    var body: CompiledStatement = { _ in .next }
    init(name: String) { self.name = name }
}

/// The compiled configuration script: the routing blocks ready to run on messages.
public final class CompiledScript {
    var requestRoute: CompiledRoute?
    var replyRoute: CompiledRoute?
    var namedRoutes: [String: CompiledRoute] = [:]
    /// Request filters of loaded modules (pre-script callbacks), in load order.
    var requestFilters: [(MessageContext) -> Bool] = []

    /// Runs the request route on a request. Returns the final flow (`.drop` when dropped).
    @discardableResult
    public func runRequestRoute(_ ctx: MessageContext) -> Bool {
        for filter in requestFilters where !filter(ctx) { return false }
        guard let route = requestRoute else { return true }
        ctx.routeType = .request
        return route.body(ctx) != .drop
    }

    /// Runs the core reply route on a reply. Returns false when the script dropped it.
    @discardableResult
    public func runReplyRoute(_ ctx: MessageContext) -> Bool {
        guard let route = replyRoute else { return true }
        ctx.routeType = .coreOnReply
        return route.body(ctx) != .drop
    }
}

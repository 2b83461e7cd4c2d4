import SwiftletSDK

/// `event_route[tm:local-request]` (Kamailio's `t_run_local_req`): runs for each request tm
/// originates (`t_uac_send()`, `tm.t_uac_start`, `tm.t_uac_wait`, other modules'
/// `TransactionUACAPI` such as uac's `uac_req_send()`) before it is sent, as Kamailio's
/// `LOCAL_ROUTE`: `$ru`, `$rm`, the headers and body are the request's, `$du` is its next hop,
/// `$T(...)` its transaction. What the route adds or removes (`append_hf`, `remove_hf`,
/// `$ru`, `force_send_socket()`) goes into the request; `drop` keeps it from being sent.
extension TransactionManager {
    static let localRequestRoute = "tm:local-request"

    /// Runs the route for a local transaction's request; false when it dropped the request.
    func runLocalRequestRoute(_ tx: Transaction) -> Bool {
        guard let routes = core.routes, routes.eventRouteNames.contains(Self.localRequestRoute) else { return true }
        let ctx = tx.ctx
        let nextHop = ctx.destinationURI
        let target = ctx.requestURI
        // Kamailio sets `$du` to the next hop (the Request-URI when there is no other).
        ctx.destinationURI = nextHop ?? target
        let state = TMThreadState.thread
        let saved = (state.current, state.branchIndex)
        (state.current, state.branchIndex) = (tx, nil)
        let kept = tx.locked { routes.runEventRoute(Self.localRequestRoute, ctx, as: .local) }
        (state.current, state.branchIndex) = saved
        // The destination was chosen before the route (a new `$du` there is not used); a new
        // Request-URI changes the request line only.
        ctx.destinationURI = nextHop ?? (ctx.requestURI != target ? target : nil)
        if kept == false {
            Log.debug("tm", "tm:local-request dropped msg. to \(nextHop ?? target ?? "")")
            return false
        }
        return true
    }
}

extension TransactionManager {
    /// The route for tm's ACK of a 2xx to its own INVITE (Kamailio runs it in
    /// `local_ack_rb` too): on the ACK as built, `$du` its first Route when there is one,
    /// else its Request-URI. Returns the ACK to send, with the route's changes, or nil when
    /// the route dropped it.
    func runLocalRequestRoute(ack bytes: [UInt8], _ tx: Transaction) -> [UInt8]? {
        guard let routes = core.routes, routes.eventRouteNames.contains(Self.localRequestRoute),
            let message = try? SIPMessage(parsing: bytes)
        else { return bytes }
        let ctx = MessageContext(message: message, receive: tx.ctx.receive, routeType: .local, core: core)
        ctx.destinationURI = Self.firstRoute(message) ?? message.requestURI
        let state = TMThreadState.thread
        let saved = (state.current, state.branchIndex)
        (state.current, state.branchIndex) = (tx, nil)
        let kept = routes.runEventRoute(Self.localRequestRoute, ctx, as: .local)
        (state.current, state.branchIndex) = saved
        if kept == false {
            Log.debug("tm", "tm:local-request dropped the ACK to \(message.requestURI ?? "")")
            return nil
        }
        var edits = ctx.edits
        if let uri = ctx.newRequestURI, uri != message.requestURI { edits.setRequestURI(uri) }
        return (try? edits.build()) ?? bytes
    }

    /// The URI of a request's first Route.
    static func firstRoute(_ m: SIPMessage) -> String? {
        guard let route = m.firstHeader(.route), let na = try? NameAddr.parse(m.buffer, route.valueRange) else {
            return nil
        }
        return m.buffer.tmText(na.uri)
    }
}

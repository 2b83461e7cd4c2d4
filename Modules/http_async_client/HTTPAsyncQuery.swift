import SwiftletSDK

/// `http_async_query(url, route_name)` (Kamailio's `async_send_query`).
extension HTTPAsyncClientModule {
    func fixupQuery(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let urlFormat = try args[0].stringFormat()
        let routeFormat = try args[1].stringFormat()
        return { ctx in
            let url = urlFormat.render(ctx)
            guard !url.isEmpty else {
                Log.error("http_async_client", "invalid data parameter")
                return -1
            }
            let route = routeFormat.render(ctx)
            guard !route.isEmpty else {
                Log.error("http_async_client", "invalid route name parameter")
                return -1
            }
            return self.sendQuery(ctx, url: url, route: route)
        }
    }

    /// Sends the query with this thread's `$http_req` parameters (then reset to the
    /// defaults). With a transaction and `$http_req(suspend)` not 0 the request is suspended
    /// and `route[route]` continues it when the query ended: 0 (the script stops). Otherwise
    /// `route[route]` runs on Kamailio's faked request and the script goes on: 1. -1 on errors.
    func sendQuery(_ ctx: MessageContext, url: String, route: String) -> Int {
        let pending = PendingQueryParameters.current(for: self, defaults: defaults)
        let parameters = pending.value
        pending.value = defaults
        let core = ctx.core
        guard let routes = core.routes, routes.routeNames.contains(route) else {
            Log.error("http_async_client", "unable to find route block [\(route)]")
            return -1
        }
        let id = HTTPQueryID.next()
        HTTPQueryID.setLast(id)
        let suspend = parameters.suspendTransaction && (tm?.hasTransaction(ctx) ?? false)
        if suspend {
            guard let tm, tm.suspend(ctx) else {
                Log.error("http_async_client", "failed to suspend request processing")
                return -1
            }
            let transfer = HTTPTransfer(url: url, id: id, parameters: parameters, settings: settings) { result in
                self.resume(ctx, route: route, routes: routes, result: result)
            }
            // The worker may answer before this script is done with the request.
            ScriptHandOff.afterScript {
                if !self.push(transfer) {
                    Log.error("http_async_client", "failed to relay query: \(url)")
                    self.resume(ctx, route: route, routes: routes, result: HTTPQueryResult(id: id, error: "no worker"))
                }
            }
            return 0
        }
        let transfer = HTTPTransfer(url: url, id: id, parameters: parameters, settings: settings) { result in
            let faked = MessageContext.faked(core: core)
            result.withCurrent { _ = routes.runRoute(route, faked, as: .request) }
        }
        guard push(transfer) else {
            Log.error("http_async_client", "failed to relay query: \(url)")
            return -1
        }
        return 1
    }

    /// Continues the suspended request in `route` with `result` current (`t_continue`).
    func resume(_ ctx: MessageContext, route: String, routes: ScriptRoutes, result: HTTPQueryResult) {
        guard let continuation else { return }
        let resumed = continuation.resume(ctx) { ctx in
            result.withCurrent { _ = routes.runRoute(route, ctx, as: .request) }
        }
        if !resumed {
            Log.error("http_async_client", "transaction not found (query \(result.id))")
        }
    }
}

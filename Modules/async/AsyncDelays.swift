import SwiftletSDK

/// `async_route`, `async_ms_route`, `async_sleep`, `async_ms_sleep`: the request is suspended
/// in its transaction and continued after a delay on a `workers` thread (Kamailio's
/// `async_sleep.c`).
extension AsyncModule {
    /// Kamailio's limits: seconds below `ASYNC_RING_SIZE` (100), milliseconds below
    /// `MAX_MS_SLEEP` (30 s).
    static let maxSeconds = 100
    static let maxMilliseconds = 30_000

    var delayFunctions: [ScriptFunction] {
        [
            ScriptFunction("async_route", parameters: 2, routes: [.request, .failure]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupRoute(args, unit: 1000)
            },
            ScriptFunction("async_ms_route", parameters: 2, routes: [.request, .failure]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupRoute(args, unit: 1)
            },
            ScriptFunction("async_sleep", parameters: 1, routes: [.request, .failure]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupSleep(args, unit: 1000)
            },
            ScriptFunction("async_ms_sleep", parameters: 1, routes: [.request, .failure]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupSleep(args, unit: 1)
            },
        ]
    }

    /// `async_route(name, seconds)` / `async_ms_route(name, ms)`: `route[name]` runs on the
    /// request after the delay; returns `return` (0: the script stops here), -1 on errors.
    func fixupRoute(_ args: [ScriptArgument], unit: Int) throws(FixupError) -> ScriptAction {
        let name = try args[0].stringFormat()
        let delay = try args[1].intParameter()
        return { ctx in
            guard self.workers > 0 else {
                Log.error("async", "no async mod timer workers")
                return -1
            }
            let route = name.render(ctx)
            guard let d = delay.value(ctx) else {
                Log.error("async", "no async interval value")
                return -1
            }
            guard let routes = ctx.core.routes, routes.routeNames.contains(route) else {
                Log.error("async", "route block not found: \(route)")
                return -1
            }
            return self.suspend(ctx, delay: d, unit: unit) { ctx in
                _ = routes.runRoute(route, ctx, as: .request)
            }
        }
    }

    /// `async_sleep(seconds)` / `async_ms_sleep(ms)`: the actions after the call, to the end
    /// of its block, run on the request after the delay; returns `return` (0: the script
    /// stops here), -1 on errors and when the call is the last action of its block.
    func fixupSleep(_ args: [ScriptArgument], unit: Int) throws(FixupError) -> ScriptAction {
        let delay = try args[0].intParameter()
        let next = ScriptContinuations.following()
        return { ctx in
            guard self.workers > 0 else {
                Log.error("async", "no async mod timer workers (modparam missing?)")
                return -1
            }
            guard let d = delay.value(ctx) else {
                Log.error("async", "no async sleep time value")
                return -1
            }
            guard let next, next.hasActions else {
                Log.error("async", "cannot be executed as last action in a route block")
                return -1
            }
            let routeType = ctx.routeType
            return self.suspend(ctx, delay: d, unit: unit) { ctx in next.run(ctx, as: routeType) }
        }
    }

    /// Checks the delay, suspends the request in its transaction and, once the script is done
    /// with it, arms the timer that continues it with `body` on a `workers` thread.
    func suspend(_ ctx: MessageContext, delay: Int, unit: Int, _ body: @escaping (MessageContext) -> Void) -> Int {
        guard let tm, let timers = core?.timers else { return -1 }
        guard delay > 0 else {
            Log.error("async", "negative or zero sleep time (\(delay))")
            return -1
        }
        if unit == 1000, delay >= Self.maxSeconds {
            Log.error("async", "max sleep time is \(Self.maxSeconds) sec (\(delay))")
            return -1
        }
        if unit == 1, delay >= Self.maxMilliseconds {
            Log.error("async", "max sleep time is \(Self.maxMilliseconds) msec")
            return -1
        }
        guard tm.suspend(ctx) else {
            Log.error("async", "failed to suspend the processing")
            return -1
        }
        ScriptHandOff.afterScript {
            timers.after(milliseconds: delay * unit, name: "async") {
                self.runOnWorker { self.continueRequest(ctx, body) }
            }
        }
        return returnCode
    }
}

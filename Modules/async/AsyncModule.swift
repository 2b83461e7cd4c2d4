import SwiftletSDK

/// The `async` module (Kamailio's `modules/async`): continue a request later in another
/// route, without holding a worker, on tm's suspend/continue and the core's timers.
final class AsyncModule {
    var tm: TransactionAPI?
    var core: CoreContext?

    var exports: ModuleExports {
        let e = ModuleExports(name: "async")
        e.functions = [
            ScriptFunction("async_route", parameters: 2, routes: [.request, .failure]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupRoute(args, unit: 1000)
            },
            ScriptFunction("async_ms_route", parameters: 2, routes: [.request, .failure]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupRoute(args, unit: 1)
            },
        ]
        e.initialize = { context in
            self.core = context.core
            self.tm = try context.requireAPI(TransactionAPI.self, by: "async", from: "tm")
        }
        return e
    }

    /// `async_route(name, seconds)` / `async_ms_route(name, ms)`: the request's transaction
    /// is created and suspended, and `route[name]` runs on it after the delay; the script
    /// stops here (0). -1 when the request cannot be suspended.
    func fixupRoute(_ args: [ScriptArgument], unit: Int) throws(FixupError) -> ScriptAction {
        let name = try args[0].constantString()
        let delay = try args[1].intParameter()
        if case .constant(let d) = delay, d <= 0 {
            throw FixupError("the delay must be a positive number, got \(d)", at: args[1].location)
        }
        return { ctx in
            guard let tm = self.tm, let core = self.core else { return -1 }
            guard core.routes?.routeNames.contains(name) == true else {
                Log.error("async", "route [\(name)] is not defined")
                return -1
            }
            guard let d = delay.value(ctx), d > 0 else {
                Log.error("async", "invalid delay")
                return -1
            }
            guard tm.suspend(ctx) else { return -1 }
            core.timers.after(milliseconds: d * unit, name: "async") {
                if !tm.resume(ctx, route: name) {
                    Log.warning("async", "cannot continue the request in route [\(name)]")
                }
            }
            return 0
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "async") { AsyncModule().exports }
}

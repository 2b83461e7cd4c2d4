import SwiftletSDK

/// The `async` module (Kamailio's `modules/async`): continue a request later (after a delay,
/// in a named route or with the actions after the call) or in a core async task worker,
/// without holding a SIP worker, on tm's suspend/continue.
final class AsyncModule {
    /// `workers`: threads that continue the requests of `async_route`/`async_sleep` and their
    /// `_ms_` forms (Kamailio's async timer processes); 0 disables those functions.
    var workers = 1
    /// `ms_timer`: accepted (Kamailio's millisecond timer resolution); see README.
    var msTimer = 0
    /// `return`: what the functions that suspend the request return on success (0: the
    /// script stops, as `exit`).
    var returnCode = 0

    var tm: TransactionAPI?
    var continuation: TransactionContinuationAPI?
    var core: CoreContext?
    /// The threads of `workers`, started in the main process's `child_init` (a server); nil
    /// under the embedded test core, where requests continue on the timer that woke them.
    var timerWorkers: TaskWorkers?

    var exports: ModuleExports {
        let e = ModuleExports(name: "async")
        e.parameters = [
            ModuleParameter("workers", .int { (v: Int) throws(FixupError) in self.workers = v }),
            ModuleParameter(
                "ms_timer",
                .int { (v: Int) throws(FixupError) in
                    guard v >= 0 else { throw FixupError("ms_timer must be >= 0, got \(v)") }
                    self.msTimer = v
                }),
            ModuleParameter("return", .int { (v: Int) throws(FixupError) in self.returnCode = v }),
        ]
        e.functions = delayFunctions + taskFunctions
        e.pseudoVariables = [AsyncVariable.pseudoVariableClass]
        e.initialize = { context in
            self.core = context.core
            self.tm = try context.requireAPI(TransactionAPI.self, by: "async", from: "tm")
            self.continuation = try context.requireAPI(TransactionContinuationAPI.self, by: "async", from: "tm")
        }
        e.childInitialize = { rank in
            // Kamailio forks its async timer processes from the main process's child_init.
            guard rank == 0, self.workers > 0, self.timerWorkers == nil else { return }
            let pool = TaskWorkers(name: "async mod timer")
            pool.start(threads: self.workers) { _ in true }
            self.timerWorkers = pool
        }
        e.destroy = {
            self.timerWorkers?.stop()
            self.timerWorkers = nil
        }
        return e
    }

    /// Runs `task` on a `workers` thread, or here when they do not run (embedded core).
    func runOnWorker(_ task: @escaping () -> Void) {
        if let pool = timerWorkers, pool.push(task) { return }
        task()
    }

    /// Continues the suspended request in `ctx` with `body` (Kamailio's `t_continue`).
    func continueRequest(_ ctx: MessageContext, _ body: (MessageContext) -> Void) {
        guard let continuation, continuation.resume(ctx, running: body) else {
            Log.warning("async", "cannot continue the request: its transaction is gone or has a final reply")
            return
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "async") { AsyncModule().exports }
}

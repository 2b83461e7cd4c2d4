import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// An example module: `hello_reply([reason])` answers a request with 200 and a reason that
/// defaults to the `greeting` parameter, through the sl module's API (looked up by name at
/// `mod_init`, never linked). It shows every part of the module interface a third party
/// needs: parameters, a function with a fixup, a pseudo-variable class, mod_init,
/// child_init, mod_destroy, an inter-module API and a periodic timer.
final class HelloModule {
    /// `modparam("hello", "greeting", "...")`
    var greeting = "Hello"
    /// `modparam("hello", "report_interval", 60)`: seconds between "replies so far" lines (0: none).
    var reportInterval = 0
    /// `$hello(count)`: how many `hello_reply` calls this process handled.
    let counter = Counter()
    var sl: StatelessReplyAPI?

    var exports: ModuleExports {
        let e = ModuleExports(name: "hello")
        e.parameters = [
            ModuleParameter("greeting", .string { (v: String) throws(FixupError) in self.greeting = v }),
            ModuleParameter("report_interval", .int { (v: Int) throws(FixupError) in self.reportInterval = v }),
        ]
        e.functions = [
            ScriptFunction("hello_reply", parameters: 0...1, routes: .request) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let reason = try args.first?.stringFormat()
                return { ctx in
                    self.counter.increment()
                    return self.sl?.sendReply(ctx, code: 200, reason: reason?.render(ctx) ?? self.greeting) ?? -1
                }
            }
        ]
        e.pseudoVariables = [
            PseudoVariableClass("hello") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
                guard pv.inner == "count" else { throw FixupError("$hello knows only $hello(count)") }
                return PseudoVariable(text: pv.text) { _ in .int(self.counter.value) }
            }
        ]
        e.initialize = { context in
            self.sl = try context.requireAPI("sl", as: StatelessReplyAPI.self, by: "hello", from: "sl")
            Log.info("hello", "mod_init: greeting is '\(self.greeting)'")
            // Registered in mod_init; the core's timer thread runs it after child_init.
            if self.reportInterval > 0 {
                Timers.every(seconds: self.reportInterval, name: "hello report") {
                    Log.info("hello", "\(self.counter.value) replies so far")
                }
            }
        }
        e.childInitialize = { rank in Log.debug("hello", "child_init(\(rank))") }
        e.destroy = { Log.info("hello", "mod_destroy after \(self.counter.value) replies") }
        return e
    }
}

/// A counter shared by the worker threads.
final class Counter: @unchecked Sendable {
    private var count = 0
    private let lock = Mutex()
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}

/// A small pthread mutex (the module keeps its own state thread-safe).
final class Mutex: @unchecked Sendable {
    private var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return body()
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "hello") { HelloModule().exports }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// An example module: `hello_reply([reason])` answers a request with 200 and a reason that
/// defaults to the `greeting` parameter, through the sl module's API (looked up by name at
/// `mod_init`, never linked). It shows every part of the module interface a third party
/// needs: parameters, a function with a fixup, a pseudo-variable class, mod_init,
/// child_init, mod_destroy and an inter-module API.
final class HelloModule {
    /// `modparam("hello", "greeting", "...")`
    var greeting = "Hello"
    /// `$hello(count)`: how many `hello_reply` calls this process handled.
    let counter = Counter()
    var sl: StatelessReplyAPI?

    var exports: ModuleExports {
        let e = ModuleExports(name: "hello")
        e.parameters = [ModuleParameter("greeting", .string { (v: String) throws(FixupError) in self.greeting = v })]
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

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// An example module: `hello_reply([reason])` answers a request with 200 and a reason that
/// defaults to the `greeting` parameter, through the sl module's API (looked up by type at
/// `mod_init`, never linked). It shows every part of the module interface a third party
/// needs: parameters, a function with a fixup, a pseudo-variable class, mod_init,
/// child_init, mod_destroy, an inter-module API, a periodic timer, and (with
/// `modparam("hello", "hooks", 1)`) every message-path hook of the core:
///
/// - raw bytes in (`netDataIn`): a message with an `X-Hello-Drop:` header is dropped before
///   parsing; an `X-Hello-Enc:` header is decoded back to `X-Hello:` (topoh's pattern);
/// - raw bytes out (`netDataOut`): an `X-Hello:` header is encoded as `X-Hello-Enc:`;
/// - request in (`requestFilters`): a request with `X-Hello-Block:` never reaches the script;
/// - replies (`replyHandler`): a reply whose Call-ID starts with `hello-` is consumed (not
///   forwarded) and counted in `$hello(replies)`;
/// - `hello_event()` runs `event_route[hello:ask]` and returns -1 when the route dropped.
final class HelloModule {
    /// `modparam("hello", "greeting", "...")`
    var greeting = "Hello"
    /// `modparam("hello", "report_interval", 60)`: seconds between "replies so far" lines (0: none).
    var reportInterval = 0
    /// `modparam("hello", "hooks", 1)`: install the message-path hooks.
    var hooks = 0
    /// `$hello(count)`: how many `hello_reply` calls this process handled.
    let counter = Counter()
    /// `$hello(replies)`: how many replies the reply handler consumed.
    let consumed = Counter()
    var sl: StatelessReplyAPI?
    var core: CoreContext?

    var exports: ModuleExports {
        let e = ModuleExports(name: "hello")
        e.parameters = [
            ModuleParameter("greeting", .string { (v: String) throws(FixupError) in self.greeting = v }),
            ModuleParameter("report_interval", .int { (v: Int) throws(FixupError) in self.reportInterval = v }),
            ModuleParameter("hooks", .int { (v: Int) throws(FixupError) in self.hooks = v }),
        ]
        e.functions = [
            ScriptFunction("hello_reply", parameters: 0...1, routes: .request) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let reason = try args.first?.stringFormat()
                return { ctx in
                    self.counter.increment()
                    return self.sl?.sendReply(ctx, code: 200, reason: reason?.render(ctx) ?? self.greeting) ?? -1
                }
            },
            ScriptFunction("hello_event", parameters: 0...0, routes: .request) { _ in
                { ctx in
                    // A module runs its own event route through the core's routes; `drop`
                    // in it is seen here as false.
                    switch ctx.core.routes?.runEventRoute("hello:ask", ctx, as: .request) {
                    case .none: return -2
                    case .some(false): return -1
                    case .some(true): return 1
                    }
                }
            },
        ]
        e.pseudoVariables = [
            PseudoVariableClass("hello") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
                switch pv.inner {
                case "count": return PseudoVariable(text: pv.text) { _ in .int(self.counter.value) }
                case "replies": return PseudoVariable(text: pv.text) { _ in .int(self.consumed.value) }
                default: throw FixupError("$hello knows only $hello(count) and $hello(replies)")
                }
            }
        ]
        // Hooks are part of the exports (the core collects them at load time), so they are
        // set here from the parameter's value, which modparam has set by then... except that
        // exports are built before modparam runs: the hooks check the flag themselves.
        e.netDataIn = { data in self.hooks == 0 ? .continue : HelloHooks.decode(&data) }
        e.netDataOut = { data in self.hooks == 0 ? .continue : HelloHooks.encode(&data) }
        e.requestFilters = [{ ctx in self.hooks == 0 || ctx.message.firstHeader(named: "X-Hello-Block") == nil }]
        e.replyHandler = { ctx in
            guard self.hooks != 0, ctx.message.callID?.hasPrefix("hello-") == true else { return .notMine }
            self.consumed.increment()
            return .consumed
        }
        e.initialize = { context in
            self.core = context.core
            self.sl = try context.requireAPI(StatelessReplyAPI.self, by: "hello", from: "sl")
            Log.info("hello", "mod_init: greeting is '\(self.greeting)'")
            // Registered in mod_init on the core's timers (the timer thread in a server, a
            // virtual clock in tests); it runs after child_init.
            if self.reportInterval > 0 {
                context.core.timers.every(milliseconds: self.reportInterval * 1000, name: "hello report") {
                    Log.info("hello", "\(self.counter.value) replies so far")
                }
            }
        }
        e.childInitialize = { rank in Log.debug("hello", "child_init(\(rank))") }
        e.destroy = { Log.info("hello", "mod_destroy after \(self.counter.value) replies") }
        return e
    }
}

/// The raw-bytes hooks: `X-Hello:` travels as `X-Hello-Enc:` on the wire.
enum HelloHooks {
    static let plain = Array("\r\nX-Hello:".utf8)
    static let encoded = Array("\r\nX-Hello-Enc:".utf8)
    static let dropMark = Array("\r\nX-Hello-Drop:".utf8)

    static func decode(_ data: inout NetData) -> NetDataVerdict {
        if range(of: dropMark, in: data.bytes) != nil { return .drop }
        replace(encoded, with: plain, in: &data.bytes)
        return .continue
    }

    static func encode(_ data: inout NetData) -> NetDataVerdict {
        replace(plain, with: encoded, in: &data.bytes)
        return .continue
    }

    static func range(of needle: [UInt8], in bytes: [UInt8]) -> Range<Int>? {
        guard bytes.count >= needle.count else { return nil }
        for i in 0...(bytes.count - needle.count) where bytes[i] == needle[0] {
            if bytes[i..<(i + needle.count)].elementsEqual(needle) { return i..<(i + needle.count) }
        }
        return nil
    }

    static func replace(_ needle: [UInt8], with replacement: [UInt8], in bytes: inout [UInt8]) {
        if let r = range(of: needle, in: bytes) { bytes.replaceSubrange(r, with: replacement) }
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

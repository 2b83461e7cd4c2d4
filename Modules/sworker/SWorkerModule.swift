import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `sworker` module (Kamailio's `modules/sworker`): in
/// `event_route[core:pre-routing]`, `sworker_task(gname)` hands the received message to a
/// worker of the core's async task group `gname`, which processes it as if it had just been
/// received (parsing, `request_route` or `reply_route`) while the receiving worker goes on.
final class SWorkerModule {
    /// `xdata`: the variable whose value goes with the message and is set again in the
    /// worker before the message is processed there.
    var xdataName: String?
    var xdata: PseudoVariable?
    var injection: ReceivedMessageInjectionAPI?
    /// Kamailio's `BUF_SIZE`: the largest message a task worker takes.
    static let maxMessageSize = 65535

    var exports: ModuleExports {
        let e = ModuleExports(name: "sworker")
        e.parameters = [
            ModuleParameter("xdata", .string { (v: String) throws(FixupError) in self.xdataName = v })
        ]
        e.functions = [
            ScriptFunction("sworker_task", parameters: 1, routes: [.request, .coreOnReply]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let group = try args[0].stringFormat()
                return { ctx in self.task(ctx, group: group.render(ctx)) }
            },
            ScriptFunction("sworker_active", parameters: 0, routes: [.request, .coreOnReply]) {
                (_: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                { _ in SWorkerActive.isActive ? 1 : -1 }
            },
        ]
        e.initialize = { _ in
            guard let name = self.xdataName, !name.isEmpty else { return }
            let pv: PseudoVariable
            do {
                pv = try PseudoVariableRegistry.shared.compile(name)
            } catch {
                throw FixupError("cannot get pv spec for [\(name)]")
            }
            guard pv.set != nil else { throw FixupError("read only output variable [\(name)]") }
            self.xdata = pv
        }
        return e
    }

    /// `sworker_task(gname)`: 1 when the message went to the group, -1 outside
    /// `event_route[core:pre-routing]`, for an unknown group, a message over 65535 bytes, or
    /// when it cannot be queued.
    func task(_ ctx: MessageContext, group: String) -> Int {
        guard PreRouting.isRunning else {
            Log.warning("sworker", "not used in pre-routing phase")
            return -1
        }
        let core = ctx.core
        guard let tasks = core.apis.lookup(AsyncTaskAPI.self), tasks.isActive else {
            Log.warning("sworker", "async task pushed, but no async group - ignoring")
            return -1
        }
        guard tasks.groupNames.contains(group) else {
            Log.warning("sworker", "group [\(group)] not found - ignoring")
            return -1
        }
        guard let injection = injection ?? core.apis.lookup(ReceivedMessageInjectionAPI.self) else {
            Log.error("sworker", "the core does not take messages back")
            return -1
        }
        let bytes = ctx.message.buffer
        guard bytes.count <= Self.maxMessageSize else {
            Log.error("sworker", "message is too large [\(bytes.count)]")
            return -1
        }
        let receive = ctx.receive
        var data: String?
        if let pv = xdata, case .string(let s) = pv.get(ctx), !s.isEmpty { data = s }
        let xdataVariable = xdata
        let pushed = tasks.push(
            {
                if let set = xdataVariable?.set {
                    let faked = MessageContext.faked(core: core)
                    guard set(faked, data.map { .string($0) } ?? .null) else {
                        Log.error("sworker", "failed to set the xdata variable")
                        return
                    }
                }
                SWorkerActive.run { injection.receiveInternal(bytes, receive: receive) }
            }, group: group)
        guard pushed else {
            Log.error("sworker", "failed to pass the task to group [\(group)]")
            return -1
        }
        return 1
    }
}

/// Whether this thread processes a message handed over by `sworker_task` (`sworker_active()`).
enum SWorkerActive {
    static var isActive: Bool { pthread_getspecific(key) != nil }

    static func run(_ body: () -> Void) {
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        body()
        pthread_setspecific(key, nil)
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "sworker") { SWorkerModule().exports }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `websocket` module: RFC 6455 WebSocket on the TCP listeners and RFC 7118 SIP over it
/// (Kamailio's `modules/websocket`). `ws_handle_handshake()` in `event_route[xhttp:request]`
/// upgrades a connection; SIP messages then arrive over `ws` and go back on the connection.
final class WebSocketModule: @unchecked Sendable {
    /// `keepalive_mechanism`: 0 none, 1 Ping (default), 2 Pong, 3 connection check.
    var keepaliveMechanism = 1
    /// `keepalive_timeout`: seconds of idleness before a keepalive (180).
    var keepaliveTimeout = 180
    /// `keepalive_interval`: seconds between keepalive checks (1).
    var keepaliveInterval = 1
    var keepaliveProcesses = 1
    var timerInterval = 1
    var rmDelayInterval = 5
    /// `ping_application_data`: the Ping payload (the server signature).
    var pingApplicationData = "Swiftlet (\(Core.version) (\(Core.architecture)/linux))"
    /// `sub_protocols`: 1 sip, 2 msrp (3).
    var subProtocols = 3
    /// `cors_mode`: 0 none, 1 `*`, 2 the request's Origin.
    var corsMode = 0
    var verboseList = 0
    /// `ws.enable`/`ws.disable` (the `websocket.enabled` cfg value).
    private let enabledFlag = AtomicFlag(true)
    var enabled: Bool { enabledFlag.value }

    private var lock = pthread_mutex_t()
    private var connections: [Int: WebSocketConnection] = [:]
    private(set) var stats = WebSocketStats()
    private var core: CoreContext?
    private var timer: TimerHandle?

    init() { pthread_mutex_init(&lock, nil) }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return body()
    }

    var exports: ModuleExports {
        let e = ModuleExports(name: "websocket")
        e.parameters = [
            int("keepalive_mechanism", 0...3) { self.keepaliveMechanism = $0 },
            int("keepalive_timeout", 1...Int(Int32.max)) { self.keepaliveTimeout = $0 },
            int("keepalive_interval", 0...Int(Int32.max)) { self.keepaliveInterval = $0 < 1 ? 1 : $0 },
            int("keepalive_processes", 0...16) { self.keepaliveProcesses = $0 },
            int("timer_interval", 0...Int(Int32.max)) { self.timerInterval = $0 },
            int("rm_delay_interval", 0...Int(Int32.max)) { self.rmDelayInterval = $0 },
            int("sub_protocols", 0...3) { self.subProtocols = $0 },
            int("cors_mode", 0...2) { self.corsMode = $0 },
            int("verbose_list", 0...1) { self.verboseList = $0 },
            ModuleParameter(
                "ping_application_data", .string { (v: String) throws(FixupError) in self.pingApplicationData = v }),
            ModuleParameter(
                "event_callback",
                .string { (v: String) throws(FixupError) in
                    if !v.isEmpty { throw FixupError("event_callback needs a KEMI engine, which Swiftlet has not") }
                }),
        ]
        e.functions = [
            ScriptFunction("ws_handle_handshake", parameters: 0, routes: .any) { _ in
                { ctx in WebSocketHandshake(module: self).handle(ctx) }
            },
            ScriptFunction("ws_close", parameters: 0, routes: .any) { _ in
                { ctx in self.scriptClose(ctx, 1000, "Normal closure", id: nil) }
            },
            ScriptFunction("ws_close", parameters: 2, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
                let code = try args[0].intParameter()
                let reason = try args[1].stringFormat()
                return { ctx in self.scriptClose(ctx, code.value(ctx) ?? 1000, reason.render(ctx), id: nil) }
            },
            ScriptFunction("ws_close", parameters: 3, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
                let code = try args[0].intParameter()
                let reason = try args[1].stringFormat()
                let id = try args[2].intParameter()
                return { ctx in
                    guard let i = id.value(ctx) else { return -1 }
                    return self.scriptClose(ctx, code.value(ctx) ?? 1000, reason.render(ctx), id: i)
                }
            },
        ]
        e.pseudoVariables = [
            PseudoVariableClass.readOnly("ws_conid") { ctx in
                guard ctx.receive.proto == .ws || ctx.receive.proto == .wss, let id = ctx.receive.connectionID else {
                    return .null
                }
                return .int(id)
            }
        ]
        e.rpcs = WebSocketRPC(module: self).commands
        e.initialize = { context in
            self.core = context.core
            // As Kamailio without the msrp module (which Swiftlet has not): MSRP is off.
            self.subProtocols &= ~WebSocketHandshake.msrp
            if self.subProtocols == 0 { throw FixupError("no sub-protocols enabled") }
            try self.stats.register()
            guard self.keepaliveMechanism != 0 else { return }
            self.timer = context.core.timers.every(milliseconds: self.keepaliveInterval * 1000, name: "ws-keepalive") {
                self.keepalive()
            }
        }
        return e
    }

    private func int(_ name: String, _ range: ClosedRange<Int>, _ set: @escaping (Int) -> Void) -> ModuleParameter {
        ModuleParameter(
            name,
            .int { (v: Int) throws(FixupError) in
                guard range.contains(v) else { throw FixupError("bad value for \(name): \(v)") }
                set(v)
            })
    }

    // MARK: connection table

    func add(_ c: WebSocketConnection) {
        let count = locked {
            connections[c.id] = c
            return connections.count
        }
        stats.connectionOpened(current: count)
    }

    func remove(_ c: WebSocketConnection) {
        let count = locked {
            if connections[c.id] === c { connections.removeValue(forKey: c.id) }
            return connections.count
        }
        stats.current.store(count)
    }

    func connection(_ id: Int) -> WebSocketConnection? { locked { connections[id] } }

    var all: [WebSocketConnection] { locked { connections.values.sorted { $0.id < $1.id } } }

    /// The TCP connection closed: the WebSocket connection is gone, and
    /// `event_route[websocket:closed]` runs with `$ws_conid` set.
    func connectionClosed(_ c: WebSocketConnection) {
        remove(c)
        guard let core, let routes = core.routes, routes.eventRouteNames.contains("websocket:closed") else { return }
        let faked = MessageContext.faked(core: core)
        let receive = ReceiveInfo(
            proto: c.proto, source: c.remote, local: c.local.address, socket: c.local, connectionID: c.id)
        let ctx = MessageContext(message: faked.message, receive: receive, routeType: .event, core: core)
        _ = routes.runEventRoute("websocket:closed", ctx, as: .event)
    }

    /// `ws_close([code, reason[, conid]])`: the connection of the message, or `conid`.
    private func scriptClose(_ ctx: MessageContext, _ code: Int, _ reason: String, id: Int?) -> Int {
        let target = id ?? ((ctx.receive.proto == .ws || ctx.receive.proto == .wss) ? ctx.receive.connectionID : nil)
        guard let target, let c = connection(target) else {
            Log.error("websocket", "failed to retrieve WebSocket connection")
            return -1
        }
        return c.close(code: UInt16(clamping: code), reason: reason) ? 1 : -1
    }

    // MARK: keepalive

    /// Kamailio's `ws_keepalive`: a connection idle for `keepalive_timeout` seconds gets a
    /// Ping (or a Pong); one still awaiting its Pong, or closing, is closed now.
    func keepalive() {
        let check = Int(time(nil)) - keepaliveTimeout
        for c in all where c.lastUsed < check {
            if c.state == .closing || c.awaitingPong {
                Log.warning("websocket", "forcibly closing connection")
                c.closeNow()
            } else if keepaliveMechanism == 3 {
                continue  // connection check: the core's connection table drops dead peers
            } else {
                c.pingPong(keepaliveMechanism == 1 ? .ping : .pong)
            }
        }
    }
}

/// A flag read by any thread.
final class AtomicFlag: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var stored: Bool
    init(_ value: Bool) {
        stored = value
        pthread_mutex_init(&lock, nil)
    }
    var value: Bool {
        get {
            pthread_mutex_lock(&lock)
            defer { pthread_mutex_unlock(&lock) }
            return stored
        }
        set {
            pthread_mutex_lock(&lock)
            stored = newValue
            pthread_mutex_unlock(&lock)
        }
    }
}

extension WebSocketModule {
    func setEnabled(_ on: Bool) { enabledFlag.value = on }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "websocket") { WebSocketModule().exports }
}

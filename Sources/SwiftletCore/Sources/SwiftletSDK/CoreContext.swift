/// Settings of the core's forwarding that modules read (global parameters, fixed once the
/// configuration is loaded).
public struct ForwardingSettings: Sendable {
    /// `check_via`: a reply is forwarded only when its top Via is this server's.
    public var checkVia = false
    /// `udp_mtu` (0: off) and `udp_mtu_try_proto`: a request for UDP that is larger than the
    /// MTU goes over the fallback protocol instead, when a socket exists.
    public var udpMTU = 0
    public var udpMTUFallback: TransportProtocol?
    /// The global `force_rport`.
    public var forceRport = false

    public init() {}
}

/// The running core as modules see it: one value handed to every module in `mod_init`
/// (`ModuleInitContext.core`) and reachable from every message (`MessageContext.core`),
/// instead of process-wide globals. It holds the inter-module APIs, the RPC commands, the
/// message-path hooks, the compiled script's routes, the transports and the one send path,
/// the timers and the forwarding settings.
///
/// Life cycle: the configuration loader creates one per configuration and fills it while
/// modules load (`apis`, `rpcs`, `hooks`, `routes`); the runtime installs the transports
/// before any worker starts. Everything is read-only once workers run, so any thread may
/// read it without locks. Tests create their own (with an in-memory transport and a
/// virtual clock), so configurations loaded by different tests do not share state.
public final class CoreContext: @unchecked Sendable {
    /// Interfaces modules offer each other, looked up by type (`apis.lookup(StatelessReplyAPI.self)`).
    public let apis = ModuleAPIRegistry()
    /// RPC commands of the core and the modules (`core.version`, `sl.stats`, ...).
    public let rpcs = RPCRegistry()
    /// The timers modules schedule on: the timer thread in a server, a `VirtualClock` in tests.
    public let timers: any TimerScheduling
    /// The bounded pool that shared state's bulk bytes come from (`-m`): the process pool in
    /// a server, a small one in tests that fill it on purpose. Resolved on first use, so that
    /// the process pool is created only after the configuration sized it.
    public var memory: SharedMemory { ownMemory ?? .shared }
    private let ownMemory: SharedMemory?
    /// The modules' message-path hooks, in Kamailio's order (see `MessageHooks`).
    public private(set) var hooks = MessageHooks()
    /// The compiled script's routing blocks (tm runs failure/branch/onreply routes, modules
    /// their `event_route`s); nil until the script is compiled.
    public private(set) var routes: (any ScriptRoutes)?
    /// The listening sockets and raw writers; nil in a configuration check.
    public private(set) var transport: (any TransportLayer)?
    /// The one send path (see `OutboundPath`); nil in a configuration check.
    public private(set) var outbound: (any OutboundPath)?
    /// Name resolution for next hops (RFC 3263 in a server; IP literals only until the
    /// runtime installs it).
    public private(set) var resolver: any SIPNameResolver = LiteralResolver()
    /// Global forwarding parameters.
    public var settings = ForwardingSettings()
    /// The configured listen addresses in configuration order.
    public var listeners: [ListenAddress] = []
    /// The `alias=` names, newest first (Kamailio keeps them in a list with the last added
    /// at its head).
    public var aliases: [LocalAlias] = []
    /// Kamailio's `check_self` over the listen addresses, advertised addresses and `alias=`:
    /// host (IP, `[IPv6]` or name) and port (nil: any).
    public var isMyself: @Sendable (_ host: String, _ port: Int?) -> Bool = { _, _ in false }

    /// A context whose timers run on `timers` (the process timer thread by default) and
    /// whose shared state lives in `memory` (nil: the process pool, `SharedMemory.shared`).
    public init(timers: any TimerScheduling = Timers.service, memory: SharedMemory? = nil) {
        self.timers = timers
        self.ownMemory = memory
    }

    /// The context of the configuration loaded last: what code without a message or an init
    /// context at hand uses (the script compiler, log prefixes). Written by the loader before
    /// any worker starts, read-only while the server runs.
    nonisolated(unsafe) public private(set) static var current = CoreContext()

    /// Makes `context` the current one (the configuration loader, at the start of a load).
    public static func makeCurrent(_ context: CoreContext) { current = context }

    /// Installs the modules' hooks (the loader, after every module is loaded).
    public func install(hooks: MessageHooks) { self.hooks = hooks }

    /// Installs the resolver (the loader).
    public func install(resolver: any SIPNameResolver) { self.resolver = resolver }

    /// Installs the compiled script (the loader).
    public func install(routes: any ScriptRoutes) { self.routes = routes }

    /// Installs the transports and the send path (the runtime before workers start; tests).
    public func install(transport: (any TransportLayer)?, outbound: (any OutboundPath)?) {
        self.transport = transport
        self.outbound = outbound
    }

    /// Sends through the core's one send path (see `OutboundPath`); `.failed` when nothing
    /// can be sent (no transport is installed).
    public func send(_ message: OutboundMessage, context: MessageContext? = nil) -> SendOutcome {
        guard let outbound else {
            Log.error("core", "cannot send to \(message.destination): no transport (not running)")
            return .failed
        }
        return outbound.send(message, context: context)
    }
}

import SwiftletSDK

/// A whole core with no sockets, no threads and no real time, for tests: a configuration is
/// loaded and its modules initialised as in a server, but received messages are bytes a
/// test hands in (`receive`), everything sent lands in a `MemoryTransport`, and timers run
/// on a `VirtualClock` that moves only in `advance(milliseconds:)`. Only the async task
/// workers of `async_workers` are real threads (stopped by `shutdown()`). Every message
/// takes the server's path: in-hooks, parsing and Kamailio's checks, request-in hooks, the
/// script, reply handlers, the send path with `onsend_route` and out-hooks. Calls must not
/// overlap (one test drives it), but they may come from different threads.
///
/// ```swift
/// let core = try EmbeddedCore(config: cfg, modulePath: dir)
/// core.receive("OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n...", from: "127.0.0.1:5070")
/// #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 OK"])
/// core.advance(milliseconds: 500)   // timers due by then run now
/// ```
public final class EmbeddedCore: @unchecked Sendable {
    public let loaded: LoadedConfiguration
    public let transport: MemoryTransport
    public let clock: VirtualClock
    private let dispatcher: MessageDispatcher

    /// Loads `config` (as if read from `file`) with modules from `modulePath`, runs every
    /// module's `mod_init` and `child_init(1)`; throws the configuration's errors or a
    /// module's initialisation error.
    ///
    /// `memory` replaces the process's shared memory pool for this core (a small pool lets a
    /// test fill it on purpose).
    public init(
        config: String, file: String = "embedded.cfg", modulePath: String, memory: SharedMemory? = nil
    ) throws {
        var options = CommandLineOptions()
        options.modulePath = modulePath
        let clock = VirtualClock()
        let loaded = try ConfigurationLoader.load(
            preprocessed: ConfigurationLoader.preprocess(text: config, file: file, options: options), options: options,
            context: CoreContext(timers: clock, memory: memory))
        let transport = MemoryTransport(listen: loaded.core.listen, aliases: loaded.core.aliases)
        loaded.install(transport: transport)
        let initContext = ModuleInitContext(listeners: loaded.core.listen, core: loaded.context)
        for m in loaded.modules {
            do {
                try m.exports.initialize(initContext)
                try m.exports.childInitialize(ProcessRank.firstWorker)
            } catch {
                throw RuntimeError("initialisation of module '\(m.name)' failed: \(error)")
            }
        }
        self.loaded = loaded
        self.transport = transport
        self.clock = clock
        dispatcher = MessageDispatcher(script: loaded.script, core: loaded.context)
        dispatcher.offerForInjection()
        startAsyncTaskWorkers()
    }

    /// The core context (APIs, hooks, routes, send path) of the loaded configuration.
    public var context: CoreContext { loaded.context }

    /// Hands `bytes` to the core as received from `source` (`ip:port`, IPv6 in brackets)
    /// over `proto` at the first listening socket of that protocol.
    public func receive(
        _ bytes: [UInt8], from source: String, proto: TransportProtocol = .udp, connectionID: Int? = nil
    ) {
        guard let peer = Self.address(source) else { preconditionFailure("not an ip:port: \(source)") }
        let socket = transport.sockets.first { $0.proto == proto && $0.isIPv6 == peer.isIPv6 }
        let info = ReceiveInfo(
            proto: proto, source: peer, local: socket?.address ?? SocketAddress(), socket: socket,
            connectionID: connectionID)
        dispatcher.handle(bytes, receive: info)
    }

    /// Hands SIP text to the core (line ends as written).
    public func receive(_ text: String, from source: String, proto: TransportProtocol = .udp, connectionID: Int? = nil)
    {
        receive(Array(text.utf8), from: source, proto: proto, connectionID: connectionID)
    }

    /// Moves the virtual clock forward, running the timers that fall due.
    public func advance(milliseconds: Int) { clock.advance(milliseconds: milliseconds) }

    /// What was sent since the last call.
    public func takeSent() -> [MemoryTransport.Sent] { transport.takeSent() }

    /// Runs every module's `mod_destroy`, in reverse load order.
    public func shutdown() {
        loaded.asyncTaskWorkers?.stop()
        for m in loaded.modules.reversed() { m.exports.destroy() }
    }

    static func address(_ text: String) -> SocketAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
            return nil
        }
        return SocketAddress(numericHost: String(text[..<colon]), port: port)
    }
}

import NIOCore
import NIOPosix
import SwiftletSDK

/// Connection settings from the global parameters.
struct TCPSettings: Sendable {
    /// `tcp_connection_lifetime`: an idle connection is closed after this many seconds.
    var lifetime = 120
    /// `tcp_max_connections`: accepted connections beyond this are closed at once.
    var maxConnections = 2048
    /// `tcp_accept_no_cl`
    var acceptNoContentLength = false
    /// `tcp_children`
    var workers = 2
    /// Seconds to wait for an outgoing connection (`tcp_connect_timeout`, Kamailio's 10).
    var connectTimeout = 10
    /// `tcp_standby_workers` (Swiftlet's own): new connections go to the first loop that is
    /// not busy (`StreamLoopBalancer`); false: to the loops in turn.
    var standbyWorkers = true
}

/// SIP over TCP (DESIGN.md section 4): `tcp_children` SwiftNIO event loops own the
/// connections, frame the messages and run the script on them (`StreamReaders`); replies and
/// forwarded requests go out through the connection table, opening a connection when none
/// exists. A thread per listening socket accepts connections (`StreamAcceptor`) and
/// `StreamLoopBalancer` chooses the loop of each new connection.
final class TCPTransport: StreamSender, @unchecked Sendable {
    let settings: TCPSettings
    let table = TCPConnectionTable()
    let workers: StreamReaders
    let balancer: StreamLoopBalancer
    private let group: MultiThreadedEventLoopGroup
    private var acceptors: [StreamAcceptor] = []
    /// The module's security layer for `tls:` sockets (set before binding them).
    var security: (any StreamSecurityProvider)?

    init(settings: TCPSettings) {
        self.settings = settings
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, settings.workers))
        workers = StreamReaders(group: group)
        balancer = StreamLoopBalancer(loops: workers.loops, packing: settings.standbyWorkers)
    }

    /// Binds a TCP listener.
    func bind(_ listen: ListenAddress, index: Int) throws(RuntimeError) -> ListeningSocket {
        let socket = try Self.socket(listen, index: index)
        try bind(socket)
        return socket
    }

    /// The socket object of a TCP/TLS listener, made before it is bound (the server makes
    /// them before modules initialise, so that `mod_init` finds every socket).
    static func socket(_ listen: ListenAddress, index: Int) throws(RuntimeError) -> ListeningSocket {
        let address = try SwiftletSDK.SocketAddress(host: listen.address, port: listen.port)
        return ListeningSocket(index: index, listen: listen, address: address, fd: -1)
    }

    /// Binds and starts accepting on `socket` (made by `socket(_:index:)`).
    func bind(_ socket: ListeningSocket) throws(RuntimeError) {
        let acceptor = try StreamAcceptor(socket)
        acceptors.append(acceptor)
        acceptor.start { [self] fd in adopt(fd, from: socket) }
    }

    /// Makes a connection of the accepted socket `fd` on the loop the balancer chooses.
    private func adopt(_ fd: Int32, from socket: ListeningSocket) {
        let (index, loop) = balancer.next()
        let load = balancer.loads[index]
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: false)  // StreamWriteTracker asks for each read
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StreamWriteTracker(load: load))
                    try self.addSecurityHandler(to: channel, role: .server, socket: socket, proto: socket.proto)
                    try channel.pipeline.syncOperations.addHandler(SIPStreamHandler(transport: self, socket: socket))
                }
            }
            .withConnectedSocket(fd)
            .whenFailure { error in
                Log.error("core", "cannot serve a connection accepted on \(socket.listen): \(error)")
            }
    }

    func send(_ bytes: [UInt8], to destination: Destination, from socket: ListeningSocket) -> Bool {
        if let id = destination.connectionID {
            // A reply to the message the calling reader is running the script on (the usual
            // case) needs no look-up in the table.
            if let written = StreamReaders.withDelivering(id, { $0.write(bytes) }) {
                if written { return true }
            } else if let c = table.connection(id: id), c.write(bytes) {
                return true
            }
        }
        // A connection to the address serves the destination's protocol; a WebSocket client's
        // connection is a TCP or TLS one upgraded, so `ws` and `wss` take it whatever its
        // socket's protocol (as Kamailio, which looks WebSocket connections up by address only).
        let webSocket = destination.proto == .ws || destination.proto == .wss
        if let c = table.connection(to: destination.address), c.socket.proto == destination.proto || webSocket,
            c.write(bytes)
        {
            return true
        }
        if destination.flags.contains(.forwardNoConnect) || webSocket {
            Log.error("core", "no open connection to \(destination) and connecting is not allowed")
            return false
        }
        let id = table.allocateID()
        let (index, loop) = balancer.next()
        let load = balancer.loads[index]
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(Int64(settings.connectTimeout)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: false)  // StreamWriteTracker asks for each read
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StreamWriteTracker(load: load))
                    try self.addSecurityHandler(
                        to: channel, role: .client, socket: socket, proto: destination.proto)
                    try channel.pipeline.syncOperations.addHandler(
                        SIPStreamHandler(transport: self, socket: socket, connectionID: id))
                }
            }
        let host = destination.address.ipString
        let port = destination.address.port
        if workers.isReaderThread {
            // On a reader (a message that arrived over TCP/TLS/WS): connect asynchronously, as
            // Kamailio's tcp_async, and send once connected; waiting here would stall every
            // connection of this loop.
            bootstrap.connect(host: host, port: port).whenComplete { result in
                switch result {
                case .success(let channel):
                    channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
                case .failure(let error):
                    Log.error("core", "cannot connect to \(destination): \(error)")
                }
            }
            return true
        }
        do {
            let channel = try bootstrap.connect(host: host, port: port).wait()
            try channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).wait()
            return true
        } catch {
            Log.error("core", "cannot connect to \(destination): \(error)")
            return false
        }
    }

    func addAlias(connectionID id: Int, address: SwiftletSDK.SocketAddress) -> Bool {
        table.addAlias(id: id, address: address)
    }

    func connectionSocket(to address: SwiftletSDK.SocketAddress) -> ListeningSocket? {
        table.connection(to: address)?.socket
    }

    /// The first step of shutdown: no new connections. The readers go on serving the open
    /// connections (replies in flight still go out) until `closeConnections`.
    func stopAccepting() {
        for a in acceptors { a.stop() }
    }

    /// The last step, after the other workers stopped: closes every connection and the event
    /// loops.
    func closeConnections() {
        for c in table.all { try? c.channel.close().wait() }
        try? group.syncShutdownGracefully()
    }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Sends messages over connection-oriented transports (the TCP connection table).
protocol StreamSender: AnyObject, Sendable {
    func send(_ bytes: [UInt8], to destination: Destination, from socket: ListeningSocket) -> Bool
    /// `add_tcp_alias()`: `address` reaches the peer of connection `id` over that connection.
    func addAlias(connectionID id: Int, address: SocketAddress) -> Bool
    /// The listening socket of the open connection to `address`, if any (a WebSocket
    /// client's connection: a TCP one for `ws`, a TLS one for `wss`).
    func connectionSocket(to address: SocketAddress) -> ListeningSocket?
}

/// The server's listening sockets and the way out through them: the `TransportLayer` the
/// runtime installs for forwarding and modules. Immutable after start-up, so every worker
/// uses it without locks (a UDP `sendto` on a shared descriptor is thread-safe).
final class SocketTable: TransportLayer, @unchecked Sendable {
    /// In configuration order. Complete before modules initialise, but for SCTP sockets
    /// (the sctp module's transport makes them afterwards: `appendLate`).
    private(set) var sockets: [ListeningSocket]
    let local: LocalAddresses
    /// The TCP side, once started.
    var streams: StreamSender?
    /// The sctp module's transport, when SCTP is enabled.
    var sctp: (any SCTPTransportProvider)?
    /// The first UDP socket of each family (Kamailio's `sendipv4`/`sendipv6`).
    private let firstUDP4: ListeningSocket?
    private let firstUDP6: ListeningSocket?
    /// `mhomed=1`: UDP send sockets chosen by the kernel's route.
    private let routes: RouteSocketChooser?

    init(sockets: [ListeningSocket], local: LocalAddresses, mhomed: Bool = false) {
        self.sockets = sockets
        self.local = local
        routes = mhomed ? RouteSocketChooser(sockets: sockets) : nil
        firstUDP4 = sockets.first { $0.proto == .udp && !$0.isIPv6 }
        firstUDP6 = sockets.first { $0.proto == .udp && $0.isIPv6 }
    }

    /// Adds sockets made after the modules initialised (SCTP), before any worker runs.
    func appendLate(_ more: [ListeningSocket]) {
        sockets = (sockets + more).sorted { $0.index < $1.index }
    }

    func sendSocket(for proto: TransportProtocol, to address: SocketAddress, received: ListeningSocket?)
        -> ListeningSocket?
    {
        // As Kamailio's get_send_socket: with mhomed, the route decides for UDP (a forced
        // socket was already taken by the caller).
        if proto == .udp, let routes { return routes.socket(for: address) }
        // WebSocket connections live on the TCP (`ws`) and TLS (`wss`) listeners: the socket
        // of the client's connection, else the first of the listener's protocol. Kamailio takes
        // the first TCP socket for `ws` (or the socket usrloc forced), though a `;transport=ws`
        // destination may be a WSS connection (RFC 7118 has no `transport=wss`).
        if proto == .ws || proto == .wss, let s = streams?.connectionSocket(to: address) { return s }
        let proto: TransportProtocol =
            switch proto {
            case .ws: .tcp
            case .wss: .tls
            default: proto
            }
        if let received, received.proto == proto, received.isIPv6 == address.isIPv6 { return received }
        if proto == .udp { return address.isIPv6 ? firstUDP6 : firstUDP4 }
        return sockets.first { $0.proto == proto && $0.isIPv6 == address.isIPv6 }
    }

    func send(_ bytes: [UInt8], to destination: Destination, from socket: ListeningSocket) -> Bool {
        switch destination.proto {
        case .udp:
            let sent = bytes.withUnsafeBytes { buf in
                destination.address.withSockaddr { sendto(socket.fd, buf.baseAddress, buf.count, 0, $0, $1) }
            }
            if sent < 0 {
                Log.error("core", "sendto \(destination.address) failed: \(RuntimeError.errnoText())")
                return false
            }
            return true
        case .tcp, .tls, .ws, .wss:
            guard let streams else {
                Log.error("core", "cannot send to \(destination): TCP is disabled")
                return false
            }
            return streams.send(bytes, to: destination, from: socket)
        case .sctp:
            guard let sctp, socket.proto == .sctp else {
                Log.error("core", "cannot send to \(destination): SCTP is disabled")
                return false
            }
            return sctp.send(bytes, on: socket.fd, to: destination.address)
        default:
            Log.error("core", "cannot send to \(destination): \(destination.proto.name) is not supported")
            return false
        }
    }

    func isMyself(host: String, port: Int?, proto: TransportProtocol?) -> Bool {
        local.isMyself(host: host, port: port)
    }
}

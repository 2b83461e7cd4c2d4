/// A socket the server listens on, as forwarding sees it (Kamailio's `socket_info`): the
/// configured address, the advertised one used in Via and Record-Route, and its position.
public final class ListeningSocket: Sendable, CustomStringConvertible {
    /// Position in the listener list (configuration order).
    public let index: Int
    public let listen: ListenAddress
    /// The bound address.
    public let address: SocketAddress
    /// The UDP socket descriptor, or -1 for connection-oriented listeners.
    public let fd: Int32
    /// The bound address as text (`address.ipString`), formatted once: every request sent on
    /// names it (Via, Record-Route).
    public let addressText: String

    public init(index: Int, listen: ListenAddress, address: SocketAddress, fd: Int32) {
        self.index = index
        self.listen = listen
        self.address = address
        self.fd = fd
        self.addressText = address.ipString
    }

    public var proto: TransportProtocol { listen.proto }
    public var isIPv6: Bool { address.isIPv6 }
    /// The address put in Via and Record-Route: `advertise` if set, else the bound one.
    public var advertisedHost: String { listen.advertisedAddress ?? addressText }
    /// The port put in Via and Record-Route.
    public var advertisedPort: Int { listen.advertisedPort ?? listen.port }
    /// `udp:127.0.0.1:5060`
    public var description: String { listen.description }
}

/// Where a message goes (Kamailio's `dest_info`): protocol, address, and optionally the
/// socket to send from and the connection to use.
public struct Destination: Sendable, CustomStringConvertible {
    public var proto: TransportProtocol
    public var address: SocketAddress
    /// The socket to send from; nil lets the transport layer choose (`get_send_socket`).
    public var socket: ListeningSocket?
    /// The connection to send on (TCP/TLS/WS), or nil to find or open one by address.
    public var connectionID: Int?
    /// Connection requests of the script (`set_forward_no_connect()`, ...).
    public var flags: SendFlags

    public init(
        proto: TransportProtocol, address: SocketAddress, socket: ListeningSocket? = nil, connectionID: Int? = nil,
        flags: SendFlags = []
    ) {
        self.proto = proto
        self.address = address
        self.socket = socket
        self.connectionID = connectionID
        self.flags = flags
    }

    /// `udp:127.0.0.1:5070`
    public var description: String { "\(proto.name):\(address)" }
}

/// The core's transports, as modules and the forwarding code use them. The runtime installs
/// one at start-up (`CoreContext.install(transport:outbound:)`); without it (a config check, a unit test) nothing
/// can be sent.
public protocol TransportLayer: AnyObject, Sendable {
    /// The listening sockets in configuration order.
    var sockets: [ListeningSocket] { get }
    /// The socket a message to `address` over `proto` leaves from (Kamailio's
    /// `get_send_socket`): the receiving socket when it fits, else the first listener of that
    /// protocol and address family. Nil when there is none.
    func sendSocket(for proto: TransportProtocol, to address: SocketAddress, received: ListeningSocket?)
        -> ListeningSocket?
    /// Sends `bytes`; false (with a log line) when it could not be sent.
    func send(_ bytes: [UInt8], to destination: Destination, from socket: ListeningSocket) -> Bool
    /// True when `host:port` over `proto` is this server (Kamailio's `check_self`); `port`
    /// nil matches any port, `proto` nil any protocol.
    func isMyself(host: String, port: Int?, proto: TransportProtocol?) -> Bool
}

extension TransportLayer {
    /// The socket a message to `address` over `proto` leaves from when the script forced
    /// `forced` (Kamailio's `get_send_socket2`): `forced` itself when its protocol fits, else
    /// a socket on the same address for `proto` (any port), else the usual choice (with a
    /// warning, as Kamailio's "protocol/port mismatch").
    public func sendSocket(
        for proto: TransportProtocol, to address: SocketAddress, received: ListeningSocket?,
        forced: ListeningSocket?
    ) -> ListeningSocket? {
        if let forced {
            // WebSocket connections live on TCP (`ws`) and TLS (`wss`) listeners; and, as
            // Kamailio's special case, with no `;transport=wss` a WSS client's destination is
            // `ws` with its TLS socket forced (usrloc's socket).
            let listener: TransportProtocol = proto == .ws ? .tcp : proto == .wss ? .tls : proto
            if forced.proto == listener || forced.proto == proto || (forced.proto == .tls && proto == .ws) {
                return forced
            }
            if let same = sockets.first(where: {
                $0.proto == listener && $0.address.addressBytes == forced.address.addressBytes
            }) {
                return same
            }
            Log.warning("core", "protocol/port mismatch (forced \(forced), to \(proto.name):\(address))")
        }
        return sendSocket(for: proto, to: address, received: received)
    }
}

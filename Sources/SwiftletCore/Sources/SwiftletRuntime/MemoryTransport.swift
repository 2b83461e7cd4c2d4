import SwiftletSDK
import Synchronization

/// A transport that writes nothing to the network: it keeps what is sent, in order, for a
/// test to read (SwiftNIO's `EmbeddedChannel` idea). Its listening sockets are the
/// configuration's listen addresses, with no descriptor behind them.
public final class MemoryTransport: TransportLayer, @unchecked Sendable {
    /// One message the core wrote.
    public struct Sent: Sendable {
        public let bytes: [UInt8]
        public let destination: Destination
        /// The socket it left from.
        public let socket: ListeningSocket
        /// The bytes as text.
        public var text: String { String(decoding: bytes, as: UTF8.self) }
        /// The first line (`SIP/2.0 200 OK`, `INVITE sip:b@x SIP/2.0`).
        public var firstLine: String { String(decoding: bytes.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self) }
    }

    public let sockets: [ListeningSocket]
    private let log = Mutex<[Sent]>([])
    private let local: LocalAddresses

    /// Sockets for `listen` (configuration order); `aliases` count as this server too.
    public init(listen: [ListenAddress], aliases: [LocalAlias] = []) {
        sockets = listen.enumerated().map { i, l in
            ListeningSocket(
                index: i, listen: l, address: SocketAddress(numericHost: l.address, port: l.port) ?? SocketAddress(),
                fd: -1)
        }
        local = LocalAddresses(listeners: listen, aliases: aliases)
    }

    /// Everything sent so far, oldest first.
    public var sent: [Sent] { log.withLock { $0 } }

    /// Returns what was sent since the last call and forgets it.
    public func takeSent() -> [Sent] {
        log.withLock { s in
            defer { s.removeAll() }
            return s
        }
    }

    public func sendSocket(for proto: TransportProtocol, to address: SocketAddress, received: ListeningSocket?)
        -> ListeningSocket?
    {
        if let received, received.proto == proto, received.isIPv6 == address.isIPv6 { return received }
        return sockets.first { $0.proto == proto && $0.isIPv6 == address.isIPv6 }
    }

    public func send(_ bytes: [UInt8], to destination: Destination, from socket: ListeningSocket) -> Bool {
        log.withLock { $0.append(Sent(bytes: bytes, destination: destination, socket: socket)) }
        return true
    }

    public func isMyself(host: String, port: Int?, proto: TransportProtocol?) -> Bool {
        local.isMyself(host: host, port: port)
    }
}

extension LoadedConfiguration {
    /// Installs `transport` and the core's send path over it (with this configuration's
    /// hooks and `onsend_route`) into the configuration's context.
    public func install(transport: any TransportLayer) {
        context.install(
            transport: transport,
            outbound: CoreSendPath(transport: transport, hooks: context.hooks, onSend: onSend))
    }
}

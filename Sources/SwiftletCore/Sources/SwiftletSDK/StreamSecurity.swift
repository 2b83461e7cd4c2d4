/// The stream-security hook (DESIGN.md section 4): a module (tls) turns the bytes of a
/// `tls:` connection into SIP text and back, without seeing the core's event loops. The
/// core asks the provider for one session per connection, feeds it what arrives on the
/// socket and what the server writes, and writes what the session gives back.

/// Which end of the connection the server is.
public enum StreamSecurityRole: Sendable {
    /// The peer connected to a `tls:` listening socket.
    case server
    /// The server opened the connection (a request or reply routed over TLS).
    case client
}

/// The connection a session secures.
public struct StreamSecurityEndpoint: Sendable {
    /// The core's connection id (`$conid`, `ReceiveInfo.connectionID`).
    public let connectionID: Int
    public let role: StreamSecurityRole
    /// The local listening socket the connection belongs to.
    public let socket: ListenAddress
    /// The local address the connection uses.
    public let local: SocketAddress
    /// The peer's address.
    public let remote: SocketAddress

    public init(
        connectionID: Int, role: StreamSecurityRole, socket: ListenAddress, local: SocketAddress,
        remote: SocketAddress
    ) {
        self.connectionID = connectionID
        self.role = role
        self.socket = socket
        self.local = local
        self.remote = remote
    }
}

/// Why a session gave up: the core closes the connection and logs `message`.
public struct StreamSecurityError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One connection's security state (an OpenSSL `SSL` with memory BIOs, say). The core
/// calls it only from the connection's event loop, one call at a time; the session may be
/// read from other threads only through what it publishes itself.
public protocol StreamSecuritySession: AnyObject {
    /// Bytes to write when the connection opens (a client's first handshake flight).
    func start() throws(StreamSecurityError) -> [UInt8]
    /// Bytes received from the peer: appends the plaintext they carry to `plaintext` and
    /// what must go back to the peer (handshake, alerts) to `output`. Returns false when
    /// the peer closed the secure session (close_notify).
    func receive(_ bytes: UnsafeRawBufferPointer, plaintext: inout [UInt8], output: inout [UInt8])
        throws(StreamSecurityError) -> Bool
    /// Plaintext the server sends: appends the bytes to write to `output` (nothing while a
    /// handshake is under way: the session keeps the text and hands it out with a later
    /// `receive`).
    func send(_ plaintext: UnsafeRawBufferPointer, output: inout [UInt8]) throws(StreamSecurityError)
    /// The server closes the connection: bytes to write first (close_notify), may be empty.
    func shutdown() -> [UInt8]
    /// The connection is gone; the session frees what it holds.
    func closed()
}

/// What a module offers for `tls:` sockets (`exports.provide(provider, as:
/// StreamSecurityProvider.self)`); the core looks it up once the modules are initialised.
public protocol StreamSecurityProvider: AnyObject, Sendable {
    /// A session for a new connection; throwing refuses the connection.
    func makeSession(for endpoint: StreamSecurityEndpoint) throws(StreamSecurityError) -> any StreamSecuritySession
}

/// What a TCP (or TLS) connection speaks after an upgrade, such as RFC 6455 WebSocket
/// framing once the websocket module answered the handshake with `101 Switching Protocols`.
/// The core hands it the connection's received bytes instead of framing SIP itself, and
/// passes every message sent on the connection through `encode`.
public protocol StreamConnectionCodec: AnyObject, Sendable {
    /// Bytes received on `connection`; runs on the connection's event loop, so it must not
    /// block. Complete messages go to the script with `connection.deliver`.
    func received(_ bytes: UnsafeRawBufferPointer, on connection: StreamConnectionHandle)
    /// The bytes to write for `message` (a SIP message sent on the connection); any thread.
    func encode(_ message: [UInt8]) -> [UInt8]
    /// The connection closed (either side); on the event loop.
    func closed(_ connection: StreamConnectionHandle)
}

/// An upgraded connection as its codec sees it.
public protocol StreamConnectionHandle: AnyObject, Sendable {
    /// The connection id (Kamailio's `tcp_connection.id`, `$conid`, `$ws_conid`).
    var id: Int { get }
    /// The peer's address.
    var remote: SocketAddress { get }
    /// The listening socket the connection belongs to.
    var socket: ListeningSocket { get }
    /// Writes `bytes` as they are (a frame the codec built); false once the connection is closed.
    @discardableResult func writeRaw(_ bytes: [UInt8]) -> Bool
    /// Hands a received message to the connection's script worker, received over `proto`
    /// (e.g. `.ws`), in arrival order with the connection's other messages.
    func deliver(_ message: [UInt8], proto: TransportProtocol)
    /// Closes the connection after what was written so far.
    func close()
}

/// Control of the core's stream connections for modules: the runtime's transport layer
/// offers it (`ctx.core.transport as? StreamConnectionControl`); nil where there are no
/// stream connections (a configuration check, a test without TCP).
public protocol StreamConnectionControl: AnyObject, Sendable {
    /// Switches connection `id` to `codec` and then writes `preface` unencoded (the `101`
    /// reply), so that the peer's first frame already meets the codec. Nil when the
    /// connection is gone.
    func upgrade(connectionID id: Int, to codec: StreamConnectionCodec, preface: [UInt8]) -> StreamConnectionHandle?
    /// Writes `bytes` unencoded (when given), then closes connection `id` (`set_reply_close()`).
    /// False when it is gone.
    @discardableResult func close(connectionID id: Int, after bytes: [UInt8]?) -> Bool
}

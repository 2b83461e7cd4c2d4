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
    /// For a codec whose `encode` is a header followed by the message unchanged (a WebSocket
    /// frame): that header, with everything else `encode` does (it is called instead of
    /// `encode`, on the connection's event loop), so that the header and the message are
    /// written into the connection's output buffer without a frame in between. Nil (the
    /// default): the connection calls `encode`.
    func header(for message: [UInt8]) -> StreamFrameHeader?
    /// The connection closed (either side); on the event loop.
    func closed(_ connection: StreamConnectionHandle)
}

extension StreamConnectionCodec {
    public func header(for message: [UInt8]) -> StreamFrameHeader? { nil }
}

/// The bytes a codec puts before a message (`StreamConnectionCodec.header(for:)`): at most
/// 16, kept inline (no allocation).
public struct StreamFrameHeader: Sendable {
    /// How many bytes were appended.
    public private(set) var count = 0
    private var storage: (UInt64, UInt64) = (0, 0)

    public init() {}

    /// Appends `byte` (at most 16 in all).
    public mutating func append(_ byte: UInt8) {
        precondition(count < 16, "a stream frame header holds at most 16 bytes")
        let i = count
        withUnsafeMutableBytes(of: &storage) { $0[i] = byte }
        count += 1
    }

    /// Calls `body` with the bytes, in order. (Not generic: a generic function of another
    /// module is not specialised for its caller, and costs far more than the bytes.)
    public func withUnsafeBytes(_ body: (UnsafeRawBufferPointer) -> Void) {
        let n = count
        Swift.withUnsafeBytes(of: storage) { body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }
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

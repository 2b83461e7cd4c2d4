import NIOCore
import SwiftletSDK
import Synchronization

/// One TCP connection, accepted or opened (Kamailio's `tcp_connection`). Replies to a
/// message received on it go back on it (the send path finds it by id).
final class TCPConnection: @unchecked Sendable {
    let id: Int
    let channel: Channel
    /// The peer's address.
    let remote: SwiftletSDK.SocketAddress
    /// The listening socket it belongs to (for an outgoing connection: the socket chosen
    /// to send from).
    let socket: ListeningSocket
    /// What the connection speaks after an upgrade (WebSocket), else plain SIP.
    let upgrade = ConnectionUpgradeSlot()
    /// When the connection was last read from or written to (`NIODeadline` uptime
    /// nanoseconds), for `tcp_connection_lifetime` (`SIPStreamHandler`).
    private let lastUsedNanoseconds = Atomic<UInt64>(0)

    /// How a message read on the connection was received (made once, not per message).
    let receiveInfo: ReceiveInfo
    /// The same for messages of another protocol (`ws`, `wss` after an upgrade), made on
    /// first use; event loop only. In an object of its own whose `let` is passed on without
    /// a copy of the value (a `var`'s would be copied for every message).
    private var upgradedReceive: ReceiveInfoBox?

    private final class ReceiveInfoBox {
        let info: ReceiveInfo
        init(_ info: ReceiveInfo) { self.info = info }

        /// `reader.dispatch` with `info`, passed from here where it is not copied (read
        /// through a reference held by the caller, the 300-byte value was copied first).
        func dispatch(_ message: [UInt8], on reader: StreamReaders.LoopState, from connection: TCPConnection) {
            reader.dispatch(message, receive: info, from: connection)
        }
    }

    init(id: Int, channel: Channel, remote: SwiftletSDK.SocketAddress, socket: ListeningSocket) {
        self.id = id
        self.channel = channel
        self.remote = remote
        self.socket = socket
        receiveInfo = ReceiveInfo(
            proto: socket.proto, source: remote, local: socket.address, socket: socket, connectionID: id)
    }

    /// Runs the script on `message`, received over `proto` on this connection (on the event
    /// loop).
    func dispatch(_ message: [UInt8], proto: TransportProtocol) {
        withReader { dispatch(message, proto: proto, on: $0) }
    }

    /// Runs the script on `message`, received on this connection over its socket's protocol
    /// (on the event loop).
    func dispatch(_ message: [UInt8]) {
        withReader { $0.dispatch(message, receive: receiveInfo, from: self) }
    }

    /// `body` on the connection's reader, if set, without a retain and release of it (the
    /// loops' states live as long as the transport).
    @inline(__always)
    private func withReader(_ body: (StreamReaders.LoopState) -> Void) {
        guard let readerAddress else { return }
        Unmanaged<StreamReaders.LoopState>.fromOpaque(readerAddress)._withUnsafeGuaranteedRef(body)
    }

    private func dispatch(_ message: [UInt8], proto: TransportProtocol, on reader: StreamReaders.LoopState) {
        if proto == socket.proto {
            reader.dispatch(message, receive: receiveInfo, from: self)
            return
        }
        let box: ReceiveInfoBox
        if let b = upgradedReceive, b.info.proto == proto {
            box = b
        } else {
            box = ReceiveInfoBox(
                ReceiveInfo(proto: proto, source: remote, local: socket.address, socket: socket, connectionID: id))
            upgradedReceive = box
        }
        box.dispatch(message, on: reader, from: self)
    }

    /// Writes `bytes`; false when the connection is already closed. Thread-safe (NIO hops to
    /// the connection's event loop).
    func write(_ bytes: [UInt8]) -> Bool {
        guard channel.isActive else { return false }
        used()
        guard let codec = upgrade.codec else {
            send(bytes)
            return true
        }
        // On the loop, a codec's header goes into the output buffer with the message itself.
        if onLoop, let loopWriter, let header = codec.header(for: bytes) {
            loopWriter.send(header, bytes)
        } else {
            send(codec.encode(bytes))
        }
        return true
    }

    /// Writes `bytes` as they are and flushes: on the connection's event loop (a reply to a
    /// message the loop read) through `loopWriter`, else through the channel (NIO hops to the
    /// loop).
    func send(_ bytes: [UInt8]) {
        if onLoop, let loopWriter {
            loopWriter.send(bytes)
        } else {
            channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
        }
    }

    /// How the connection's event loop writes on it, without passing the pipeline's tail: its
    /// TLS layer, or the SIP handler's context. Set and cleared on the loop by the handlers
    /// (while the channel is active), read only on the loop (`send`).
    var loopWriter: StreamLoopWriter?
    /// The script worker of the connection's event loop (set by the SIP handler when the
    /// connection becomes active; read on the loop). Not retained: the loops' states live as
    /// long as the transport.
    unowned(unsafe) var reader: StreamReaders.LoopState? {
        didSet { readerAddress = reader.map { UnsafeRawPointer(Unmanaged.passUnretained($0).toOpaque()) } }
    }
    /// Where `reader` is (compared with the calling thread's, without reference counting).
    private var readerAddress: UnsafeRawPointer?

    /// Whether the calling thread is the connection's event loop: its reader's thread (one
    /// thread-local read), else NIO's check (the channel's loop, an existential, and its
    /// thread).
    private var onLoop: Bool {
        if let current = StreamReaders.currentAddress, let readerAddress { return current == readerAddress }
        return channel.eventLoop.inEventLoop
    }

    /// Kamailio refreshes a connection's lifetime when it receives on it and when it sends
    /// on it (`tcp_send`): the connection is used now. Any thread.
    func used() { lastUsedNanoseconds.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed) }

    /// When the connection was last used.
    var lastUsed: NIODeadline { .uptimeNanoseconds(lastUsedNanoseconds.load(ordering: .relaxed)) }
}

/// The open connections, by id and by peer address (Kamailio's connection hash), shared by
/// the event loops that add and remove them and the workers that look them up.
final class TCPConnectionTable: Sendable {
    private struct State {
        var byID: [Int: TCPConnection] = [:]
        var byRemote: [SwiftletSDK.SocketAddress: Int] = [:]
        /// Extra addresses of a connection (`add_tcp_alias()`), removed with it.
        var aliases: [Int: [SwiftletSDK.SocketAddress]] = [:]
        var nextID = 1
    }
    private let state = Mutex(State())

    var count: Int { state.withLock { $0.byID.count } }

    /// A new connection id.
    func allocateID() -> Int {
        state.withLock { s in
            defer { s.nextID += 1 }
            return s.nextID
        }
    }

    func add(_ c: TCPConnection) {
        state.withLock { s in
            s.byID[c.id] = c
            s.byRemote[c.remote] = c.id
        }
    }

    func remove(_ id: Int) {
        state.withLock { s in
            guard let c = s.byID.removeValue(forKey: id) else { return }
            if s.byRemote[c.remote] == id { s.byRemote.removeValue(forKey: c.remote) }
            for a in s.aliases.removeValue(forKey: id) ?? [] where s.byRemote[a] == id {
                s.byRemote.removeValue(forKey: a)
            }
        }
    }

    /// Kamailio's `tcpconn_add_alias`: messages for `address` (the peer's IP with another
    /// port, e.g. its Via port) use connection `id`. False when the connection is gone.
    func addAlias(id: Int, address: SwiftletSDK.SocketAddress) -> Bool {
        state.withLock { s in
            guard s.byID[id] != nil else { return false }
            s.byRemote[address] = id
            s.aliases[id, default: []].append(address)
            return true
        }
    }

    func connection(id: Int) -> TCPConnection? { state.withLock { $0.byID[id] } }

    func connection(to remote: SwiftletSDK.SocketAddress) -> TCPConnection? {
        state.withLock { s in s.byRemote[remote].flatMap { s.byID[$0] } }
    }

    var all: [TCPConnection] { state.withLock { Array($0.byID.values) } }
}

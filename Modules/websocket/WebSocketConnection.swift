import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One WebSocket connection (Kamailio's `ws_connection_t`): the codec the core hands the
/// upgraded TCP (or TLS) connection's bytes to. Frames are read on the connection's event
/// loop; SIP messages go to the connection's script worker as received over `ws` (`wss` on
/// a TLS socket); what the server sends on the connection leaves as text frames (binary
/// when not UTF-8).
final class WebSocketConnection: StreamConnectionCodec, @unchecked Sendable {
    enum State: String { case open = "OPEN", closing = "CLOSING" }

    let id: Int
    let remote: SocketAddress
    let local: ListeningSocket
    /// `sip` or `msrp`.
    let subProtocol: String
    /// Whether `subProtocol` is `sip` (looked at for every message).
    private let speaksSIP: Bool
    /// `ws`, or `wss` for a connection on a TLS socket (Kamailio's `con->rcv.proto`).
    let proto: TransportProtocol
    /// The module outlives its connections (loaded for the life of the process): no
    /// reference counting of it per frame.
    unowned(unsafe) let module: WebSocketModule
    /// Set once the upgrade is done (under `lock`).
    private var handleValue: StreamConnectionHandle?
    var handle: StreamConnectionHandle? { locked { handleValue } }

    // Event loop only.
    /// Whether `received` attached the connection's handle already.
    private var attached = false
    private var reader = WebSocketFrameReader()
    private var fragments: [UInt8]?
    private var fragmentsAreText = false

    // Any thread: the handle and awaitingPong under `lock`; the state and the last use are
    // atomics (read and written for every frame).
    private var lock = pthread_mutex_t()
    private let closing = Atomic<Bool>(false)
    private let lastUsedValue = Atomic<Int>(Int(time(nil)))
    private var awaitingPongValue = false

    init(id: Int, remote: SocketAddress, local: ListeningSocket, subProtocol: String, module: WebSocketModule) {
        self.id = id
        self.remote = remote
        self.local = local
        self.subProtocol = subProtocol
        speaksSIP = subProtocol == "sip"
        self.proto = local.proto == .tls ? .wss : .ws
        self.module = module
        pthread_mutex_init(&lock, nil)
    }

    deinit { pthread_mutex_destroy(&lock) }

    func attach(_ handle: StreamConnectionHandle) {
        locked { handleValue = handle }
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return body()
    }

    var state: State { closing.load(ordering: .acquiring) ? .closing : .open }
    var lastUsed: Int { lastUsedValue.load(ordering: .relaxed) }
    var awaitingPong: Bool { locked { awaitingPongValue } }

    /// Kamailio's `wsconn_update`: the connection was used now.
    private func touch() { lastUsedValue.store(Int(time(nil)), ordering: .relaxed) }

    /// The state becomes CLOSING (it never goes back).
    private func setClosing() { closing.store(true, ordering: .releasing) }

    // MARK: receiving

    func received(_ bytes: UnsafeRawBufferPointer, on connection: StreamConnectionHandle) {
        if !attached {
            if handle == nil { attach(connection) }
            attached = true
        }
        reader.append(bytes)
        // `bytes` is valid only during this call: what is left of it waits in the reader.
        defer { reader.endOfRead() }
        do {
            while let frame = try reader.next() {
                module.stats.receivedFrames.increment()
                touch()
                try process(frame, connection)
                if state == .closing { return }
            }
        } catch {
            Log.warning("websocket", "closing connection \(id): \(error.code) \(error.reason)")
            fail(error, connection)
        }
    }

    private func process(_ frame: WebSocketFrame, _ c: StreamConnectionHandle) throws(WebSocketFailure) {
        switch frame.opcode {
        case .text, .binary:
            if fragments != nil { throw .protocolError }  // a new message inside a fragmented one
            if frame.fin {
                try message(
                    frame.payload, text: frame.opcode == .text, c, opcode: frame.opcode, isASCII: frame.isASCII)
            } else {
                fragments = frame.payload
                fragmentsAreText = frame.opcode == .text
            }
        case .continuation:
            guard var f = fragments else { throw .protocolError }
            f += frame.payload
            if f.count > WebSocketFrameReader.maxPayload { throw .tooBig }
            if frame.fin {
                fragments = nil
                try message(f, text: fragmentsAreText, c, opcode: fragmentsAreText ? .text : .binary)
            } else {
                fragments = f
            }
        case .close:
            // Kamailio's handle_close: answer 1000 and close (the peer started it), or close
            // now when this side had sent its Close already.
            let code = frame.payload.count >= 2 ? Int(frame.payload[0]) << 8 | Int(frame.payload[1]) : 0
            Log.debug("websocket", "Rx Close: \(code) \(String(decoding: frame.payload.dropFirst(2), as: UTF8.self))")
            if state == .open {
                module.stats.remoteClosed.increment()
                c.writeRaw(WebSocketFrame.close(1000, "Normal closure"))
            }
            closeNow(c)
        case .ping:
            send(.pong, frame.payload, on: c)
        case .pong:
            locked { awaitingPongValue = false }
        }
    }

    /// A complete message: CRLF keep-alives are answered, SIP goes to the script.
    /// `isASCII`: the payload is known to be ASCII (then it needs no UTF-8 check).
    private func message(
        _ payload: [UInt8], text: Bool, _ c: StreamConnectionHandle, opcode: WebSocketOpcode, isASCII: Bool = false
    ) throws(WebSocketFailure) {
        if text && !isASCII && !payload.isValidUTF8 { throw .invalidPayload }
        if payload.isKeepAlive {
            send(opcode, [13, 10], on: c)
            return
        }
        guard speaksSIP else {
            Log.error("websocket", "no callback registered for MSRP")
            return
        }
        module.stats.sipReceivedFrames.increment()
        c.deliver(payload, proto: proto)
    }

    /// Fails the connection: a Close frame with the failure's code, then the TCP close
    /// (Kamailio sends the Close and waits for the peer's; see the README).
    private func fail(_ failure: WebSocketFailure, _ c: StreamConnectionHandle) {
        if state == .open {
            module.stats.localClosed.increment()
            c.writeRaw(WebSocketFrame.close(failure.code, failure.reason))
        }
        closeNow(c)
    }

    /// Closes the connection with `code` (ws.close, ws_close()): a Close frame, state
    /// CLOSING; the TCP connection closes when the peer answers or the keepalive gives up.
    func close(code: UInt16, reason: String) -> Bool {
        guard let c = handle else { return false }
        guard state == .open else {
            closeNow(c)
            return true
        }
        guard c.writeRaw(WebSocketFrame.close(code, reason)) else { return false }
        module.stats.localClosed.increment()
        setClosing()
        return true
    }

    /// Kamailio's `wsconn_close_now`.
    func closeNow(_ c: StreamConnectionHandle? = nil) {
        setClosing()
        (c ?? handle)?.close()
    }

    func closed(_ connection: StreamConnectionHandle) {
        setClosing()
        module.connectionClosed(self)
    }

    // MARK: sending

    /// A control or data frame; false when the connection is gone.
    @discardableResult
    func send(_ opcode: WebSocketOpcode, _ payload: [UInt8], on c: StreamConnectionHandle? = nil) -> Bool {
        guard let c = c ?? handle else { return false }
        touch()
        module.stats.transmittedFrames.increment()
        return c.writeRaw(WebSocketFrame.encode(opcode, payload))
    }

    /// Kamailio's `ping_pong`: a keepalive Ping (awaiting its Pong) or an unsolicited Pong.
    @discardableResult
    func pingPong(_ opcode: WebSocketOpcode) -> Bool {
        guard send(opcode, Array(module.pingApplicationData.utf8)) else { return false }
        if opcode == .ping { locked { awaitingPongValue = true } }
        return true
    }

    func encode(_ message: [UInt8]) -> [UInt8] {
        touch()
        module.stats.transmittedFrames.increment()
        module.stats.sipTransmittedFrames.increment()
        return WebSocketFrame.encode(message.isValidUTF8 ? .text : .binary, message)
    }

    /// What `encode` does, but only the frame's header: the core writes it and the message
    /// into the connection's buffer (no frame array per message).
    func header(for message: [UInt8]) -> StreamFrameHeader? {
        touch()
        module.stats.transmittedFrames.increment()
        module.stats.sipTransmittedFrames.increment()
        return WebSocketFrame.header(message.isValidUTF8 ? .text : .binary, count: message.count)
    }

    /// The `ws.dump` line: `3: ws:127.0.0.1:40000 -> ws:127.0.0.1:5060 (state: OPEN,  last used 2s ago, sub-protocol: sip)`
    /// (`wss:` for a connection on a TLS socket).
    func dumpLine(now: Int) -> String {
        // Kamailio's format, with its two spaces when not awaiting a Pong.
        let pong = awaitingPong ? "awaiting Pong, " : ""
        let p = proto.name
        return "\(id): \(p):\(remote.ipString):\(remote.port) -> \(p):\(local.address.ipString):\(local.address.port) "
            + "(state: \(state.rawValue), \(pong) last used \(now - lastUsed)s ago, sub-protocol: \(subProtocol))"
    }
}

extension Array where Element == UInt8 {
    /// A CRLF or CRLFCRLF keep-alive message (RFC 5626 over WebSocket).
    fileprivate var isKeepAlive: Bool {
        (count == 2 || count == 4) && self[0] == 13 && self[1] == 10 && (count == 2 || (self[2] == 13 && self[3] == 10))
    }
}

import NIOCore
import SwiftletSDK
import Synchronization

/// The codec a connection switched to (`StreamConnectionControl.upgrade`), if any: read by
/// the event loop for every received chunk and by every sender, set once by a worker.
final class ConnectionUpgradeSlot: Sendable {
    private struct State {
        var codec: StreamConnectionCodec?
        var workers: StreamReaders?
    }
    /// Fast path: false for every connection that speaks plain SIP.
    private let upgraded = Atomic<Bool>(false)
    private let state = Mutex(State())

    init() {}

    /// The codec, nil for a plain SIP connection.
    var codec: StreamConnectionCodec? {
        guard upgraded.load(ordering: .acquiring) else { return nil }
        return state.withLock { $0.codec }
    }

    var workers: StreamReaders? { state.withLock { $0.workers } }

    func set(_ codec: StreamConnectionCodec, workers: StreamReaders) {
        state.withLock {
            $0.codec = codec
            $0.workers = workers
        }
        upgraded.store(true, ordering: .releasing)
    }
}

extension TCPConnection: StreamConnectionHandle {
    @discardableResult func writeRaw(_ bytes: [UInt8]) -> Bool {
        guard channel.isActive else { return false }
        used()
        channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
        return true
    }

    func deliver(_ message: [UInt8], proto: TransportProtocol) {
        let receive = ReceiveInfo(proto: proto, source: remote, local: socket.address, socket: socket, connectionID: id)
        upgrade.workers?.dispatch(message, receive: receive, on: channel.eventLoop)
    }

    func close() { channel.close(promise: nil) }
}

extension TCPTransport {
    func upgrade(connectionID id: Int, to codec: StreamConnectionCodec, preface: [UInt8]) -> StreamConnectionHandle? {
        guard let c = table.connection(id: id), c.channel.isActive else { return nil }
        c.upgrade.set(codec, workers: workers)
        c.writeRaw(preface)
        return c
    }

    func close(connectionID id: Int, after bytes: [UInt8]?) -> Bool {
        guard let c = table.connection(id: id) else { return false }
        if let bytes, c.channel.isActive {
            c.channel.writeAndFlush(c.channel.allocator.buffer(bytes: bytes)).whenComplete { _ in c.close() }
        } else {
            c.close()
        }
        return true
    }
}

extension SocketTable: StreamConnectionControl {
    func upgrade(connectionID id: Int, to codec: StreamConnectionCodec, preface: [UInt8]) -> StreamConnectionHandle? {
        (streams as? TCPTransport)?.upgrade(connectionID: id, to: codec, preface: preface)
    }

    func close(connectionID id: Int, after bytes: [UInt8]?) -> Bool {
        (streams as? TCPTransport)?.close(connectionID: id, after: bytes) ?? false
    }
}

/// HTTP on the SIP stream listeners: what the stream handler does for a request it cannot
/// frame.
enum HTTPStreamSupport {
    /// The answer to an HTTP request larger than a message may be (Kamailio's BUF_SIZE):
    /// `413`, then the connection closes. Kamailio closes without an answer ("buffer
    /// overrun, dropping"); a client is better told why. Nil when `pending` is not HTTP.
    static func tooLargeReply(pending: [UInt8]) -> [UInt8]? {
        guard SIPMessage.startsWithHTTPRequestLine(pending.prefix(8192)) else { return nil }
        return Array(
            "HTTP/1.1 413 Request Entity Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".utf8)
    }
}

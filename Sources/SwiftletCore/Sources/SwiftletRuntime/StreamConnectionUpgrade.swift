import NIOCore
import SwiftletSDK
import Synchronization

/// The codec a connection switched to (`StreamConnectionControl.upgrade`), if any: read by
/// the event loop for every received chunk and by every sender, set once by a worker.
/// Published as a value is once: written before the releasing store of `upgraded`, read
/// only after its acquiring load (no lock per read, and never written again).
final class ConnectionUpgradeSlot: @unchecked Sendable {
    /// Fast path: false for every connection that speaks plain SIP.
    private let upgraded = Atomic<Bool>(false)
    /// Serialises `set` (a second upgrade of a connection is refused).
    private let setting = Mutex(false)
    private var codecValue: StreamConnectionCodec?

    init() {}

    /// The codec, nil for a plain SIP connection.
    var codec: StreamConnectionCodec? {
        guard upgraded.load(ordering: .acquiring) else { return nil }
        return codecValue
    }

    /// Switches the connection to `codec`; false (and nothing changes) when it was switched
    /// already.
    @discardableResult
    func set(_ codec: StreamConnectionCodec) -> Bool {
        setting.withLock { done in
            guard !done else { return false }
            done = true
            codecValue = codec
            upgraded.store(true, ordering: .releasing)
            return true
        }
    }
}

extension TCPConnection: StreamConnectionHandle {
    @discardableResult func writeRaw(_ bytes: [UInt8]) -> Bool {
        guard channel.isActive else { return false }
        used()
        send(bytes)
        return true
    }

    func deliver(_ message: [UInt8], proto: TransportProtocol) {
        dispatch(message, proto: proto)
    }

    func close() { channel.close(promise: nil) }
}

extension TCPTransport {
    func upgrade(connectionID id: Int, to codec: StreamConnectionCodec, preface: [UInt8]) -> StreamConnectionHandle? {
        guard let c = table.connection(id: id), c.channel.isActive, c.upgrade.set(codec) else {
            return nil
        }
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

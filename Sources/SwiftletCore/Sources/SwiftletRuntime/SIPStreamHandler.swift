import NIOCore
import SwiftletSDK

/// The per-connection NIO handler: frames SIP messages out of the byte stream (RFC 3261
/// section 18.3), answers RFC 5626 keep-alives, runs the script on each message (the event
/// loop is the connection's reader, see `StreamReaders`), keeps the connection table up
/// to date, and closes the connection when it was not used for `tcp_connection_lifetime`
/// (read from here, written to by `TCPConnection`: no handler of its own, which every read
/// and write would pass through). Runs on the connection's event loop.
final class SIPStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let transport: TCPTransport
    private let socket: ListeningSocket
    private var framer: StreamFramer
    private(set) var connection: TCPConnection? {
        didSet { current = connection.map { .passUnretained($0) } }
    }
    /// `connection` without a retain and release of it for each read (`connection` holds it).
    private var current: Unmanaged<TCPConnection>?
    /// Set for outgoing connections, which register themselves when connected.
    private let preassignedID: Int?
    /// After refusing an oversized HTTP request: the rest of what the peer sends is dropped.
    private var discarding = false
    /// The next `tcp_connection_lifetime` check.
    private var idleCheck: Scheduled<Void>?

    init(transport: TCPTransport, socket: ListeningSocket, connectionID: Int? = nil) {
        self.transport = transport
        self.socket = socket
        self.preassignedID = connectionID
        framer = StreamFramer()
        framer.acceptsMissingContentLength = transport.settings.acceptNoContentLength
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let peer = context.remoteAddress, let ip = peer.ipAddress, let port = peer.port,
            let remote = SwiftletSDK.SocketAddress(numericHost: ip, port: port)
        else {
            context.close(promise: nil)
            return
        }
        if preassignedID == nil, transport.table.count >= transport.settings.maxConnections {
            Log.error(
                "core",
                "maximum number of connections exceeded (\(transport.settings.maxConnections)): refusing \(remote)")
            context.close(promise: nil)
            return
        }
        let c = TCPConnection(
            id: preassignedID ?? transport.table.allocateID(), channel: context.channel, remote: remote, socket: socket)
        connection = c
        c.reader = transport.workers.state(of: context.eventLoop)
        // A TLS connection's security layer installs its own writer once its session exists;
        // until then what is sent waits there (plaintext must not reach the socket).
        if (try? context.pipeline.syncOperations.handler(type: StreamSecurityHandler.self)) == nil {
            c.loopWriter = StreamLoopWriter(context: context)
        }
        transport.table.add(c)
        c.used()
        scheduleIdleCheck(context, at: c.lastUsed + .seconds(Int64(transport.settings.lifetime)))
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        unwrapInboundIn(data).withUnsafeReadableBytes { received($0, context: context) }
    }

    /// Bytes read on the connection (plaintext, on a TLS connection: its security handler
    /// hands them here directly, without a buffer and a pass through the pipeline).
    func received(_ bytes: UnsafeRawBufferPointer, context: ChannelHandlerContext) {
        guard let current, !discarding else { return }
        current._withUnsafeGuaranteedRef { received(bytes, on: $0, context: context) }
    }

    private func received(_ bytes: UnsafeRawBufferPointer, on connection: TCPConnection, context: ChannelHandlerContext)
    {
        connection.used()
        if let codec = connection.upgrade.codec {
            codec.received(bytes, on: connection)
            return
        }
        // Messages complete in `bytes` are copied out of them directly; the rest is kept.
        framer.appendInPlace(bytes)
        defer { framer.endOfRead() }
        do {
            while let frame = try framer.next() {
                switch frame {
                case .message(let bytes):
                    connection.dispatch(bytes)
                case .ping:
                    context.writeAndFlush(
                        wrapOutboundOut(context.channel.allocator.buffer(string: "\r\n")), promise: nil)
                case .pong:
                    break
                }
            }
        } catch {
            Log.warning("core", "closing connection \(connection.id) from \(connection.remote): \(error)")
            if let reply = HTTPStreamSupport.tooLargeReply(pending: Array(framer.pendingBytes.prefix(8192))) {
                // Answer, stop sending, and drop the rest of the body until the peer closes.
                discarding = true
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: reply)), promise: nil)
                context.close(mode: .output, promise: nil)
                return
            }
            context.close(promise: nil)
        }
    }

    /// Nothing to do at the end of a read (NIO's tail handler, where the event would go next,
    /// ignores it too): the event stops here.
    func channelReadComplete(context: ChannelHandlerContext) {}

    func channelInactive(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
        if let connection {
            connection.loopWriter = nil
            transport.table.remove(connection.id)
            connection.upgrade.codec?.closed(connection)
        }
        context.fireChannelInactive()
    }

    /// `tcp_connection_lifetime`: at `deadline`, closes the connection if it was not used
    /// since `lifetime` before, else looks again `lifetime` after it was last used.
    private func scheduleIdleCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        idleCheck = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(deadline: deadline) {
            guard let connection = self.connection, context.channel.isActive else { return }
            let due = connection.lastUsed + .seconds(Int64(self.transport.settings.lifetime))
            if NIODeadline.now() < due {
                self.scheduleIdleCheck(context, at: due)
                return
            }
            self.idleCheck = nil
            Log.debug("core", "closing idle connection \(connection.id) (tcp_connection_lifetime)")
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        Log.debug("core", "connection \(connection?.id ?? 0) error: \(error)")
        context.close(promise: nil)
    }
}

import NIOCore
import SwiftletSDK

/// The per-connection NIO handler: frames SIP messages out of the byte stream (RFC 3261
/// section 18.3), answers RFC 5626 keep-alives, runs the script on each message (the event
/// loop is the connection's reader, see `StreamReaders`), and keeps the connection table up
/// to date. Runs on the connection's event loop.
final class SIPStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let transport: TCPTransport
    private let socket: ListeningSocket
    private var framer: StreamFramer
    private(set) var connection: TCPConnection?
    /// Set for outgoing connections, which register themselves when connected.
    private let preassignedID: Int?
    /// After refusing an oversized HTTP request: the rest of what the peer sends is dropped.
    private var discarding = false

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
        transport.table.add(c)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let connection, !discarding else { return }
        let buffer = unwrapInboundIn(data)
        if let codec = connection.upgrade.codec {
            buffer.withUnsafeReadableBytes { codec.received($0, on: connection) }
            return
        }
        buffer.withUnsafeReadableBytes { framer.append($0) }
        do {
            while let frame = try framer.next() {
                switch frame {
                case .message(let bytes):
                    let receive = ReceiveInfo(
                        proto: socket.proto, source: connection.remote, local: socket.address, socket: socket,
                        connectionID: connection.id)
                    transport.workers.dispatch(bytes, receive: receive, on: context.eventLoop)
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

    func channelInactive(context: ChannelHandlerContext) {
        if let connection {
            transport.table.remove(connection.id)
            connection.upgrade.codec?.closed(connection)
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            Log.debug("core", "closing idle connection \(connection?.id ?? 0) (tcp_connection_lifetime)")
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        Log.debug("core", "connection \(connection?.id ?? 0) error: \(error)")
        context.close(promise: nil)
    }
}

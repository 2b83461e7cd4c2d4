import NIOCore

/// The first handler of a stream connection's pipeline (next to NIO's head): counts the
/// writes handed to NIO that it has not finished (written to the socket or failed), so that
/// `StreamLoopWriter` writes to the socket itself only when nothing NIO holds would then be
/// sent after what is written later. Every write of the pipeline passes here (the writes of
/// the handlers behind it and those from the channel's tail); the loop writer's own socket
/// writes do not. Runs on the connection's event loop.
///
/// Being first, it also measures the loop's load for `StreamLoopBalancer`: the wall-clock time
/// of everything a read sets off behind it (TLS, framing, the script, the reply written in
/// it).
///
/// It also asks NIO for each next read: `TCPTransport` turns NIO's `autoRead` off, which after
/// each read sends a `read` from the pipeline's tail through every outbound handler (and
/// `channelReadComplete` through every inbound one) to get here; from here it goes to NIO's
/// head directly. As with `autoRead`, a read is asked for when the channel becomes active and
/// after each read's end, so the socket is read whenever it is readable.
final class StreamWriteTracker: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    /// Writes NIO holds: passed on to it and not yet completed.
    private(set) var queued = 0
    /// The load counter of the connection's loop (nil: not measured).
    private let load: StreamLoopBalancer.Load?

    init(load: StreamLoopBalancer.Load? = nil) { self.load = load }

    /// The first read (NIO's `autoRead` is off), once the handlers behind know the channel.
    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        context.read()
    }

    /// The end of a read: the next one is asked for (the handlers behind ignore the event,
    /// as NIO's tail does, so it stops here).
    func channelReadComplete(context: ChannelHandlerContext) { context.read() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let load else { return context.fireChannelRead(data) }
        let start = UDPReceiverPool.now()
        context.fireChannelRead(data)
        load.add(UDPReceiverPool.now() - start)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        queued += 1
        let done = promise ?? context.eventLoop.makePromise(of: Void.self)
        // NIO completes a write's promise on the loop once its bytes are on the socket (or
        // when the channel closes with the write still held).
        done.futureResult.whenComplete { _ in self.queued -= 1 }
        context.write(data, promise: done)
    }
}

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
final class StreamWriteTracker: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    /// Writes NIO holds: passed on to it and not yet completed.
    private(set) var queued = 0
    /// The load counter of the connection's loop (nil: not measured).
    private let load: StreamLoopBalancer.Load?

    init(load: StreamLoopBalancer.Load? = nil) { self.load = load }

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

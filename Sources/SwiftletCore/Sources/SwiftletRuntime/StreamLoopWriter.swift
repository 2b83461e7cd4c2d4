import NIOCore
import SwiftletSDK

/// Writes a connection's outgoing bytes on its event loop, where the loop's own replies are
/// written: from the innermost handler's context instead of the pipeline's tail (no hop
/// through `Channel.writeAndFlush`), into an output buffer kept for the next message (NIO
/// drops its reference once the bytes are on the socket, so the same storage is written
/// again instead of a new allocation per message; when NIO still holds it, writing to it
/// copies it first). Used only on the connection's event loop (`TCPConnection.send`).
class StreamLoopWriter {
    let context: ChannelHandlerContext
    /// The buffer of the last write, reused by the next.
    private var spare: ByteBuffer?

    init(context: ChannelHandlerContext) { self.context = context }

    /// Writes and flushes `bytes`, a message the server sends on the connection.
    func send(_ bytes: [UInt8]) { write(bytes, flush: true, promise: nil) }

    /// Writes and flushes a codec's `header` followed by `bytes` (one message).
    func send(_ header: StreamFrameHeader, _ bytes: [UInt8]) {
        var buffer = reusedBuffer(capacity: header.count + bytes.count)
        header.withUnsafeBytes { _ = buffer.writeBytes($0) }
        buffer.writeBytes(bytes)
        emit(buffer, flush: true, promise: nil)
    }

    /// Writes `bytes` from the context as they are (then flushes when `flush`).
    final func write(_ bytes: [UInt8], flush: Bool, promise: EventLoopPromise<Void>?) {
        var buffer = reusedBuffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        emit(buffer, flush: flush, promise: promise)
    }

    /// The kept output buffer, emptied (a new one the first time).
    private func reusedBuffer(capacity: Int) -> ByteBuffer {
        var buffer = spare ?? context.channel.allocator.buffer(capacity: max(capacity, 1024))
        spare = nil
        buffer.clear()
        return buffer
    }

    private func emit(_ buffer: ByteBuffer, flush: Bool, promise: EventLoopPromise<Void>?) {
        if flush {
            context.writeAndFlush(NIOAny(buffer), promise: promise)
        } else {
            context.write(NIOAny(buffer), promise: promise)
        }
        spare = buffer
    }
}

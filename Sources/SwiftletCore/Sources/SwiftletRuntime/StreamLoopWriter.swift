import NIOCore
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a connection's outgoing bytes on its event loop, where the loop's own replies are
/// written. A message that is sent at once (`send`, `write` with `flush`) goes to the socket
/// with one `write(2)` of the writer's own, without NIO's pipeline, pending-write queue and
/// flush, when NIO holds no earlier write of the connection (`StreamWriteTracker`) and the
/// channel is active (NIO closes the socket only on the loop, after which the channel is
/// inactive). What the socket does not take at once (a full send buffer, an error) goes to
/// NIO as before, which queues it or reports the error and closes. Otherwise, and for writes
/// that wait for a flush, the bytes are written from the innermost handler's context instead
/// of the pipeline's tail, into an output buffer kept for the next message (NIO drops its
/// reference once the bytes are on the socket, so the same storage is written again instead
/// of a new allocation per message). Used only on the connection's event loop
/// (`TCPConnection.send`).
class StreamLoopWriter {
    let context: ChannelHandlerContext
    /// The buffer of the last write through NIO, reused by the next.
    private var spare: ByteBuffer?
    /// The connection's socket, -1 when the channel does not expose it (every write then
    /// goes through NIO).
    private let fd: CInt
    /// The count of writes NIO holds (nil with `fd` -1). Separate properties, read in place:
    /// an optional tuple of them would be copied, with a retain of each object, per write.
    private let tracker: StreamWriteTracker?
    private let channel: Channel

    init(context: ChannelHandlerContext) {
        self.context = context
        channel = context.channel
        let ops = context.pipeline.syncOperations
        if let tracker = try? ops.handler(type: StreamWriteTracker.self),
            let fd = try? ops.withUnsafeTransportIfAvailable(of: NIOBSDSocket.Handle.self, { $0 }), fd >= 0
        {
            self.fd = fd
            self.tracker = tracker
        } else {
            fd = -1
            tracker = nil
        }
    }

    /// Writes and flushes `bytes`, a message the server sends on the connection.
    func send(_ bytes: [UInt8]) { write(bytes, flush: true, promise: nil) }

    /// Writes and flushes a codec's `header` followed by `bytes` (one message): both with
    /// one `writev(2)` when the socket takes them at once (no copy joining them), else what
    /// is left of them through NIO.
    func send(_ header: StreamFrameHeader, _ bytes: [UInt8]) {
        var written = 0
        if fd >= 0 {
            header.withUnsafeBytes { head in
                written = bytes.withUnsafeBytes { body in writeToSocket(head, body) }
            }
            if written == header.count + bytes.count { return }
        }
        var buffer = reusedBuffer(capacity: header.count + bytes.count - written)
        header.withUnsafeBytes { head in
            if written < head.count { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: head[written...])) }
        }
        let bodyStart = max(written - header.count, 0)
        bytes.withUnsafeBytes { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[bodyStart...])) }
        emit(buffer, flush: true, promise: nil)
    }

    /// Writes `bytes` from the context as they are (then flushes when `flush`).
    final func write(_ bytes: [UInt8], flush: Bool, promise: EventLoopPromise<Void>?) {
        var written = 0
        if flush, promise == nil {
            written = bytes.withUnsafeBytes { writeToSocket($0) }
            if written == bytes.count { return }
        }
        var buffer = reusedBuffer(capacity: bytes.count - written)
        bytes.withUnsafeBytes { _ = buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[written...])) }
        emit(buffer, flush: flush, promise: promise)
    }

    /// Writes as much of `bytes` to the socket as it takes now, when nothing is waiting in
    /// NIO; returns how many bytes were written (the rest is for NIO).
    private func writeToSocket(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard fd >= 0, tracker?.queued == 0, channel.isActive, let base = bytes.baseAddress else { return 0 }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, base + done, bytes.count - done)
            if n > 0 {
                done += n
            } else if n < 0, errno == EINTR {
                continue
            } else {
                // EAGAIN (the send buffer is full) or an error: NIO writes the rest, waiting
                // for the socket, or fails and closes the channel as it would have.
                break
            }
        }
        return done
    }

    /// `writeToSocket` for `head` followed by `body`: `writev(2)` while some of `head` is left,
    /// then `write(2)`; how many bytes of the two were written.
    private func writeToSocket(_ head: UnsafeRawBufferPointer, _ body: UnsafeRawBufferPointer) -> Int {
        guard fd >= 0, tracker?.queued == 0, channel.isActive, let h = head.baseAddress, !head.isEmpty else {
            return 0
        }
        var done = 0
        while done < head.count {
            var parts = (
                iovec(iov_base: UnsafeMutableRawPointer(mutating: h + done), iov_len: head.count - done),
                iovec(iov_base: UnsafeMutableRawPointer(mutating: body.baseAddress), iov_len: body.count)
            )
            let n = withUnsafePointer(to: &parts) {
                $0.withMemoryRebound(to: iovec.self, capacity: 2) { Glibc.writev(fd, $0, body.isEmpty ? 1 : 2) }
            }
            if n > 0 {
                done += n
            } else if n < 0, errno == EINTR {
                continue
            } else {
                return done
            }
        }
        let rest = done - head.count
        if rest < body.count { done += writeToSocket(UnsafeRawBufferPointer(rebasing: body[rest...])) }
        return done
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

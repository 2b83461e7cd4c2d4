import NIOCore
import SwiftletSDK

/// Puts a module's `StreamSecuritySession` (TLS) between the socket and the SIP stream
/// handler of a `tls:` connection: ciphertext in, plaintext up the pipeline; plaintext
/// written by the server, ciphertext out. A session that fails (a plain-text client, an
/// untrusted certificate) closes only its own connection.
final class StreamSecurityHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let provider: any StreamSecurityProvider
    private let role: StreamSecurityRole
    private let socket: ListeningSocket
    private var session: (any StreamSecuritySession)?
    /// Plaintext written before the session exists.
    private var early: [UInt8] = []
    private var failed = false
    // Reused for every chunk (no allocation per message while nothing else holds them).
    private var plaintext: [UInt8] = []
    private var output: [UInt8] = []
    /// Ciphertext of what the server sends.
    private var sendOutput: [UInt8] = []
    /// The plaintext handed up the pipeline (the stream handler copies what it keeps).
    private var inbound: ByteBuffer?
    /// Writes the ciphertext (reusing its buffer); while the session exists, also the
    /// connection's `loopWriter`, so that a message the loop sends is encrypted here directly.
    private var writer: Writer?
    /// The connection whose `loopWriter` this handler is.
    private var connection: TCPConnection?

    init(provider: any StreamSecurityProvider, role: StreamSecurityRole, socket: ListeningSocket) {
        self.provider = provider
        self.role = role
        self.socket = socket
    }

    func channelActive(context: ChannelHandlerContext) {
        // The SIP handler behind registers the connection (and may refuse it) first.
        context.fireChannelActive()
        guard context.channel.isActive,
            let connection = try? context.pipeline.syncOperations.handler(type: SIPStreamHandler.self).connection,
            let remote = context.remoteAddress.flatMap(Self.address),
            let local = context.localAddress.flatMap(Self.address)
        else { return }
        let endpoint = StreamSecurityEndpoint(
            connectionID: connection.id, role: role, socket: socket.listen, local: local, remote: remote)
        do {
            let s = try provider.makeSession(for: endpoint)
            session = s
            let w = Writer(context: context, handler: self)
            writer = w
            self.connection = connection
            connection.loopWriter = w
            var first = try s.start()
            if !early.isEmpty {
                try early.withUnsafeBytes { try s.send($0, output: &first) }
                early = []
            }
            write(first, context: context)
        } catch {
            fail(context: context, error)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let session, !failed else { return }
        let buffer = unwrapInboundIn(data)
        plaintext.removeAll(keepingCapacity: true)
        output.removeAll(keepingCapacity: true)
        do {
            let open = try buffer.withUnsafeReadableBytes {
                try session.receive($0, plaintext: &plaintext, output: &output)
            }
            write(output, context: context)
            if !plaintext.isEmpty {
                var up = inbound ?? context.channel.allocator.buffer(capacity: plaintext.count)
                inbound = nil
                up.clear()
                up.writeBytes(plaintext)
                context.fireChannelRead(wrapInboundOut(up))
                inbound = up
            }
            if !open { context.close(promise: nil) }
        } catch {
            write(output, context: context)
            fail(context: context, error)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        guard let session else {
            early.append(contentsOf: buffer.readableBytesView)
            promise?.succeed(())
            return
        }
        sendOutput.removeAll(keepingCapacity: true)
        do {
            try buffer.withUnsafeReadableBytes { try session.send($0, output: &sendOutput) }
            if let writer {
                writer.write(sendOutput, flush: false, promise: promise)
            } else {
                context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: sendOutput)), promise: promise)
            }
        } catch {
            promise?.fail(error)
            fail(context: context, error)
        }
    }

    /// A message the connection's event loop sends (`TCPConnection.send` through `writer`):
    /// encrypted and written as `write` then `flush` would, without a plaintext buffer or the
    /// pipeline in between.
    fileprivate func send(_ plaintext: [UInt8], context: ChannelHandlerContext, writer: Writer) {
        guard let session else { return }
        sendOutput.removeAll(keepingCapacity: true)
        do {
            try plaintext.withUnsafeBytes { try session.send($0, output: &sendOutput) }
            writer.write(sendOutput, flush: true, promise: nil)
        } catch {
            fail(context: context, error)
        }
    }

    /// The connection's loop writer while the session exists: encrypts, then writes from
    /// this handler's context.
    fileprivate final class Writer: StreamLoopWriter {
        private unowned let handler: StreamSecurityHandler

        init(context: ChannelHandlerContext, handler: StreamSecurityHandler) {
            self.handler = handler
            super.init(context: context)
        }

        override func send(_ bytes: [UInt8]) { handler.send(bytes, context: context, writer: self) }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if let session, !failed, mode == .all {
            let last = session.shutdown()
            if !last.isEmpty { write(last, context: context) }
        }
        context.close(mode: mode, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        session?.closed()
        session = nil
        dropWriter()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { dropWriter() }

    /// Ends the loop writer (it holds the context, which holds this handler).
    private func dropWriter() {
        if let connection, connection.loopWriter === writer { connection.loopWriter = nil }
        connection = nil
        writer = nil
    }

    private func write(_ bytes: [UInt8], context: ChannelHandlerContext) {
        guard !bytes.isEmpty else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        failed = true
        let peer = context.remoteAddress.flatMap(Self.address).map { "\($0)" } ?? "?"
        Log.error("core", "TLS connection \(role == .server ? "from" : "to") \(peer) closed: \(error)")
        context.close(promise: nil)
    }

    private static func address(_ a: NIOCore.SocketAddress) -> SwiftletSDK.SocketAddress? {
        guard let ip = a.ipAddress, let port = a.port else { return nil }
        return SwiftletSDK.SocketAddress(numericHost: ip, port: port)
    }
}

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
    /// A codec's header and a message joined (WebSocket over TLS).
    private var joined: [UInt8] = []
    /// The SIP stream handler right behind this one (the transport's pipelines hold only
    /// the two) and its context: plaintext goes to it directly, without a buffer and a pass
    /// through the pipeline. Set while the session exists. Not counted references (no
    /// retain and release of each per read): the pipeline holds both for as long as they
    /// are set (`dropWriter` clears them when the channel goes inactive or this handler is
    /// removed).
    private var sipHandler: Unmanaged<SIPStreamHandler>?
    private var sipContext: Unmanaged<ChannelHandlerContext>?
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
            let sipContext = try? context.pipeline.syncOperations.context(handlerType: SIPStreamHandler.self),
            let sipHandler = sipContext.handler as? SIPStreamHandler,
            let connection = sipHandler.connection,
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
            self.sipHandler = .passUnretained(sipHandler)
            self.sipContext = .passUnretained(sipContext)
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
            if !plaintext.isEmpty, let sipHandler, let sipContext {
                sipHandler._withUnsafeGuaranteedRef { handler in
                    sipContext._withUnsafeGuaranteedRef { sipContext in
                        plaintext.withUnsafeBytes { handler.received($0, context: sipContext) }
                    }
                }
            } else if !plaintext.isEmpty {
                context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: plaintext)))
            }
            if !open { context.close(promise: nil) }
        } catch {
            write(output, context: context)
            fail(context: context, error)
        }
    }

    /// The SIP handler behind ignores the end of a read (plaintext reaches it directly), as
    /// NIO's tail handler does: the event stops here.
    func channelReadComplete(context: ChannelHandlerContext) {}

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

    /// A codec's header and a message (`Writer.send(_:_:)`), joined in a reused buffer and
    /// sent as `send` sends one message.
    fileprivate func send(_ header: StreamFrameHeader, _ bytes: [UInt8], context: ChannelHandlerContext, writer: Writer)
    {
        joined.removeAll(keepingCapacity: true)
        header.withUnsafeBytes { joined.append(contentsOf: $0) }
        joined.append(contentsOf: bytes)
        send(joined, context: context, writer: writer)
    }

    /// The connection's loop writer while the session exists: encrypts, then writes from
    /// this handler's context.
    fileprivate final class Writer: StreamLoopWriter {
        /// The handler owns the writer and ends it (`dropWriter`) before it goes.
        private unowned(unsafe) let handler: StreamSecurityHandler

        init(context: ChannelHandlerContext, handler: StreamSecurityHandler) {
            self.handler = handler
            super.init(context: context)
        }

        override func send(_ bytes: [UInt8]) { handler.send(bytes, context: context, writer: self) }

        /// The header and the message as one plaintext (one TLS record, as the encoded
        /// message would be).
        override func send(_ header: StreamFrameHeader, _ bytes: [UInt8]) {
            handler.send(header, bytes, context: context, writer: self)
        }
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

    /// Ends the loop writer (it holds the context, which holds this handler) and the direct
    /// path to the SIP handler.
    private func dropWriter() {
        if let connection, connection.loopWriter === writer { connection.loopWriter = nil }
        connection = nil
        writer = nil
        sipHandler = nil
        sipContext = nil
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

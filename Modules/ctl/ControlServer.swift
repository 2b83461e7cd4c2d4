import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// An open stream connection to a ctl socket (Kamailio's `stream_connection`).
final class StreamConnection {
    let fd: Int32
    let listener: ControlListener
    /// The client's address and port (TCP only).
    let peer: (host: String, port: Int)?
    var buffer: [UInt8] = []
    var lastActivity = time(nil)

    init(fd: Int32, listener: ControlListener, peer: (host: String, port: Int)?) {
        self.fd = fd
        self.listener = listener
        self.peer = peer
    }
}

/// The ctl handler (Kamailio's `io_listen_loop` in its "ctl handler" process): one thread
/// that polls the ctl sockets, accepts stream connections (several requests each, closed
/// after 120 s without traffic, as `IO_STREAM_CONN_TIMEOUT`) and answers datagrams to
/// their sender.
final class ControlServer: @unchecked Sendable {
    static let streamBufferSize = 65535
    static let idleTimeout = 120

    let listeners: [ControlListener]
    let handler: BinRPCRequestHandler
    /// The open stream connections; read and written by the serving thread only.
    private(set) var connections: [StreamConnection] = []
    private var stopped = false
    private var thread = pthread_t()
    private var started = false

    init(listeners: [ControlListener], handler: BinRPCRequestHandler) {
        self.listeners = listeners
        self.handler = handler
    }

    /// Whether the caller runs on the serving thread (ctl's own RPCs answer only there,
    /// as Kamailio's answer only in the ctl process).
    var isServingThread: Bool { started && pthread_equal(pthread_self(), thread) != 0 }

    func start() {
        started = true
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(
            &thread, nil,
            { raw in
                let server = Unmanaged<ControlServer>.fromOpaque(raw!).takeRetainedValue()
                server.serve()
                return nil
            }, box)
    }

    func stop() {
        stopped = true
        if started { pthread_join(thread, nil) }
        for c in connections { close(c.fd) }
        connections = []
        for l in listeners { l.close() }
    }

    private func serve() {
        var datagram = [UInt8](repeating: 0, count: Self.streamBufferSize)
        while !stopped {
            var fds =
                listeners.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
                + connections.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), 500) > 0 else {
                expireIdle()
                continue
            }
            // Connections first, so that one a client closed is gone before the next request.
            for (i, c) in connections.enumerated().reversed() where fds[listeners.count + i].revents != 0 { read(c) }
            for (i, listener) in listeners.enumerated() where fds[i].revents != 0 {
                if listener.address.transport.isStream {
                    accept(on: listener)
                } else {
                    answerDatagram(on: listener, buffer: &datagram)
                }
            }
            expireIdle()
        }
    }

    private func accept(on listener: ControlListener) {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(listener.fd, $0, &len) }
        }
        guard fd >= 0 else { return }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let peer = listener.address.transport == .tcp ? Self.hostAndPort(&storage, len) : nil
        connections.append(StreamConnection(fd: fd, listener: listener, peer: peer))
    }

    private func read(_ c: StreamConnection) {
        let room = Self.streamBufferSize - c.buffer.count
        guard room > 0 else {
            Log.error("ctl", "handle_stream_read: buffer overrun")
            return drop(c)
        }
        var chunk = [UInt8](repeating: 0, count: room)
        let n = Glibc.read(c.fd, &chunk, room)
        if n < 0, errno == EAGAIN || errno == EINTR { return }
        guard n > 0 else { return drop(c) }
        c.buffer += chunk[0..<n]
        c.lastActivity = time(nil)
        while !c.buffer.isEmpty {
            switch handler.handle(c.buffer[...]) {
            case .needMore: return
            case .answered(let consumed, let reply):
                c.buffer.removeFirst(consumed)
                Self.sendAll(c.fd, reply)
            case .failed(let reply):
                Self.sendAll(c.fd, reply)
                return drop(c)
            }
        }
    }

    private func drop(_ c: StreamConnection) {
        close(c.fd)
        connections.removeAll { $0 === c }
    }

    private func expireIdle() {
        let now = time(nil)
        for c in connections where now - c.lastActivity > Self.idleTimeout { drop(c) }
    }

    private func answerDatagram(on listener: ControlListener, buffer: inout [UInt8]) {
        var from = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let n = buffer.withUnsafeMutableBytes { buf in
            withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(listener.fd, buf.baseAddress, buf.count, 0, $0, &len)
                }
            }
        }
        guard n > 0 else { return }
        let reply: [UInt8]
        switch handler.handle(buffer[0..<n]) {
        case .needMore: return
        case .answered(_, let r), .failed(let r): reply = r
        }
        let sent = reply.withUnsafeBytes { buf in
            withUnsafePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(listener.fd, buf.baseAddress, buf.count, 0, $0, len)
                }
            }
        }
        if sent < 0 { Log.error("ctl", "rpc_send: send failed: \(ControlListener.lastError)") }
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                Log.error("ctl", "rpc_send: send failed: \(ControlListener.lastError)")
                return
            }
            offset += n
        }
    }

    /// The numeric host and port of an IPv4 or IPv6 address.
    static func hostAndPort(_ storage: inout sockaddr_storage, _ len: socklen_t) -> (host: String, port: Int) {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        _ = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo(
                    $0, len, &host, socklen_t(host.count), &service, socklen_t(service.count),
                    NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        return (String(cString: host), Int(String(cString: service)) ?? 0)
    }

    /// The local address and port a listener is bound to.
    static func localAddress(of fd: Int32) -> (host: String, port: Int) {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return hostAndPort(&storage, len)
    }
}

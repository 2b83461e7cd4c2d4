import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP client connected to 127.0.0.1 (or ::1) for stream transport tests.
final class TCPClient {
    let fd: Int32
    private var pending: [UInt8] = []

    /// `receiveBuffer`: the socket's SO_RCVBUF, set before connecting (a small one keeps
    /// the server's socket full while the client does not read).
    init(port: Int, ipv6: Bool = false, receiveBuffer: Int32? = nil) throws {
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let rc: Int32
        if ipv6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = UInt16(port).bigEndian
            inet_pton(AF_INET6, "::1", &a.sin6_addr)
            rc = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = UInt16(port).bigEndian
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            rc = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard rc == 0 else {
            close(fd)
            throw TestFailure("cannot connect to port \(port): \(String(cString: strerror(errno)))")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Wraps a connection accepted by a `TCPAcceptor`.
    init(accepted fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// The local port of the connection.
    var localPort: Int {
        var a = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return withUnsafeBytes(of: a) { Int(UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self))) }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Reads until one complete SIP message (headers + Content-Length body) is buffered.
    func receiveMessage(timeout: Double = 2) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let m = takeMessage() { return m }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(left * 1000)) == 1 else { return nil }
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &buf, buf.count, 0)
            guard n > 0 else { return nil }
            pending += buf[0..<n]
        }
    }

    /// True when the server closed the connection within `timeout`.
    func isClosedByPeer(timeout: Double = 2) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return false }
        var buf = [UInt8](repeating: 0, count: 4096)
        return recv(fd, &buf, buf.count, 0) == 0
    }

    private func takeMessage() -> String? {
        let text = String(decoding: pending, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return nil }
        let head = String(text[..<end.lowerBound])
        var length = 0
        for line in head.components(separatedBy: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2,
                ["content-length", "l"].contains(parts[0].lowercased().trimmingCharacters(in: .whitespaces))
            {
                length = Int(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
        }
        let headBytes = head.utf8.count + 4
        guard pending.count >= headBytes + length else { return nil }
        let message = String(decoding: pending[0..<headBytes + length], as: UTF8.self)
        pending.removeFirst(headBytes + length)
        return message
    }
}

/// A TCP listener on 127.0.0.1 that accepts one connection (a UAS for forwarding tests).
final class TCPAcceptor {
    let fd: Int32
    let port: Int

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                _ = bind(fd, sp, len)
                _ = getsockname(fd, sp, &len)
            }
        }
        listen(fd, 8)
        port = Int(UInt16(bigEndian: a.sin_port))
    }

    deinit { close(fd) }

    /// The next accepted connection's descriptor, or nil after `timeout`.
    func accept(timeout: Double = 2) -> Int32? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return nil }
        let c = Glibc.accept(fd, nil, nil)
        return c >= 0 ? c : nil
    }
}

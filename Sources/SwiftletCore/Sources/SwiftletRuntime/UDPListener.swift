import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// A bound UDP socket. Its worker threads all block in `recvfrom` on it, as Kamailio's
/// UDP children do (DESIGN.md section 3; measured in reference/udp-floor.md).
final class UDPListener {
    let address: ListenAddress
    let fd: Int32
    let localIP: String
    let localPort: Int
    /// This listener as forwarding sees it.
    let socket: ListeningSocket

    /// Receive buffer requested for every UDP socket: a few MB absorb bursts.
    static let receiveBufferBytes: Int32 = 4 * 1024 * 1024

    init(_ address: ListenAddress, index: Int) throws(RuntimeError) {
        self.address = address
        let sa = try SocketAddress(host: address.address, port: address.port)
        let fd = Glibc.socket(sa.family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw RuntimeError("cannot create a socket for \(address): \(RuntimeError.errnoText())") }
        var one: Int32 = 1
        if sa.family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var rcvbuf = UDPListener.receiveBufferBytes
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, socklen_t(MemoryLayout<Int32>.size))
        // Workers wake up at least twice a second to notice shutdown.
        var timeout = timeval(tv_sec: 0, tv_usec: 500_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let rc = sa.withSockaddr { bind(fd, $0, $1) }
        guard rc == 0 else {
            let reason = RuntimeError.errnoText()
            close(fd)
            throw RuntimeError("cannot bind \(address): \(reason)")
        }
        self.fd = fd
        self.localIP = sa.ipString
        self.localPort = address.port
        self.socket = ListeningSocket(index: index, listen: address, address: sa, fd: fd)
    }

    deinit { close(fd) }
}

extension RuntimeError {
    static func errnoText() -> String { String(cString: strerror(errno)) }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// A listening TCP socket (`listen=tcp:…`, `tls:…`) and the thread that accepts its
/// connections, as Kamailio's tcp_main process does: each accepted socket is handed to
/// `onAccept`, which places it on one of the reader loops (`StreamLoopBalancer`). SwiftNIO's
/// own server channel would pick the loop itself, in turn.
final class StreamAcceptor: @unchecked Sendable {
    let listen: ListenAddress
    let fd: Int32
    private var thread: pthread_t?
    private let stopped = StopFlag()

    /// Pending connections the kernel keeps for the accepting thread.
    static let backlog: Int32 = 1024

    /// Creates, binds and starts listening on the socket of `socket`.
    init(_ socket: ListeningSocket) throws(RuntimeError) {
        listen = socket.listen
        let sa = socket.address
        let fd = Glibc.socket(sa.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RuntimeError("cannot create a socket for \(listen): \(RuntimeError.errnoText())") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if sa.family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        guard sa.withSockaddr({ bind(fd, $0, $1) }) == 0, Glibc.listen(fd, Self.backlog) == 0 else {
            let reason = RuntimeError.errnoText()
            close(fd)
            throw RuntimeError("cannot bind \(listen): \(reason)")
        }
        self.fd = fd
    }

    /// False once `stop` closed the socket.
    private var isOpen = true

    deinit { if isOpen { close(fd) } }

    /// Starts the accepting thread; `onAccept` gets each connected socket (non-blocking,
    /// close-on-exec) and owns it.
    func start(onAccept: @escaping @Sendable (Int32) -> Void) {
        let fd = fd
        let stopped = stopped
        let listen = listen
        thread = startThread {
            ProcessTable.nameCurrentThread("swiftlet-accept")
            var lastComplaint: Int64 = 0
            while !stopped.isSet {
                let client = accept(fd, nil, nil)
                if client >= 0 {
                    // (Glibc's module has no accept4.)
                    _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                    _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
                    onAccept(client)
                    continue
                }
                let error = errno
                if stopped.isSet { break }
                switch error {
                case EINTR, ECONNABORTED, EPROTO, EPERM, EAGAIN:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors or memory: say so once a second, and let the backlog
                    // wait rather than spin.
                    let now = UDPReceiverPool.now()
                    if now - lastComplaint >= 1_000_000_000 {
                        lastComplaint = now
                        Log.error("core", "cannot accept on \(listen): \(String(cString: strerror(error)))")
                    }
                    usleep(10_000)
                default:
                    Log.error("core", "accepting on \(listen) stopped: \(String(cString: strerror(error)))")
                    return
                }
            }
        }
    }

    /// Stops accepting: wakes the thread out of `accept`, waits for it and closes the socket.
    func stop() {
        guard isOpen else { return }
        stopped.set()
        if let thread {
            shutdown(fd, Int32(SHUT_RDWR))
            pthread_join(thread, nil)
            self.thread = nil
        }
        isOpen = false
        close(fd)
    }
}

import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One UDP worker thread: receives a datagram, runs the script on it, repeats. Replies
/// generated while the script runs go out on the same socket (it is the `ReplySender`).
final class UDPWorker: ReplySender {
    let listener: UDPListener
    let rank: Int
    let dispatcher: MessageDispatcher
    private let stop: StopFlag
    private var source = SocketAddress()

    init(listener: UDPListener, rank: Int, dispatcher: MessageDispatcher, stop: StopFlag) {
        self.listener = listener
        self.rank = rank
        self.dispatcher = dispatcher
        self.stop = stop
    }

    /// The receive loop; returns when the server stops.
    func run() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let fd = listener.fd
        let receive = ReceiveInfo(
            proto: .udp, sourceIP: "", sourcePort: 0, localIP: listener.localIP, localPort: listener.localPort,
            socket: listener.socket)
        var drainDeadline: timespec? = nil
        while true {
            // After the stop request the socket is drained without blocking: datagrams that
            // arrived before it are still handled (bounded by drainSeconds under load).
            if stop.isSet, drainDeadline == nil { drainDeadline = UDPWorker.monotonicNow(plus: UDPWorker.drainSeconds) }
            if let d = drainDeadline, UDPWorker.monotonicNow(plus: 0).tv_sec >= d.tv_sec { break }
            let flags = drainDeadline == nil ? Int32(0) : Int32(MSG_DONTWAIT)
            var addr = SocketAddress()
            addr.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = buffer.withUnsafeMutableBytes { buf in
                withUnsafeMutablePointer(to: &addr.storage) { sp in
                    sp.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, buf.baseAddress, buf.count, flags, $0, &addr.length)
                    }
                }
            }
            if n <= 0 {
                let e = errno
                if drainDeadline != nil, n < 0, e == EAGAIN || e == EWOULDBLOCK { break }
                if n < 0, e != EAGAIN, e != EWOULDBLOCK, e != EINTR, !stop.isSet {
                    Log.error("core", "recvfrom on \(listener.address) failed: \(RuntimeError.errnoText())")
                }
                continue
            }
            source = addr
            var info = receive
            info.sourceIP = addr.ipString
            info.sourcePort = addr.port
            dispatcher.handle(Array(buffer[0..<n]), receive: info, sender: self)
        }
    }

    /// Longest time spent draining a socket after the stop request.
    static let drainSeconds = 2

    static func monotonicNow(plus seconds: Int) -> timespec {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        t.tv_sec += seconds
        return t
    }

    func sendToSource(_ bytes: [UInt8], port: Int) -> Bool {
        var destination = source
        destination.port = port
        let sent = bytes.withUnsafeBytes { buf in
            destination.withSockaddr { sendto(listener.fd, buf.baseAddress, buf.count, 0, $0, $1) }
        }
        if sent < 0 {
            Log.error("core", "sendto \(destination.ipString):\(port) failed: \(RuntimeError.errnoText())")
            return false
        }
        return true
    }
}

/// A process-wide "stop now" flag, set by the signal-handling thread and read by workers.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

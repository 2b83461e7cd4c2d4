import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One UDP worker thread: receives a datagram, runs the script on it, repeats. Everything
/// it sends goes through the core's send path.
final class UDPWorker {
    let listener: UDPListener
    let rank: Int
    let dispatcher: MessageDispatcher
    /// The listener's workers, and this worker's place among them (0 always receives).
    let pool: UDPReceiverPool
    let index: Int
    private let stop: StopFlag

    init(
        listener: UDPListener, rank: Int, dispatcher: MessageDispatcher, pool: UDPReceiverPool, index: Int,
        stop: StopFlag
    ) {
        self.listener = listener
        self.rank = rank
        self.dispatcher = dispatcher
        self.pool = pool
        self.index = index
        self.stop = stop
    }

    /// The receive loop; returns when the server stops.
    func run() {
        MallocArena.reserve(bytes: UDPWorker.arenaReserveBytes)
        var buffer = [UInt8](repeating: 0, count: 65536)
        let fd = listener.fd
        // One ReceiveInfo for the worker's life: each datagram's source is received straight
        // into it (the handler copies what it keeps), no copy of the whole struct per datagram.
        var info = ReceiveInfo(
            proto: .udp, source: SocketAddress(), local: listener.socket.address, socket: listener.socket)
        var drainDeadline: timespec? = nil
        while true {
            // After the stop request the socket is drained without blocking: datagrams that
            // arrived before it are still handled (bounded by drainSeconds under load).
            if stop.isSet, drainDeadline == nil { drainDeadline = UDPWorker.monotonicNow(plus: UDPWorker.drainSeconds) }
            if let d = drainDeadline, UDPWorker.monotonicNow(plus: 0).tv_sec >= d.tv_sec { break }
            // A standby worker waits until the load needs it (see `UDPReceiverPool`).
            if drainDeadline == nil, pool.adaptive, !pool.shouldReceive(index) {
                pool.waitUntilReceiving(index, stop: stop)
                continue
            }
            let flags = drainDeadline == nil ? Int32(0) : Int32(MSG_DONTWAIT)
            let n = buffer.withUnsafeMutableBytes { buf in
                info.source.receive { sa, length in recvfrom(fd, buf.baseAddress, buf.count, flags, sa, &length) }
            }
            if n <= 0 {
                let e = errno
                if drainDeadline != nil, n < 0, e == EAGAIN || e == EWOULDBLOCK { break }
                if n < 0, e != EAGAIN, e != EWOULDBLOCK, e != EINTR, !stop.isSet {
                    Log.error("core", "recvfrom on \(listener.address) failed: \(RuntimeError.errnoText())")
                }
                continue
            }
            // Copied from the buffer's memory, not through a slice of it (which retains the buffer).
            let received = buffer.withUnsafeBufferPointer { Array(UnsafeBufferPointer(rebasing: $0[0..<n])) }
            if pool.adaptive {
                let start = pool.started(index)
                dispatcher.handle(received, receive: info)
                pool.finished(index, startedAt: start)
            } else {
                dispatcher.handle(received, receive: info)
            }
        }
    }

    /// The malloc arena grown for each worker before it receives (see `MallocArena`): most
    /// of the arena's first 64 MB heap (its header and glibc's bookkeeping take the rest;
    /// more would start a second heap, which glibc unmaps again when the blocks are freed).
    static let arenaReserveBytes = 56 * 1024 * 1024

    /// Longest time spent draining a socket after the stop request.
    static let drainSeconds = 2

    static func monotonicNow(plus seconds: Int) -> timespec {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        t.tv_sec += seconds
        return t
    }
}

/// A process-wide "stop now" flag, set by the signal-handling thread and read by workers.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

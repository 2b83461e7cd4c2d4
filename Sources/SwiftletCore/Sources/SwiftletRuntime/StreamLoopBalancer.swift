import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Which of the `tcp_children` event loops takes a new connection (`tcp_standby_workers`).
///
/// SwiftNIO hands accepted connections to its loops in turn, so with two loops consecutive
/// messages of a few busy connections wake both threads, each on whichever CPU is free, with
/// caches gone cold since its last message (the cost the UDP standby workers avoid). Here a
/// new connection goes to the first loop that is less than `busyLimit` busy: at a moderate
/// load every connection lives on loop 0, and the next loops take connections only when the
/// ones before them are busy. A connection keeps its loop for its lifetime (as in NIO).
///
/// - Load: each loop adds the wall-clock time it spends in the inbound work of its
///   connections (reading, TLS, framing, the script, the reply) to its own `Load` counter
///   (`StreamWriteTracker`); the balancer turns the counters into busy fractions at most
///   every `window`, when it picks a loop.
/// - Bursts: a connection placed on a loop counts as `newConnectionCost` of busy time until
///   the next measurement, so that a burst of new connections (each with a TLS handshake)
///   spreads over the loops before their cost shows in the counters.
///
/// With `tcp_standby_workers=0` (or one loop) the loops take new connections in turn.
final class StreamLoopBalancer: @unchecked Sendable {
    /// One loop's busy time, written by that loop only.
    final class Load: @unchecked Sendable {
        /// Total ns the loop spent in inbound work of its connections.
        let busyTotal = Atomic<Int64>(0)
        private let padding: (Int64, Int64, Int64, Int64, Int64, Int64, Int64) = (0, 0, 0, 0, 0, 0, 0)

        /// Adds `nanos` of work (called on the loop).
        @inline(__always)
        func add(_ nanos: Int64) {
            busyTotal.store(busyTotal.load(ordering: .relaxed) &+ nanos, ordering: .relaxed)
        }
    }

    let loops: [EventLoop]
    let loads: [Load]
    /// False: new connections go to the loops in turn.
    let packing: Bool

    static let window: Int64 = 20_000_000
    static let busyLimit = 0.5
    static let newConnectionCost: Int64 = 1_000_000

    private struct Sample {
        var time: Int64 = 0
        var busy: [Int64]
        /// Busy fraction of each loop in the last window, plus the cost of the connections
        /// placed since.
        var fraction: [Double]
        var turn = 0
    }
    private let state: Mutex<Sample>

    init(loops: [EventLoop], packing: Bool) {
        self.loops = loops
        self.loads = loops.map { _ in Load() }
        self.packing = packing && loops.count > 1
        state = Mutex(
            Sample(busy: Array(repeating: 0, count: loops.count), fraction: Array(repeating: 0, count: loops.count)))
    }

    /// The loop that takes the next connection, and its index.
    func next() -> (index: Int, loop: EventLoop) {
        let index = state.withLock { s -> Int in
            guard packing else {
                s.turn = (s.turn + 1) % loops.count
                return s.turn
            }
            let now = UDPReceiverPool.now()
            let elapsed = now - s.time
            if elapsed >= Self.window {
                for i in loads.indices {
                    let busy = loads[i].busyTotal.load(ordering: .relaxed)
                    s.fraction[i] = s.time == 0 ? 0 : Double(busy - s.busy[i]) / Double(elapsed)
                    s.busy[i] = busy
                }
                s.time = now
            }
            var chosen = 0
            if let free = s.fraction.firstIndex(where: { $0 < Self.busyLimit }) {
                chosen = free
            } else {
                for i in s.fraction.indices where s.fraction[i] < s.fraction[chosen] { chosen = i }
            }
            s.fraction[chosen] += Double(Self.newConnectionCost) / Double(Self.window)
            return chosen
        }
        return (index, loops[index])
    }

    /// The load counter of `loop`, nil for a loop that is not one of the readers.
    func load(of loop: EventLoop) -> Load? {
        guard let i = loops.firstIndex(where: { $0 === loop }) else { return nil }
        return loads[i]
    }
}

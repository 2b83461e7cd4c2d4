import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How the worker threads of one UDP listener share its datagrams (`udp_standby_workers`).
///
/// All `children` threads exist from start-up, as Kamailio's UDP children do. Kamailio's
/// children all block in `recvfrom` on the socket, and the kernel wakes the one that has
/// waited longest, so at a few thousand datagrams per second every datagram wakes a thread
/// whose caches went cold since its last one, often on the other CPU. Here, worker 0 always
/// receives; the others are standby workers: they wait on a condition variable until the
/// load needs them, then receive from the socket like worker 0, and go back to waiting when
/// the load falls again.
///
/// - Load: each worker adds the wall-clock time it spends handling datagrams to its own
///   slot; worker 0 sums the slots every `window` and sets the number of receiving workers
///   to what keeps each at most `raiseUtilization` busy (it lowers it only below
///   `lowerUtilization`, so the count does not flap).
/// - Stalls: a datagram whose handling blocks (a slow database or HTTP server) must not hold
///   up the others for long. The timer thread checks every tick (1/16 s, a wake-up it makes
///   anyway): when every receiving worker has been inside one datagram for longer than
///   `stallNanos`, all workers are set receiving. A datagram queued behind a stuck worker
///   waits at most `stallNanos` plus a tick before a standby takes it.
///
/// With `udp_standby_workers=no`, or one child, every worker receives all the time.
final class UDPReceiverPool: @unchecked Sendable {
    /// One worker's counters, on a cache line of its own (written by that worker only).
    final class Slot: @unchecked Sendable {
        /// When the worker started handling its current datagram (ns, monotonic); 0: waiting.
        let busySince = Atomic<Int64>(0)
        /// Total ns the worker spent handling datagrams.
        let busyTotal = Atomic<Int64>(0)
        private let padding: (Int64, Int64, Int64, Int64, Int64, Int64) = (0, 0, 0, 0, 0, 0)
    }

    /// Workers in the pool (`children`).
    let size: Int
    /// False: every worker receives all the time (no standby).
    let adaptive: Bool
    let slots: [Slot]
    /// How many workers receive now (1...size): workers 0..<receiving.
    private let receiving: Atomic<Int>
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let wakeUp: UnsafeMutablePointer<pthread_cond_t>

    // Worker 0's bookkeeping of the load window (touched by worker 0 only).
    private var windowStart: Int64 = 0
    private var windowBusyBase: Int64 = 0

    static let window: Int64 = 20_000_000
    static let raiseUtilization = 0.5
    static let lowerUtilization = 0.35
    static let stallNanos: Int64 = 40_000_000
    /// How long a waiting standby sleeps before it checks `stop`.
    static let idleWait: Int64 = 500_000_000

    init(size: Int, adaptive: Bool) {
        self.size = max(1, size)
        self.adaptive = adaptive && size > 1
        self.slots = (0..<max(1, size)).map { _ in Slot() }
        self.receiving = Atomic(self.adaptive ? 1 : max(1, size))
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        wakeUp = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(wakeUp, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(wakeUp)
        pthread_mutex_destroy(lock)
        wakeUp.deallocate()
        lock.deallocate()
    }

    /// How many workers receive now.
    var receivingCount: Int { receiving.load(ordering: .relaxed) }

    /// Whether worker `index` should receive now.
    @inline(__always)
    func shouldReceive(_ index: Int) -> Bool { index < receiving.load(ordering: .relaxed) }

    /// Marks worker `index` as handling a datagram; returns the start time to pass to `finished`.
    @inline(__always)
    func started(_ index: Int) -> Int64 {
        let now = UDPReceiverPool.now()
        slots[index].busySince.store(now, ordering: .relaxed)
        return now
    }

    /// Marks worker `index` as waiting again; worker 0 also re-evaluates the load.
    @inline(__always)
    func finished(_ index: Int, startedAt start: Int64) {
        let now = UDPReceiverPool.now()
        let slot = slots[index]
        slot.busySince.store(0, ordering: .relaxed)
        slot.busyTotal.store(slot.busyTotal.load(ordering: .relaxed) &+ (now - start), ordering: .relaxed)
        if index == 0, now - windowStart >= UDPReceiverPool.window { evaluateLoad(now: now) }
    }

    /// Worker 0, once per window: sets the receiving count from the time all workers spent
    /// handling datagrams since the last window.
    private func evaluateLoad(now: Int64) {
        var busy: Int64 = 0
        for s in slots { busy &+= s.busyTotal.load(ordering: .relaxed) }
        let elapsed = now - windowStart
        let load = windowStart == 0 ? 0 : Double(busy - windowBusyBase) / Double(max(1, elapsed))
        windowStart = now
        windowBusyBase = busy
        let current = receiving.load(ordering: .relaxed)
        let raised = Int((load / UDPReceiverPool.raiseUtilization).rounded(.up))
        if raised > current {
            setReceiving(min(size, raised))
            return
        }
        let lowered = max(1, Int((load / UDPReceiverPool.lowerUtilization).rounded(.up)))
        if lowered < current { setReceiving(lowered) }
    }

    private func setReceiving(_ count: Int) {
        pthread_mutex_lock(lock)
        let before = receiving.exchange(count, ordering: .relaxed)
        if count > before { pthread_cond_broadcast(wakeUp) }
        pthread_mutex_unlock(lock)
    }

    /// Standby worker `index` waits until it should receive or `stop` is set.
    func waitUntilReceiving(_ index: Int, stop: StopFlag) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        while !stop.isSet, index >= receiving.load(ordering: .relaxed) {
            var deadline = timespec()
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            let ns = Int64(deadline.tv_nsec) + UDPReceiverPool.idleWait
            deadline.tv_sec += Int(ns / 1_000_000_000)
            deadline.tv_nsec = Int(ns % 1_000_000_000)
            pthread_cond_timedwait(wakeUp, lock, &deadline)
        }
    }

    /// The timer thread, every tick: when every receiving worker is stuck in one datagram,
    /// every worker receives (the load evaluation lowers the count again later).
    func checkForStall() {
        guard adaptive else { return }
        let count = receiving.load(ordering: .relaxed)
        if count < size, allReceivingStalled(count: count) { setReceiving(size) }
    }

    /// Whether each of workers 0..<count has been handling one datagram for over `stallNanos`.
    private func allReceivingStalled(count: Int) -> Bool {
        let now = UDPReceiverPool.now()
        for i in 0..<count {
            let since = slots[i].busySince.load(ordering: .relaxed)
            if since == 0 || now - since < UDPReceiverPool.stallNanos { return false }
        }
        return true
    }

    /// Wakes every waiting standby (at stop).
    func wakeAll() {
        pthread_mutex_lock(lock)
        pthread_cond_broadcast(wakeUp)
        pthread_mutex_unlock(lock)
    }

    @inline(__always)
    static func now() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) &* 1_000_000_000 &+ Int64(t.tv_nsec)
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// The timer thread and its wheel (Kamailio's timer process): ticks at 1/16 s on the
/// monotonic clock and runs the callbacks of expired timers one after the other, outside
/// the lock, so a callback may add or cancel timers. Timers added before `start` count from
/// the start. `Timers` is the interface modules use; tests create their own service.
final class TimerService: TimerScheduling, @unchecked Sendable {
    static let shared = TimerService()
    static let ticksPerSecond: UInt64 = 16
    static let nanosecondsPerTick: UInt64 = 1_000_000_000 / ticksPerSecond

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var wheel = TimingWheel()
    private var thread: pthread_t?
    /// The thread running callbacks (set by that thread itself).
    private var runner: pthread_t?
    private var stopping = false
    private var startNanoseconds: UInt64 = 0
    /// Handles of target timers given back with `recycle`, for the next `schedule(…target:…)`
    /// (at most `spareLimit`; guarded by the lock).
    private var spare: [TimerHandle] = []
    private static let spareLimit = 1024

    init() {
        // Adaptive (glibc's PTHREAD_MUTEX_ADAPTIVE_NP): every worker arms and stops timers
        // under this lock, a few times per message, and holds it for a moment only; spinning
        // briefly on a busy lock instead of sleeping at once spares both sides a futex call
        // and the waiter a context switch when the timer thread holds it.
        var mutexAttributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&mutexAttributes)
        pthread_mutexattr_settype(&mutexAttributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &mutexAttributes)
        pthread_mutexattr_destroy(&mutexAttributes)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        wheel.removeAll()
        spare.removeAll()
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    @inline(__always) private func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func ticks(milliseconds: Int) -> UInt64 {
        max(1, (UInt64(max(0, milliseconds)) * ticksPerSecond + 999) / 1000)
    }

    /// The last tick processed (0 until the thread runs).
    var currentTick: UInt64 { locked { wheel.tick } }

    /// Number of timers waiting in the wheel.
    var pendingCount: Int { locked { wheel.count } }

    /// Registers a timer that first runs `delay` ticks from now.
    @discardableResult
    func add(
        name: String, delay: UInt64, interval: UInt64, handler: @escaping () -> TimerNext
    ) -> TimerHandle {
        let timer = TimerHandle(name: name, interval: interval, service: self, handler: handler)
        locked { wheel.add(timer, expire: wheel.tick + max(1, delay)) }
        return timer
    }

    func isPending(_ timer: TimerHandle) -> Bool { locked { timer.state == .pending || timer.state == .due } }

    func cancel(_ timer: TimerHandle, wait: Bool) -> Bool {
        locked {
            switch timer.state {
            case .pending:
                wheel.remove(timer)
                timer.state = .done
                return true
            case .due:
                timer.state = .done
                return true
            case .running:
                timer.cancelRequested = true
                if !wait { return false }
                if let t = runner, pthread_equal(t, pthread_self()) != 0 { return false }
                while timer.state == .running { pthread_cond_wait(condition, mutex) }
                return false
            case .idle, .done:
                return false
            }
        }
    }

    var ticks: UInt64 { currentTick }

    /// `TimerHandle.restart`: `timer` again `ticks` from now, unless it is due or running.
    func restart(_ timer: TimerHandle, ticks: UInt64, name: String, event: Int) -> Bool {
        locked {
            switch timer.state {
            case .pending: wheel.remove(timer)
            case .idle, .done: break
            case .due, .running: return false
            }
            timer.name = name
            timer.event = event
            timer.interval = ticks
            timer.cancelRequested = false
            wheel.add(timer, expire: wheel.tick + ticks)
            return true
        }
    }

    func schedule(afterMilliseconds milliseconds: Int, name: String, _ handler: @escaping () -> TimerNext)
        -> TimerHandle
    {
        let ticks = Self.ticks(milliseconds: milliseconds)
        return add(name: name, delay: ticks, interval: ticks, handler: handler)
    }

    /// Calls `target.timerFired(event)` `milliseconds` ms from now, then as it answers.
    func schedule(afterMilliseconds milliseconds: Int, name: String, target: any TimerTarget, event: Int)
        -> TimerHandle
    {
        let ticks = Self.ticks(milliseconds: milliseconds)
        pthread_mutex_lock(mutex)
        if let timer = spare.popLast() {
            // A recycled handle: set as a new one would be, and added in the same locked section.
            timer.name = name
            timer.interval = ticks
            timer.target = target
            timer.event = event
            timer.cancelRequested = false
            timer.state = .idle
            wheel.add(timer, expire: wheel.tick + ticks)
            pthread_mutex_unlock(mutex)
            return timer
        }
        pthread_mutex_unlock(mutex)
        let timer = TimerHandle(name: name, interval: ticks, service: self, target: target, event: event)
        locked { wheel.add(timer, expire: wheel.tick + ticks) }
        return timer
    }

    /// `TimerScheduling.recycle`: stops the timer and keeps its handle for a later
    /// `schedule(…target:…)` when `handle` was its last reference and it is a target's timer
    /// that is not running or about to run (then nothing else can reach it: the wheel holds
    /// no reference to a stopped timer, and a running one's caller would).
    func recycle(_ handle: inout TimerHandle?) {
        guard handle != nil else { return }
        // One locked section stops the timer and keeps its handle, read in place in `handle`
        // (no reference taken). The target (a transaction) is moved out under the lock and
        // let go of after it, as is the handle when it is not kept: either may free timers
        // of its own.
        var target: (any TimerTarget)?
        pthread_mutex_lock(mutex)
        var stopped = true
        switch handle!.state {
        case .pending:
            wheel.remove(handle!)
            handle!.state = .done
        case .due:
            handle!.state = .done
            stopped = false
        case .running:
            handle!.cancelRequested = true
            stopped = false
        case .idle, .done:
            break
        }
        if stopped, handle!.handler == nil, spare.count < Self.spareLimit, isKnownUniquelyReferenced(&handle) {
            swap(&target, &handle!.target)
            if spare.capacity == 0 { spare.reserveCapacity(64) }
            spare.append(handle.take()!)
        }
        pthread_mutex_unlock(mutex)
        let notKept = handle.take()
        withExtendedLifetime(notKept) {}
        withExtendedLifetime(target) {}
    }

    /// Processes `count` ticks at once on the calling thread, running every timer that
    /// falls due in order (a `VirtualClock`; the service must not have a thread).
    func advanceManually(ticks count: UInt64) {
        pthread_mutex_lock(mutex)
        precondition(thread == nil, "a virtual clock has no timer thread")
        runner = pthread_self()
        let target = wheel.tick + count
        while wheel.tick < target { fireDue(wheel.advance(), now: wheel.tick) }
        runner = nil
        pthread_mutex_unlock(mutex)
    }

    /// Starts the timer thread. `prepare` runs first on that thread (module `child_init`);
    /// when it returns false the thread ends without running timers.
    func start(prepare: @escaping () -> Bool) {
        locked {
            precondition(thread == nil, "the timer thread runs already")
            stopping = false
            startNanoseconds = Self.monotonicNanoseconds() - wheel.tick * Self.nanosecondsPerTick
        }
        let box = Unmanaged.passRetained(TimerThreadBody(service: self, prepare: prepare)).toOpaque()
        var t = pthread_t()
        pthread_create(
            &t, nil,
            { raw in
                let body = Unmanaged<TimerThreadBody>.fromOpaque(raw!).takeRetainedValue()
                if body.prepare() { body.service.run() }
                return nil
            }, box)
        locked { thread = t }
    }

    /// Stops the thread after the callback running now (if any) and waits for it. Timers
    /// stay registered but do not run any more.
    func stop() {
        let t: pthread_t? = locked {
            stopping = true
            pthread_cond_broadcast(condition)
            return thread
        }
        guard let t else { return }
        pthread_join(t, nil)
        locked { thread = nil }
    }

    /// The thread's loop: process every tick up to now, then sleep until the next one.
    private func run() {
        pthread_mutex_lock(mutex)
        runner = pthread_self()
        while !stopping {
            let now = (Self.monotonicNanoseconds() - startNanoseconds) / Self.nanosecondsPerTick
            while wheel.tick < now, !stopping { fireDue(wheel.advance(), now: now) }
            if stopping { break }
            var deadline = timespec()
            let at = startNanoseconds + (wheel.tick + 1) * Self.nanosecondsPerTick
            deadline.tv_sec = Int(at / 1_000_000_000)
            deadline.tv_nsec = Int(at % 1_000_000_000)
            pthread_cond_timedwait(condition, mutex, &deadline)
        }
        runner = nil
        pthread_mutex_unlock(mutex)
    }

    /// Runs the timers of one tick (`TimingWheel.advance`), in order, and lets go of the
    /// wheel's reference each carried (lock held).
    private func fireDue(_ first: Unmanaged<TimerHandle>?, now: UInt64) {
        var due = first
        while let u = due {
            u._withUnsafeGuaranteedRef { timer in
                due = timer.nextDue
                timer.nextDue = nil
                fire(timer, now: now)
            }
            u.release()
        }
    }

    /// Runs one due timer (called and returning with the lock held; unlocked meanwhile).
    private func fire(_ timer: TimerHandle, now: UInt64) {
        guard timer.state == .due else { return }  // cancelled after it was collected
        timer.state = .running
        pthread_mutex_unlock(mutex)
        let next = timer.run()
        pthread_mutex_lock(mutex)
        let delay: UInt64? =
            switch next {
            case .stop: nil
            case .again: timer.interval
            case .after(let ms): Self.ticks(milliseconds: ms)
            }
        if let delay, !timer.cancelRequested {
            wheel.add(timer, expire: max(now, wheel.tick) + delay)
        } else {
            timer.state = .done
        }
        pthread_cond_broadcast(condition)
    }
}

private final class TimerThreadBody {
    let service: TimerService
    let prepare: () -> Bool
    init(service: TimerService, prepare: @escaping () -> Bool) {
        self.service = service
        self.prepare = prepare
    }
}

/// What a timer callback wants next (Kamailio's `timer_ln` handler return value).
public enum TimerNext: Equatable, Sendable {
    /// Do not run again.
    case stop
    /// Run again after the timer's interval.
    case again
    /// Run again after this many milliseconds (rounded up to ticks, at least one tick).
    case after(milliseconds: Int)
}

/// An object a timer calls (`TimerScheduling.schedule(afterMilliseconds:name:target:event:)`)
/// instead of a closure: a module with many short-lived timers (tm's retransmission and
/// final-response timers) then allocates no closure context per timer.
public protocol TimerTarget: AnyObject {
    /// The timer registered with `event` expired; answers as a timer closure does.
    func timerFired(_ event: Int) -> TimerNext
}

/// A registered timer: keep it to cancel the timer. Created by `Timers`.
public final class TimerHandle: @unchecked Sendable {
    enum State { case idle, pending, due, running, done }

    /// The name given at registration (for log lines); `restart` may change it (guarded by
    /// the service's lock, like `event` and `interval`).
    public internal(set) var name: String
    /// What runs: the closure, else `target` with `event`.
    let handler: (() -> TimerNext)?
    /// Variable only for a recycled handle (`TimerService.recycle`), guarded by the lock.
    var target: (any TimerTarget)?
    var event: Int
    /// The interval in ticks used by `.again`.
    var interval: UInt64
    /// Unretained: a service outlives its handles (the process's, or a `VirtualClock` a
    /// test keeps while it uses them); a counted `unowned` reference cost an atomic increment
    /// and decrement on every `cancel`, `stop` and `restart`.
    private let serviceReference: Unmanaged<TimerService>
    // Guarded by the service's lock.
    var state = State.idle
    var cancelRequested = false
    var expire: UInt64 = 0
    /// The wheel's list links: the wheel holds one reference to each timer in it (taken in
    /// `add`, given back in `remove`), so the links count none (no retain and release for
    /// each link changed).
    /// `Unmanaged`: following a link retains and releases nothing either.
    var next: Unmanaged<TimerHandle>?
    var previous: Unmanaged<TimerHandle>?
    /// The next timer due at the same tick (`TimingWheel.advance`), which carries the
    /// wheel's reference meanwhile; apart from `next` so that a due timer stopped and armed
    /// again by another thread leaves the list intact.
    var nextDue: Unmanaged<TimerHandle>?

    init(name: String, interval: UInt64, service: TimerService, handler: @escaping () -> TimerNext) {
        self.name = name
        self.interval = interval
        self.serviceReference = Unmanaged.passUnretained(service)
        self.handler = handler
        self.target = nil
        self.event = 0
    }

    init(name: String, interval: UInt64, service: TimerService, target: any TimerTarget, event: Int) {
        self.name = name
        self.interval = interval
        self.serviceReference = Unmanaged.passUnretained(service)
        self.handler = nil
        self.target = target
        self.event = event
    }

    /// The service it runs on.
    @inline(__always) func withService<R>(_ body: (TimerService) -> R) -> R {
        serviceReference._withUnsafeGuaranteedRef(body)
    }

    /// Runs the timer's callback.
    @inline(__always) func run() -> TimerNext {
        if let handler { return handler() }
        return target!.timerFired(event)
    }

    /// Stops the timer (Kamailio's `timer_del`). Returns true when the timer was waiting and
    /// will now never run. Returns false when it had already run for the last time, was
    /// cancelled before, or is running right now: then it is not re-armed, and unless the
    /// call comes from the callback itself, `cancel` returns only after the callback ended.
    @discardableResult
    public func cancel() -> Bool { withService { $0.cancel(self, wait: true) } }

    /// Stops the timer as `cancel()` does, but never waits for a callback running right now
    /// (it runs to its end and is not re-armed). For a caller holding a lock that the
    /// callback takes: the callback, once it has the lock, sees what the caller changed.
    @discardableResult
    public func stop() -> Bool { withService { $0.cancel(self, wait: false) } }

    /// True while the timer waits to run (again).
    public var isPending: Bool { withService { $0.isPending(self) } }

    /// Arms the timer again, `milliseconds` ms from now (rounded up to ticks, at least one),
    /// under `name` and, for a target's timer, with `event`: as `stop()` followed by a new
    /// `schedule` with the same target, without allocating another handle. Only a timer that
    /// is waiting, done or never ran can be moved; false (nothing changed) when it is about
    /// to run or running now, and the caller then stops it and schedules a new one.
    @discardableResult
    public func restart(afterMilliseconds milliseconds: Int, name: String, event: Int) -> Bool {
        withService {
            $0.restart(self, ticks: TimerService.ticks(milliseconds: milliseconds), name: name, event: event)
        }
    }
}

/// A hashed timing wheel: `slotCount` lists of timers indexed by expiry tick modulo the
/// slot count. Adding and removing are O(1); each tick looks at one slot, whose timers
/// either expire now or a whole number of revolutions later. Not thread-safe: the
/// `TimerService` lock guards it.
struct TimingWheel {
    static let slotCount = 1024
    /// The head of each slot's list (unretained: see `TimerHandle.next`).
    private var slots = [Unmanaged<TimerHandle>?](repeating: nil, count: slotCount)
    /// The last tick processed.
    private(set) var tick: UInt64 = 0
    /// Number of timers in the wheel.
    private(set) var count = 0

    /// Adds `timer` to expire at tick `expire` (after the current tick).
    mutating func add(_ timer: TimerHandle, expire: UInt64) {
        let e = max(expire, tick + 1)
        let i = Int(e % UInt64(Self.slotCount))
        timer.expire = e
        timer.previous = nil
        let head = slots[i]
        timer.next = head
        let u = Unmanaged.passRetained(timer)
        head?._withUnsafeGuaranteedRef { $0.previous = u }
        slots[i] = u
        timer.state = .pending
        count += 1
    }

    /// Takes a pending `timer` out of the wheel (the caller holds a reference to it).
    mutating func remove(_ timer: TimerHandle) {
        unlink(timer)
        Unmanaged.passUnretained(timer).release()
    }

    /// Takes a pending `timer` out of its slot's list, keeping the wheel's reference for the
    /// caller.
    private mutating func unlink(_ timer: TimerHandle) {
        let next = timer.next
        let previous = timer.previous
        if let previous {
            previous._withUnsafeGuaranteedRef { $0.next = next }
        } else {
            slots[Int(timer.expire % UInt64(Self.slotCount))] = next
        }
        next?._withUnsafeGuaranteedRef { $0.previous = previous }
        timer.next = nil
        timer.previous = nil
        count -= 1
    }

    /// Lets go of every timer still waiting (the service is going away).
    mutating func removeAll() {
        for i in slots.indices {
            while let u = slots[i] { remove(u.takeUnretainedValue()) }
        }
    }

    /// Moves to the next tick and returns the first of the timers that expire at it, marked
    /// `due` and linked by `TimerHandle.nextDue` in the slot's order. Each carries the
    /// reference the wheel held: the caller releases it once the timer ran (no array, no
    /// retain and release per timer).
    mutating func advance() -> Unmanaged<TimerHandle>? {
        tick += 1
        var first: Unmanaged<TimerHandle>?
        var last: Unmanaged<TimerHandle>?
        var t = slots[Int(tick % UInt64(Self.slotCount))]
        while let u = t {
            t = u._withUnsafeGuaranteedRef { timer in
                let next = timer.next
                if timer.expire <= tick {
                    unlink(timer)
                    timer.state = .due
                    timer.nextDue = nil
                    if let last { last._withUnsafeGuaranteedRef { $0.nextDue = u } } else { first = u }
                    last = u
                }
                return next
            }
        }
        return first
    }
}

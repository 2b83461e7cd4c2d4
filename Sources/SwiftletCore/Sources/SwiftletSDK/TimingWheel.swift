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
    let target: (any TimerTarget)?
    var event: Int
    /// The interval in ticks used by `.again`.
    var interval: UInt64
    unowned let service: TimerService
    // Guarded by the service's lock.
    var state = State.idle
    var cancelRequested = false
    var expire: UInt64 = 0
    /// The wheel's list links: the wheel holds one reference to each timer in it (taken in
    /// `add`, given back in `remove`), so the links count none (no retain and release for
    /// each link changed).
    unowned(unsafe) var next: TimerHandle?
    unowned(unsafe) var previous: TimerHandle?

    init(name: String, interval: UInt64, service: TimerService, handler: @escaping () -> TimerNext) {
        self.name = name
        self.interval = interval
        self.service = service
        self.handler = handler
        self.target = nil
        self.event = 0
    }

    init(name: String, interval: UInt64, service: TimerService, target: any TimerTarget, event: Int) {
        self.name = name
        self.interval = interval
        self.service = service
        self.handler = nil
        self.target = target
        self.event = event
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
    public func cancel() -> Bool { service.cancel(self, wait: true) }

    /// Stops the timer as `cancel()` does, but never waits for a callback running right now
    /// (it runs to its end and is not re-armed). For a caller holding a lock that the
    /// callback takes: the callback, once it has the lock, sees what the caller changed.
    @discardableResult
    public func stop() -> Bool { service.cancel(self, wait: false) }

    /// True while the timer waits to run (again).
    public var isPending: Bool { service.isPending(self) }

    /// Arms the timer again, `milliseconds` ms from now (rounded up to ticks, at least one),
    /// under `name` and, for a target's timer, with `event`: as `stop()` followed by a new
    /// `schedule` with the same target, without allocating another handle. Only a timer that
    /// is waiting, done or never ran can be moved; false (nothing changed) when it is about
    /// to run or running now, and the caller then stops it and schedules a new one.
    @discardableResult
    public func restart(afterMilliseconds milliseconds: Int, name: String, event: Int) -> Bool {
        service.restart(self, ticks: TimerService.ticks(milliseconds: milliseconds), name: name, event: event)
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
        let head = slots[i]?.takeUnretainedValue()
        timer.next = head
        head?.previous = timer
        slots[i] = Unmanaged.passRetained(timer)
        timer.state = .pending
        count += 1
    }

    /// Takes a pending `timer` out of the wheel (the caller holds a reference to it).
    mutating func remove(_ timer: TimerHandle) {
        let next = timer.next
        if let p = timer.previous {
            p.next = next
        } else {
            slots[Int(timer.expire % UInt64(Self.slotCount))] = next.map { Unmanaged.passUnretained($0) }
        }
        next?.previous = timer.previous
        timer.next = nil
        timer.previous = nil
        count -= 1
        Unmanaged.passUnretained(timer).release()
    }

    /// Lets go of every timer still waiting (the service is going away).
    mutating func removeAll() {
        for i in slots.indices {
            while let timer = slots[i]?.takeUnretainedValue() { remove(timer) }
        }
    }

    /// Moves to the next tick and returns the timers that expire at it, marked `due`.
    mutating func advance() -> [TimerHandle] {
        tick += 1
        var expired: [TimerHandle] = []
        var t = slots[Int(tick % UInt64(Self.slotCount))]?.takeUnretainedValue()
        while let timer = t {
            t = timer.next
            if timer.expire <= tick {
                // Into the list (which holds it) before the wheel lets go of it.
                expired.append(timer)
                remove(timer)
                timer.state = .due
            }
        }
        return expired
    }
}

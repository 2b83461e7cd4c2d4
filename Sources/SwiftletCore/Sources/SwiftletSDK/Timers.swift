/// Timers for modules (Kamailio's `register_timer`, `sr_wtimer_add` and `timer_add`/
/// `timer_del`). One timer thread runs every callback, one at a time, at a resolution of
/// 1/16 s (Kamailio's tick): millisecond intervals are rounded up to whole ticks.
///
/// Register periodic timers in `mod_init` (`initialize`); the thread starts after every
/// `child_init` (it runs `child_init(-1)`, Kamailio's `PROC_TIMER`, first) and stops at
/// shutdown before `mod_destroy`. One-shot timers may be added and cancelled at any time from
/// any thread (a transaction's retransmission and final-response timers):
///
/// ```swift
/// e.initialize = { _ in
///     Timers.every(seconds: 60, name: "usrloc") { self.expireContacts() }
/// }
/// let fr = Timers.after(milliseconds: 30_000, name: "fr") { self.timeout(t) }
/// fr.cancel()   // the final reply arrived
/// ```
///
/// Callbacks should not block for long: the other timers wait for them.
public enum Timers {
    /// The process timer thread's scheduler (what `CoreContext.timers` is in a server).
    public static var service: any TimerScheduling { TimerService.shared }

    /// Kamailio's `TIMER_TICKS_HZ`.
    public static let ticksPerSecond = 16

    /// Ticks since the timer thread started (Kamailio's `get_ticks_raw`).
    public static var ticks: UInt64 { TimerService.shared.currentTick }

    /// Calls `body` every `seconds` seconds (Kamailio's `register_timer`/`sr_wtimer_add`);
    /// the first call comes `seconds` after the timer thread started (or after now, once it
    /// runs).
    @discardableResult
    public static func every(seconds: Int, name: String = "timer", _ body: @escaping () -> Void) -> TimerHandle {
        every(ticks: UInt64(max(1, seconds)) * TimerService.ticksPerSecond, name: name, body)
    }

    /// Calls `body` every `milliseconds` ms (rounded up to 1/16 s ticks; Kamailio's utimers).
    @discardableResult
    public static func every(milliseconds: Int, name: String = "timer", _ body: @escaping () -> Void) -> TimerHandle {
        every(ticks: TimerService.ticks(milliseconds: milliseconds), name: name, body)
    }

    private static func every(ticks: UInt64, name: String, _ body: @escaping () -> Void) -> TimerHandle {
        TimerService.shared.add(name: name, delay: ticks, interval: ticks) {
            body()
            return .again
        }
    }

    /// Calls `body` once, `milliseconds` ms from now (rounded up to ticks, at least one).
    @discardableResult
    public static func after(milliseconds: Int, name: String = "timer", _ body: @escaping () -> Void) -> TimerHandle {
        schedule(afterMilliseconds: milliseconds, name: name) {
            body()
            return .stop
        }
    }

    /// Calls `body` once, `seconds` s from now.
    @discardableResult
    public static func after(seconds: Int, name: String = "timer", _ body: @escaping () -> Void) -> TimerHandle {
        after(milliseconds: seconds * 1000, name: name, body)
    }

    /// Calls `handler` `milliseconds` ms from now, then as it answers: `.stop`, `.again`
    /// (after the same delay) or `.after(milliseconds:)` (a new delay, e.g. doubling
    /// retransmission intervals). Kamailio's `timer_init` + `timer_add`.
    @discardableResult
    public static func schedule(
        afterMilliseconds milliseconds: Int, name: String = "timer", _ handler: @escaping () -> TimerNext
    ) -> TimerHandle {
        let ticks = TimerService.ticks(milliseconds: milliseconds)
        return TimerService.shared.add(name: name, delay: ticks, interval: ticks, handler: handler)
    }

    /// Starts the timer thread; `prepare` runs first on it (the runtime passes module
    /// `child_init(PROC_TIMER)`). For the runtime, not for modules.
    public static func start(prepare: @escaping () -> Bool) { TimerService.shared.start(prepare: prepare) }

    /// Stops the timer thread (waits for a running callback). For the runtime.
    public static func stop() { TimerService.shared.stop() }
}

/// Something timers run on: the timer thread (`Timers.service`) or a `VirtualClock`.
/// Modules schedule through `CoreContext.timers`, so their timer-driven behaviour
/// (retransmissions, timeouts) can be tested on a virtual clock.
public protocol TimerScheduling: AnyObject, Sendable {
    /// Ticks (1/16 s) since the clock started.
    var ticks: UInt64 { get }
    /// Calls `handler` `milliseconds` ms from now (rounded up to ticks, at least one), then
    /// as it answers: `.stop`, `.again` or `.after(milliseconds:)`.
    @discardableResult
    func schedule(afterMilliseconds milliseconds: Int, name: String, _ handler: @escaping () -> TimerNext)
        -> TimerHandle
    /// Calls `target.timerFired(event)` `milliseconds` ms from now (rounded up to ticks, at
    /// least one), then as it answers; the target is held until the timer is done. No closure
    /// is allocated (the default implementation wraps the call in one).
    @discardableResult
    func schedule(afterMilliseconds milliseconds: Int, name: String, target: any TimerTarget, event: Int)
        -> TimerHandle
    /// Stops the timer of `handle` (as `TimerHandle.stop()`) and sets `handle` to nil. When
    /// that was the last reference to a target's timer, the scheduler may keep the handle and
    /// hand it out again from `schedule(afterMilliseconds:name:target:event:)` (no allocation
    /// there, none freed here): tm gives back its branches' timers when a transaction ends.
    func recycle(_ handle: inout TimerHandle?)
}

extension TimerScheduling {
    /// Stops the timer and lets go of the handle (a scheduler that keeps no handles).
    public func recycle(_ handle: inout TimerHandle?) {
        handle?.stop()
        handle = nil
    }

    @discardableResult
    public func schedule(afterMilliseconds milliseconds: Int, name: String, target: any TimerTarget, event: Int)
        -> TimerHandle
    {
        schedule(afterMilliseconds: milliseconds, name: name) { target.timerFired(event) }
    }

    /// Calls `body` once, `milliseconds` ms from now.
    @discardableResult
    public func after(milliseconds: Int, name: String = "timer", _ body: @escaping () -> Void) -> TimerHandle {
        schedule(afterMilliseconds: milliseconds, name: name) {
            body()
            return .stop
        }
    }

    /// Calls `body` every `milliseconds` ms.
    @discardableResult
    public func every(milliseconds: Int, name: String = "timer", _ body: @escaping () -> Void) -> TimerHandle {
        schedule(afterMilliseconds: milliseconds, name: name) {
            body()
            return .again
        }
    }
}

/// A clock that moves only when told: timers scheduled on it run, in order and on the
/// calling thread, inside `advance(milliseconds:)`. For tests of timer-driven behaviour
/// without sleeps (SwiftNIO's `EmbeddedEventLoop` idea).
///
/// ```swift
/// let clock = VirtualClock()
/// clock.after(milliseconds: 500) { retransmit() }
/// clock.advance(milliseconds: 499)   // nothing yet (ticks are 1/16 s: 500 ms is 8 ticks)
/// clock.advance(milliseconds: 1)     // retransmit() ran
/// ```
public final class VirtualClock: TimerScheduling, @unchecked Sendable {
    private let service = TimerService()
    /// Milliseconds advanced so far, kept exactly (ticks are rounded).
    public private(set) var elapsedMilliseconds = 0

    public init() {}

    public var ticks: UInt64 { service.currentTick }

    /// Number of timers waiting.
    public var pendingCount: Int { service.pendingCount }

    @discardableResult
    public func schedule(afterMilliseconds milliseconds: Int, name: String, _ handler: @escaping () -> TimerNext)
        -> TimerHandle
    {
        service.schedule(afterMilliseconds: milliseconds, name: name, handler)
    }

    @discardableResult
    public func schedule(afterMilliseconds milliseconds: Int, name: String, target: any TimerTarget, event: Int)
        -> TimerHandle
    {
        service.schedule(afterMilliseconds: milliseconds, name: name, target: target, event: event)
    }

    public func recycle(_ handle: inout TimerHandle?) { service.recycle(&handle) }

    /// Moves the clock forward, running every timer that falls due meanwhile, in order.
    public func advance(milliseconds: Int) {
        let before = UInt64(elapsedMilliseconds) * UInt64(Timers.ticksPerSecond) / 1000
        elapsedMilliseconds += max(0, milliseconds)
        let after = UInt64(elapsedMilliseconds) * UInt64(Timers.ticksPerSecond) / 1000
        if after > before { service.advanceManually(ticks: after - before) }
    }
}

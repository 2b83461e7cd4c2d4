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

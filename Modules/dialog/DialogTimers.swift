import SwiftletSDK

/// The dialogs waiting on the timeout timer (Kamailio's `d_timer` list); the expiry tick is
/// the dialog's `timeoutTick`, read under its slot lock.
final class DialogTimerList: @unchecked Sendable {
    private let lock = RecursiveLock()
    private var dialogs: [ObjectIdentifier: Dialog] = [:]

    func add(_ d: Dialog) { lock.locked { dialogs[ObjectIdentifier(d)] = d } }
    func remove(_ d: Dialog) { lock.locked { dialogs[ObjectIdentifier(d)] = nil } }
    var all: [Dialog] { lock.locked { Array(dialogs.values) } }
}

/// Timeouts (`default_timeout`, `dlg_set_timeout`), the clean-up of stale dialogs
/// (`early_timeout`, `noack_timeout`, `end_timeout`) and keep-alives (`ka_timer`).
extension DialogModule {
    /// Puts the dialog on the timer, `seconds` from now (`insert_dlg_timer`).
    func insertTimer(_ d: Dialog, seconds: Int) {
        let due = ticks + UInt64(max(0, seconds) * Timers.ticksPerSecond)
        table.locked(d) { d.timeoutTick = due }
        timerList.add(d)
    }

    /// `update_dlg_timer`: the timeout restarts from now.
    func updateTimer(_ d: Dialog, seconds: Int) { insertTimer(d, seconds: seconds) }

    /// Takes the dialog off the timer; false when it was not on it.
    func removeTimer(_ d: Dialog) -> Bool {
        let was = table.locked(d) { () -> Bool in
            defer { d.timeoutTick = nil }
            return d.timeoutTick != nil
        }
        timerList.remove(d)
        return was
    }

    /// Seconds until the dialog times out, nil when it is not on the timer.
    func secondsLeft(_ d: Dialog) -> Int? {
        table.locked(d) { d.timeoutTick }.map { t in
            t > ticks ? Int((t - ticks + UInt64(Timers.ticksPerSecond) - 1) / UInt64(Timers.ticksPerSecond)) : 0
        }
    }

    /// The 1-second timer: every dialog that is due times out.
    func runTimer() {
        let nowTick = ticks
        for d in timerList.all {
            let due = table.locked(d) { () -> Bool in
                guard let t = d.timeoutTick, t <= nowTick else { return false }
                d.timeoutTick = nil
                return true
            }
            guard due else { continue }
            timerList.remove(d)
            onTimeout(d)
        }
        if settings.dbMode == 2, settings.dbUpdatePeriod > 0, now % settings.dbUpdatePeriod == 0 { storeChanged() }
    }

    /// Kamailio's `dlg_ontimeout`.
    func onTimeout(_ d: Dialog) {
        let (state, route, bye) = table.locked(d) { () -> (DialogState, String, Bool) in
            d.dflags |= DialogFlags.expired
            return (d.state, d.timeoutRoute, d.iflags & DialogFlags.timeoutBye != 0)
        }
        if state == .confirmedWithoutAck || state == .confirmed {
            if !route.isEmpty, let core, let routes = core.routes {
                let ctx = MessageContext.faked(core: core)
                DialogMessageStates.with(ctx, dialog: d) { _ = routes.runRoute(route, ctx, as: .request) }
            }
            if bye {
                _ = byeAll(d, headers: "")
                statistics?.expired.increment()
                return
            }
        }
        let (old, new) = transition(d, .bye)
        runEventRoute(d, message: nil, receive: nil, old: old, new: new)
        if new == .deleted && old != .deleted {
            let tags = table.locked(d) { d.tag }
            Log.warning(
                "dialog", "dlg timeout - callid: '\(d.callID)' tags: '\(tags[0])' '\(tags[1])' ostate: \(old.rawValue)")
            runCallbacks(.expired, d, nil)
            statistics?.expired.increment()
            statistics?.active.add(-1)
            destroy(d)
        }
    }

    /// Kamailio's `dlg_clean_run` (every 90 s): drops unconfirmed or early dialogs older than
    /// `early_timeout` and deleted ones older than `end_timeout`; a 2xx not ACKed within
    /// `noack_timeout` leaves the dialog 10 s.
    func cleanRun() {
        let t = now
        for d in table.all {
            let (state, initTime, startTime, endTime) = table.locked(d) {
                (d.state, d.initTime, d.startTime, d.endTime)
            }
            if state.rawValue <= DialogState.early.rawValue && initTime > 0 && initTime < t - settings.earlyTimeout {
                Log.notice("dialog", "dialog in early state is too old")
                destroy(d)
            } else if state == .confirmedWithoutAck && startTime > 0 && startTime < t - settings.noAckTimeout {
                table.locked(d) {
                    d.lifetime = 10
                    d.dflags |= DialogFlags.changed
                }
                updateTimer(d, seconds: 10)
            } else if state == .deleted && endTime > 0 && endTime < t - settings.endTimeout {
                Log.notice("dialog", "dialog in delete state is too old")
                destroy(d)
            }
        }
        removeExpiredRemoteProfiles()
    }

    /// Adds a confirmed dialog with `ka-src`/`ka-dst` to the keep-alives (`dlg_ka_add`).
    func addKeepAlive(_ d: Dialog) {
        guard settings.keepAliveInterval > 0 else { return }
        table.locked(d) {
            if d.iflags & (DialogFlags.keepAliveSource | DialogFlags.keepAliveDestination) != 0 {
                d.keepAliveDue = now + settings.keepAliveInterval
            }
        }
    }

    /// Kamailio's `dlg_ka_run`: an in-dialog OPTIONS to each side asked for, every
    /// `ka_interval` seconds.
    func keepAliveRun() {
        let t = now
        for d in table.all {
            let (due, flags, state) = table.locked(d) { (d.keepAliveDue, d.iflags, d.state) }
            guard let due, due <= t else { continue }
            if state == .confirmed {
                if flags & DialogFlags.keepAliveSource != 0 { sendKeepAlive(d, .caller) }
                if flags & DialogFlags.keepAliveDestination != 0 { sendKeepAlive(d, .callee) }
            }
            table.locked(d) { d.keepAliveDue = d.state == .deleted ? nil : t + settings.keepAliveInterval }
        }
    }

    /// A keep-alive's final reply: 408 and 481 count as failures; `ka_failed_limit` of them
    /// leave the dialog 10 s (`dlg_ka_cb_all`).
    func keepAliveReplied(_ d: Dialog, _ leg: Leg, code: Int) {
        let end = table.locked(d) { () -> Bool in
            guard d.state == .confirmed else { return false }
            if code == 408 || code == 481 {
                d.keepAliveFailures[leg.rawValue] += 1
                guard d.keepAliveFailures[leg.rawValue] >= settings.keepAliveFailedLimit else { return false }
                d.lifetime = 10
                d.dflags |= DialogFlags.changed
                return true
            }
            d.keepAliveFailures[leg.rawValue] = 0
            return false
        }
        if end { updateTimer(d, seconds: 10) }
    }
}

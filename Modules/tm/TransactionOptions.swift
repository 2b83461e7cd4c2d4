import SwiftletSDK

/// Switches the script sets for one transaction, before it exists (kept per request in
/// `TMThreadState`, copied into the transaction when it is created: Kamailio's
/// `user_cell_set_flags`, `user_inv_max_lifetime`, ...) or on it. Nil: the module parameter.
struct TransactionOptions {
    /// `t_set_auto_inv_100()`, `t_relay_to()` flag 0x01 (off).
    var autoInv100: Bool?
    /// `t_set_disable_internal_reply()`, `t_relay_to()` flag 0x02: when `t_relay()` cannot
    /// send, it returns -4 and the script replies.
    var disableInternalReply: Bool?
    /// `t_set_disable_failover()`, `t_relay_to()` flag 0x04: no DNS failover.
    var disableFailover: Bool?
    /// `t_set_max_lifetime()` values in ms.
    var maxInvLifetime: Int?
    var maxNonInvLifetime: Int?
    /// `t_on_branch_failure()` before the transaction exists.
    var onBranchFailure: String?
}

extension TransactionManager {
    /// The lifetime of `tx` in ms: `t_set_max_lifetime()` or `max_inv_lifetime`/`max_noninv_lifetime`.
    func maxLifetime(_ tx: Transaction) -> Int {
        tx.isInvite
            ? tx.options.maxInvLifetime ?? settings.maxInvLifetime
            : tx.options.maxNonInvLifetime ?? settings.maxNonInvLifetime
    }

    /// Starts (or restarts, from now) the end of life of `tx` (Kamailio's `end_of_life`, which
    /// bounds every branch's final-response timer). Lock held or transaction not yet shared.
    func startLifetime(_ tx: Transaction, milliseconds: Int? = nil) {
        tx.stop(tx.lifetimeTimer)
        tx.expired = false
        let ms = milliseconds ?? maxLifetime(tx)
        tx.endOfLife = timers.ticks + (UInt64(ms) * UInt64(Timers.ticksPerSecond) + 999) / 1000
        tx.lifetimeTimer = schedule(tx, .lifetime, milliseconds: ms, name: "tm-lifetime")
    }

    /// The maximum lifetime passed: every branch still waiting for a final reply ends as on
    /// its final-response timeout (a CANCEL when it rang, then 408), as Kamailio's branches
    /// whose `fr_expire` is capped at `end_of_life`. Lock held.
    func lifetimeEnded(_ tx: Transaction) {
        tx.lifetimeTimer = nil
        guard !tx.finished else { return }
        tx.expired = true
        for b in tx.pendingBranches {
            tx.stop(b.finalResponseTimer)
            branchTimedOut(tx, b)
        }
        if tx.releaseWhenExpired, tx.pendingBranches.isEmpty, tx.lastReplyCode < 200 { finish(tx) }
    }

    /// `t_set_max_lifetime(inv, noninv)` on an existing transaction: its end of life is moved
    /// to `ms` from now (0 leaves it).
    func setMaxLifetime(_ tx: Transaction, inv: Int, nonInv: Int) {
        if inv > 0 { tx.options.maxInvLifetime = inv }
        if nonInv > 0 { tx.options.maxNonInvLifetime = nonInv }
        let ms = tx.isInvite ? inv : nonInv
        if ms > 0, !tx.finished { startLifetime(tx, milliseconds: ms) }
    }
}

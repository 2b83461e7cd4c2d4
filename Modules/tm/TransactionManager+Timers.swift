import SwiftletSDK

/// The timers tm arms most, run through the transaction as their `TimerTarget` (no closure
/// allocated per timer): a branch's retransmissions and final-response timer, the maximum
/// lifetime and the wait timer. The event is the kind in the low byte, the branch index above.
enum TMTimer: Int {
    case retransmission, finalResponse, lifetime, wait

    /// The event number for branch `index`.
    func event(branch index: Int = 0) -> Int { rawValue | index << 8 }
}

extension Transaction: TimerTarget {
    func timerFired(_ event: Int) -> TimerNext {
        guard let manager = timerManager, let kind = TMTimer(rawValue: event & 0xff) else { return .stop }
        return manager.timerFired(self, kind, branch: event >> 8)
    }

    /// The branch whose index is `index` (its position, unless a failed send removed one).
    /// Lock held.
    func branch(index: Int) -> ClientBranch? {
        if index < branches.count, branches[index].index == index { return branches[index] }
        return branches.first { $0.index == index }
    }
}

extension TransactionManager {
    /// Arms timer `kind` of `tx` (for branch `branch`) `milliseconds` from now.
    func schedule(_ tx: Transaction, _ kind: TMTimer, branch: Int = 0, milliseconds: Int, name: String)
        -> TimerHandle
    {
        if tx.timerManager == nil { tx.timerManager = self }
        return timers.schedule(
            afterMilliseconds: milliseconds, name: name, target: tx, event: kind.event(branch: branch))
    }

    /// A timer of `tx` expired.
    func timerFired(_ tx: Transaction, _ kind: TMTimer, branch index: Int) -> TimerNext {
        switch kind {
        case .retransmission:
            return tx.locked { () -> TimerNext in
                guard let b = tx.branch(index: index) else { return .stop }
                return retransmit(tx, b)
            }
        case .finalResponse:
            tx.locked {
                if let b = tx.branch(index: index) { branchTimedOut(tx, b) }
            }
            return .stop
        case .lifetime:
            tx.locked { lifetimeEnded(tx) }
            return .stop
        case .wait:
            waitEnded(tx)
            return .stop
        }
    }

    /// A branch's request goes out again (UDP): INVITE until any reply, others until the
    /// final one (at T2 once provisional). Lock held.
    private func retransmit(_ tx: Transaction, _ b: ClientBranch) -> TimerNext {
        guard !b.isFinal, !tx.finished, !b.cancelPending, !(tx.isInvite && b.lastCode >= 100) else {
            return .stop
        }
        stats.add(.retransmissions)
        tx.send(OutboundMessage(bytes: b.request.bytes, destination: b.destination, kind: .request), context: nil)
        b.retransmissionInterval =
            b.lastCode >= 100 ? settings.retrTimer2 : min(b.retransmissionInterval * 2, settings.retrTimer2)
        return .after(milliseconds: b.retransmissionInterval)
    }

    /// `wt_timer` after the transaction finished: it leaves the table.
    private func waitEnded(_ tx: Transaction) {
        table.remove(tx)
        // One locked section for the `destroy` callbacks and the timers (the timer thread
        // finds the transaction's lock cold), without a closure (nothing captured to retain).
        tx.enter()
        runDestroyCallbacks(tx)
        // Timers hold the transaction: drop them so that it (and its shared memory) is freed.
        let timers = self.timers
        for b in tx.branches {
            timers.recycle(&b.retransmission)
            timers.recycle(&b.finalResponseTimer)
            tx.stop(b.cancelRetransmission)
            b.cancelRetransmission = nil
        }
        tx.stop(tx.replyRetransmission)
        tx.replyRetransmission = nil
        tx.stop(tx.lifetimeTimer)
        tx.lifetimeTimer = nil
        tx.timerManager = nil
        tx.leave()
        tx.released.store(true, ordering: .relaxed)
        // Its memory goes back on a worker (the next message), not here: the wait timer's
        // handle too, which the transaction keeps until then (`TransactionGraveyard.release`).
        if tx.buried {
            tx.waitTimer = nil
        } else {
            graveyard.bury(tx)
        }
    }
}

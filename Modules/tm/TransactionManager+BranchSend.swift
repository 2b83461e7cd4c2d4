import SwiftletSDK

/// A branch that `startBranches(_:forced:deferSend:)` made and added to its transaction but
/// left for the caller to send once the transaction's lock is released.
struct UnsentBranch {
    let branch: ClientBranch
    let bytes: [UInt8]
    /// The request's context (`onsend_route`).
    let context: MessageContext
}

extension Transaction {
    /// The branch left unsent by `startBranches`, handed over once. Lock held.
    func takeUnsentBranch() -> UnsentBranch? {
        // Swapped out rather than copied and cleared (no retain and release of its references).
        var taken: UnsentBranch?
        swap(&taken, &unsentBranch)
        return taken
    }
}

extension TransactionManager {
    /// Sends a branch's request with the transaction unlocked, then completes the branch
    /// under the lock as `startBranches` does after its send: the retransmission and
    /// final-response timers once sent (unless a reply that came meanwhile made them moot or
    /// armed them), else the send error (blocklist, DNS failover, `t_relay()`'s error).
    /// Returns `t_relay()`'s result.
    func send(_ unsent: consuming UnsentBranch, of tx: Transaction, replicate: Bool) -> Int {
        let b = unsent.branch
        let outcome = core.send(
            OutboundMessage(bytes: unsent.bytes, destination: b.destination, kind: .request), context: unsent.context)
        return tx.locked {
            if outcome == .sent {
                // A reply processed meanwhile: a final one stopped the branch; a provisional
                // one to an INVITE armed `fr_inv_timer` and needs no retransmission.
                if !b.isFinal, !tx.finished, !(tx.isInvite && b.replied) { startTimers(tx, b) }
                return 1
            }
            // As a send error in startBranches: the branch is not kept.
            if let i = tx.branches.lastIndex(where: { $0 === b }) { tx.branches.remove(at: i) }
            destinationPolicy?.blocklist?.add(b.destination.proto, b.destination.address)
            if failover(tx, from: b) { return 1 }
            tx.ctx.coreError.current = .send
            return relayFailed(tx, replicate: replicate)
        }
    }
}

import SwiftletSDK

extension Transaction {
    /// The branch left unsent by `startBranches` and its request's bytes, handed over once.
    /// Lock held. Two plain fields, not an optional struct: an optional of one is copied and
    /// destroyed through generic value witnesses.
    func takeUnsentBranch() -> (ClientBranch, [UInt8])? {
        guard let branch = unsentBranch else { return nil }
        unsentBranch = nil
        // Swapped out rather than copied and cleared (no retain and release of the buffer).
        var bytes: [UInt8] = []
        swap(&bytes, &unsentBytes)
        return (branch, bytes)
    }
}

extension TransactionManager {
    /// Sends a branch's request with the transaction unlocked, then completes the branch
    /// under the lock as `startBranches` does after its send: the retransmission and
    /// final-response timers once sent (unless a reply that came meanwhile made them moot or
    /// armed them), else the send error (blocklist, DNS failover, `t_relay()`'s error).
    /// Returns `t_relay()`'s result.
    func send(_ b: ClientBranch, _ bytes: [UInt8], of tx: Transaction, replicate: Bool) -> Int {
        let outcome = core.send(
            OutboundMessage(bytes: bytes, destination: b.destination, kind: .request), context: tx.ctx)
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

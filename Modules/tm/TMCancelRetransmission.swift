import SwiftletSDK

extension TransactionManager {
    /// A CANCEL tm sent on an unreliable branch goes out again at T1, 2·T1, ... (capped at
    /// T2) until a reply to it arrives, `fr_timer` passes, or the transaction completes
    /// (Kamailio's `local_cancel` retransmission buffer, stopped by `cleanup_uac_timers`).
    /// Lock held.
    func retransmitCancel(_ tx: Transaction, _ b: ClientBranch, _ bytes: [UInt8]) {
        guard !b.isReliable else { return }
        var interval = settings.retrTimer1
        var elapsed = 0
        let limit = tx.frTimeout ?? settings.frTimer
        tx.stop(b.cancelRetransmission)
        b.cancelRetransmission = timers.schedule(afterMilliseconds: interval, name: "tm-cancel-retr") { [self] in
            tx.locked {
                elapsed += interval
                guard !b.cancelAnswered, !tx.finished, tx.lastReplyCode < 200, elapsed < limit else {
                    b.cancelRetransmission = nil
                    return .stop
                }
                stats.add(.retransmissions)
                _ = core.send(OutboundMessage(bytes: bytes, destination: b.destination, kind: .request), context: nil)
                interval = min(interval * 2, settings.retrTimer2)
                return .after(milliseconds: interval)
            }
        }
    }

    /// A reply to a CANCEL tm sent on branch `index`: its retransmissions stop.
    func cancelAnswered(_ tx: Transaction, branch index: Int) {
        tx.locked {
            guard index < tx.branches.count else { return }
            let b = tx.branches[index]
            b.cancelAnswered = true
            tx.stop(b.cancelRetransmission)
            b.cancelRetransmission = nil
        }
    }
}

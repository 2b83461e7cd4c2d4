import SwiftletSDK

extension TransactionManager {
    /// Sends the CANCEL `bytes` of branch `b` again over UDP at T1, 2·T1, ... capped at T2
    /// (`retr_timer1`/`retr_timer2`), as a non-INVITE request, until a reply to it arrives,
    /// `fr_timer` has passed or the transaction is gone (Kamailio's `local_cancel`
    /// retransmission buffer). Lock held.
    func retransmitCancel(_ tx: Transaction, _ b: ClientBranch, _ bytes: [UInt8]) {
        tx.stop(b.cancelRetransmission)
        b.cancelRetransmission = nil
        guard !b.isReliable, !b.cancelAnswered else { return }
        var interval = settings.retrTimer1
        var elapsed = 0
        let limit = settings.frTimer
        b.cancelRetransmission = timers.schedule(afterMilliseconds: interval, name: "tm-cancel-retr") { [self] in
            tx.locked {
                elapsed += interval
                // The transaction is gone once its wait timer has run (which keeps the handle
                // for the graveyard) or `tm.clean` took it (which drops it).
                let gone = tx.finished && (tx.waitTimer == nil || tx.released.load(ordering: .relaxed))
                guard !b.cancelAnswered, elapsed < limit, !gone else {
                    b.cancelRetransmission = nil
                    return .stop
                }
                stats.add(.retransmissions)
                tx.send(OutboundMessage(bytes: bytes, destination: b.destination, kind: .request), context: nil)
                interval = min(interval * 2, settings.retrTimer2)
                return .after(milliseconds: interval)
            }
        }
    }

    /// A reply to the CANCEL sent on `b` arrived: no more retransmissions. Lock held.
    func cancelAnswered(_ tx: Transaction, _ b: ClientBranch) {
        b.cancelAnswered = true
        tx.stop(b.cancelRetransmission)
        b.cancelRetransmission = nil
    }
}

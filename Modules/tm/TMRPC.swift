import SwiftletSDK

extension TransactionManager {
    /// `tm.list`: one object per transaction (Kamailio's field names where they exist).
    var listValue: RPCValue {
        .array(
            table.all.map { tx in
                tx.locked {
                    let m = tx.ctx.message
                    let b = m.buffer
                    let text = { (h: HeaderName) in m.firstHeader(h).map { b.tmText($0.valueRange) } ?? "" }
                    return RPCValue.object([
                        ("tindex", .string(tx.id)), ("tlabel", .string(tx.label)), ("method", .string(m.methodText)),
                        ("from", .string(text(.from))), ("to", .string(text(.to))), ("callid", .string(text(.callID))),
                        ("cseq", .string(text(.cseq))), ("uas_last_code", .int(tx.lastReplyCode)),
                        ("outgoing", .int(tx.branches.count)), ("canceled", .int(tx.canceled ? 1 : 0)),
                    ])
                }
            })
    }

    /// `tm.cancel callid cseq`: the INVITE transaction with that Call-ID and CSeq number is
    /// cancelled (a CANCEL on every branch that answered, the others when they answer); its
    /// final reply is then the branches' 487, as for a CANCEL from the caller.
    func cancel(callID: String, cseq: String) throws(RPCError) -> RPCValue {
        let number = cseq.split(separator: " ").first.map(String.init) ?? cseq
        let found = table.all.first { tx in
            tx.isInvite && tx.ctx.message.callID == callID
                && (try? tx.ctx.message.cseq()).map { String($0.number) } == number
        }
        guard let tx = found else { throw RPCError(404, "Transaction not found") }
        tx.locked {
            guard tx.lastReplyCode < 200 else { return }
            tx.canceled = true
            for b in tx.pendingBranches { cancel(tx, b) }
        }
        return .string("200 ok")
    }
}

import SwiftletSDK

/// `tm.reply_callid`, `tm.hash_stats`, `tm.clean` and `t_clean()` (Kamailio's
/// `rpc_reply_callid` in `t_reply.c`, `tm_rpc_hash_stats`/`tm_rpc_clean` in `t_stats.c`,
/// `tm_clean_lifetime` in `h_table.c`).
extension TMModule {
    var maintenanceRPCs: [RPCCommand] {
        let m = manager
        return [
            RPCCommand("tm.reply_callid", "Reply transaction by call-id") {
                (r: RPCRequest) throws(RPCError) -> RPCValue in
                guard r.params.count >= 1, let code = try? r.int(0) else { throw RPCError(400, "Reply code expected") }
                guard r.params.count >= 2 else { throw RPCError(400, "Reason phrase expected") }
                guard r.params.count >= 3 else { throw RPCError(400, "Call-ID expected") }
                guard r.params.count >= 4 else { throw RPCError(400, "CSeq expected") }
                guard r.params.count >= 5 else { throw RPCError(400, "To tag expected") }
                let headers = r.params.count > 5 ? try r.string(5) : ""
                let body = r.params.count > 6 ? try r.string(6) : ""
                guard let tx = m.inviteTransaction(callID: try r.string(2), cseqNumber: try r.string(3)) else {
                    throw RPCError(404, "Transaction not found")
                }
                guard
                    m.replyWithBody(
                        tx, code: code, reason: try r.string(1), toTag: try r.string(4), headers: headers, body: body)
                else { throw RPCError(500, "Reply failed") }
                return .null
            },
            // Kamailio builds its hash statistics only with -DTM_HASH_STATS, which its
            // packages do not set: this is what Kamailio 5.6 answers.
            RPCCommand(
                "tm.hash_stats",
                "Prints hash table statistics (can be used only if tm is compiled with -DTM_HASH_STATS)."
            ) { (_: RPCRequest) throws(RPCError) -> RPCValue in
                throw RPCError(500, "Hash statistics not supported (tryrecompiling with -DTM_HASH_STATS)")
            },
            RPCCommand("tm.clean", "Clean expired (lifetime exceeded) transactions.") {
                (_: RPCRequest) throws(RPCError) -> RPCValue in
                m.cleanExpired()
                return .null
            },
        ]
    }

    /// `t_clean()`: `tm.clean` from the script; 1.
    var cleanFunction: ScriptFunction {
        let m = manager
        return ScriptFunction("t_clean", parameters: 0, routes: .any) {
            (_: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            return { _ in
                m.cleanExpired()
                return 1
            }
        }
    }
}

extension TransactionManager {
    /// Kamailio's `TM_LIFETIME_LIMIT` (90 s) in timer ticks.
    static let lifetimeLimitTicks = UInt64(90 * Timers.ticksPerSecond)

    /// The received INVITE's transaction with this Call-ID and CSeq number (the number
    /// compared as text, as Kamailio's `t_lookup_callid`).
    func inviteTransaction(callID: String, cseqNumber: String) -> Transaction? {
        table.all.first { tx in
            tx.localUAC == nil && tx.isInvite && tx.ctx.message.callID == callID
                && (try? tx.ctx.message.cseq()).map { String($0.number) } == cseqNumber
        }
    }

    /// Kamailio's `tm_clean_lifetime`: every transaction whose lifetime ended more than
    /// 90 s ago (one that waits for a reply the script never sends, ...) leaves the table
    /// at once, without a reply, with a warning ("[hard cleanup]") naming it.
    func cleanExpired() {
        let now = timers.ticks
        guard now > Self.lifetimeLimitTicks else { return }
        let threshold = now - Self.lifetimeLimitTicks
        for tx in table.all where tx.locked({ tx.endOfLife < threshold }) {
            hardCleanup(tx)
        }
    }

    /// Removes `tx` from the table now, its timers stopped.
    private func hardCleanup(_ tx: Transaction) {
        tx.locked {
            let m = tx.ctx.message
            let b = m.buffer
            let text = { (h: HeaderName) in m.firstHeader(h).map { b.tmText($0.valueRange) } ?? "" }
            Log.warning(
                "tm",
                "[hard cleanup] - tindex=\(tx.id) tlabel=\(tx.label) method='\(m.methodText)' from_hdr='\(text(.from))' to_hdr='\(text(.to))' callid_hdr='\(text(.callID))' cseq_hdr='\(text(.cseq))' outgoings=\(tx.branches.count)"
            )
            tx.finished = true
            for b in tx.branches {
                tx.stop(b.retransmission)
                tx.stop(b.finalResponseTimer)
                tx.stop(b.cancelRetransmission)
                b.retransmission = nil
                b.finalResponseTimer = nil
                b.cancelRetransmission = nil
            }
            tx.stop(tx.replyRetransmission)
            tx.replyRetransmission = nil
            tx.stop(tx.lifetimeTimer)
            tx.lifetimeTimer = nil
            tx.stop(tx.waitTimer)
            tx.waitTimer = nil
        }
        table.remove(tx)
        transactionDestroyed(tx)
    }
}

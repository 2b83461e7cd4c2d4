import SwiftletSDK

extension TransactionManager {
    /// The reply handler (Kamailio's `reply_received`, tm's `response_f`): a reply whose top
    /// Via carries one of our branches belongs to that transaction and branch and is
    /// consumed here; any other reply goes on statelessly.
    func handleReply(_ rctx: MessageContext) -> ReplyDisposition {
        let msg = rctx.message
        let b = msg.buffer
        guard let code = msg.statusCode, let via = rctx.via1, let branchValue = via.branch?.value,
            let (id, index) = TransactionKey.parseRange(b, branchValue), let tx = table.transaction(id: b, id)
        else { return .notMine }
        stats.add(.received)
        // The reply to a CANCEL we sent carries the INVITE branch's id: it ends here.
        // Locked sections without closures (`enter`/`leave`): nothing captured to retain.
        if Self.isReplyToCancel(msg, b) {
            tx.enter()
            if index < tx.branches.count { cancelAnswered(tx, tx.branches[index]) }
            tx.leave()
            return .consumed
        }
        tx.enter()
        if index < tx.branches.count {
            runCallbacks(.responseIn, tx, reply: msg, replyContext: rctx, code: code, branch: index)
            process(tx, tx.branches[index], rctx, code: code)
        }
        tx.leave()
        return .consumed
    }

    /// The reply's CSeq method is CANCEL (`cseq()`'s): the CSeq header is parsed only when
    /// its value ends with `CANCEL` (every other reply is told apart by that alone).
    static func isReplyToCancel(_ msg: SIPMessage, _ b: [UInt8]) -> Bool {
        guard let field = msg.firstHeader(.cseq) else { return false }
        let lo = field.valueRange.lowerBound
        var hi = field.valueRange.upperBound
        // `CSeqHeader.parse` trims the method of spaces, tabs, CR and LF.
        while hi > lo, b[hi - 1] == 32 || b[hi - 1] == 9 || b[hi - 1] == 13 || b[hi - 1] == 10 { hi -= 1 }
        let cancel: StaticString = "CANCEL"
        let n = cancel.utf8CodeUnitCount
        guard hi - lo > n else { return false }
        for i in 0..<n where b[hi - n + i] != cancel.utf8Start[i] { return false }
        return (try? msg.cseq())?.method == .cancel
    }

    /// One reply on a branch. Lock held.
    private func process(_ tx: Transaction, _ b: ClientBranch, _ rctx: MessageContext, code: Int) {
        if b.isFinal {
            // Retransmitted finals: the ACK again for a negative one, a 2xx goes up again
            // (the caller's ACK was lost), as Kamailio relays 2xx retransmissions.
            if tx.isInvite, code >= 300 { sendAck(tx, b, rctx.message) }
            if tx.isInvite, code < 300, code >= 200, !tx.replicated, tx.localUAC == nil, let bytes = upstreamBytes(rctx)
            {
                tx.send(
                    OutboundMessage(bytes: bytes, destination: tx.ctx.replyDestination, kind: .reply), context: tx.ctx)
            }
            return
        }
        if code < 200, b.cancelPending || b.cancelSent {
            // A provisional reply on a cancelled branch: the CANCEL goes now (or again), and
            // the reply ends here, with no onreply route and not relayed (Kamailio's
            // reply_received for a branch marked F_RB_CANCELED).
            b.lastCode = max(b.lastCode, code)
            b.cancelPending = false
            b.cancelSent = false
            cancel(tx, b)
            return
        }
        let state = TMThreadState.thread
        let saved = (state.current, state.replyCode, state.branchIndex)
        state.current = tx
        state.replyCode = code
        state.branchIndex = b.index
        defer { (state.current, state.replyCode, state.branchIndex) = saved }
        // A negative final reply to an INVITE is ACKed on receipt, before the onreply route (as
        // Kamailio's reply_received), so also when the route suspends it.
        if tx.isInvite, code >= 300 { sendAck(tx, b, rctx.message) }
        var relay = true
        if let name = tx.onReply, let routes = core.routes, routes.onReplyRouteNames.contains(name) {
            // The transaction's AVPs, XAVPs and flags are the route's (Kamailio sets the AVP
            // lists to the transaction's and copies the request's flags), and what the route
            // changes stays with the transaction.
            rctx.avps = tx.ctx.avps
            rctx.avpFlags = tx.ctx.avpFlags
            rctx.xavps = tx.ctx.xavps
            rctx.flags = tx.ctx.flags
            // The branch's flags too, kept for it (Kamailio's setbflagsval(0, uac->branch_flags)).
            rctx.branchFlags = b.flags
            relay = routes.runOnReplyRoute(name, rctx) || code >= 200
            b.flags = rctx.branchFlags
            tx.ctx.avps = rctx.avps
            tx.ctx.avpFlags = rctx.avpFlags
            tx.ctx.xavps = rctx.xavps
            tx.ctx.flags = rctx.flags
        }
        // Suspended (`t_suspend()` in the route, or an earlier reply still is): the reply goes
        // no further until `t_continue()` (Kamailio's FL_RPL_SUSPENDED, T_ASYNC_SUSPENDED).
        if tx.suspendedReply != nil { return }
        processAfterReplyRoute(tx, b, rctx, code: code, relay: relay)
    }

    /// A reply after tm's onreply route (or after `t_continue()` of a suspended one):
    /// timers, relaying upstream, the branch's end. Lock held.
    func processAfterReplyRoute(_ tx: Transaction, _ b: ClientBranch, _ rctx: MessageContext, code: Int, relay: Bool) {
        b.replied = true
        if code < 200 {
            b.lastCode = max(b.lastCode, code)
            if tx.isInvite, settings.restartFrOnEachReply || b.finalResponseTimer == nil || code == b.lastCode {
                armFinalResponseTimer(tx, b, milliseconds: tx.frInvTimeout ?? settings.frInvTimer)
            }
            if relay, code > 100, !tx.replicated, let bytes = upstreamBytes(rctx) {
                stats.add(.relayed)
                sendUpstream(tx, bytes, code: code, relayed: rctx.message)
            }
            return
        }
        b.lastCode = code
        b.finalReply = rctx
        // Given back to the scheduler for the next transaction's timers.
        timers.recycle(&b.retransmission)
        timers.recycle(&b.finalResponseTimer)
        if code == 503 { branchGot503(tx, b, rctx) }
        if code < 300, tx.replicated {
            // A replicated request's reply stays here.
            for other in tx.pendingBranches { cancel(tx, other) }
            if tx.lastReplyCode < 200 { finish(tx) }
            return
        }
        if code < 300 {
            // A 2xx goes up at once; the other branches are cancelled. One that comes after
            // the final reply (another fork answered too) goes up as well for an INVITE
            // (RFC 3261 16.7 step 5; Kamailio's RPS_PUSHED_AFTER_COMPLETION).
            guard let bytes = upstreamBytes(rctx) else { return }
            if tx.lastReplyCode < 200 {
                stats.add(.relayed)
                sendUpstream(tx, bytes, code: code, relayed: rctx.message)
            } else if tx.isInvite {
                stats.add(.relayed)
                tx.send(
                    OutboundMessage(bytes: bytes, destination: tx.ctx.replyDestination, kind: .reply), context: tx.ctx)
            }
            // Nothing reads a relayed 2xx's context again (no failure route follows it); tm's
            // own requests hand it to their caller (LocalRequests).
            if tx.localUAC == nil { b.releaseFinalReply() }
            return
        }
        runBranchFailure(tx, b)
        if code >= 600, !(tx.disable6xxBlock ?? settings.disable6xxBlock) {
            for other in tx.pendingBranches { cancel(tx, other, cause: code) }
        }
        branchFinished(tx, b)
    }

    /// A branch ended negatively (reply or timeout): when it was the last pending one, the
    /// failure route runs or the best reply goes upstream. Lock held.
    func branchFinished(_ tx: Transaction, _ b: ClientBranch) {
        guard tx.pendingBranches.isEmpty, tx.lastReplyCode < 200 else { return }
        guard let best = bestBranch(tx) else { return }
        if !tx.inFailureRoute {
            runCallbacks(.onFailure, tx, reply: best.finalReply?.message, code: best.lastCode, branch: best.index)
        }
        if let name = tx.onFailure, let routes = core.routes, routes.failureRouteNames.contains(name),
            !tx.inFailureRoute
        {
            tx.onFailure = nil
            tx.inFailureRoute = true
            tx.dropReplies = nil
            let before = tx.branches.count
            let state = TMThreadState.thread
            let saved = (state.current, state.replyCode, state.onFailure, state.failedBranch, state.branchIndex)
            state.current = tx
            state.replyCode = best.lastCode
            state.onFailure = nil
            state.failedBranch = best
            state.branchIndex = best.index
            // The failure route starts from the request as t_relay() (or t_save_lumps()) saved it.
            if let edits = tx.savedEdits { tx.ctx.edits = edits }
            tx.ctx.requestURIIsNew = false  // Kamailio's faked_env: the Request-URI is consumed
            _ = routes.runFailureRoute(name, tx.ctx)
            // t_on_failure() in the failure route arms it again for the next leg.
            if let again = state.onFailure { tx.onFailure = again }
            (state.current, state.replyCode, state.onFailure, state.failedBranch, state.branchIndex) = saved
            tx.inFailureRoute = false
            let added = tx.branches.count > before
            let dropped = dropReplies(tx, before: before, added: added)
            if tx.lastReplyCode >= 200 { return }  // t_reply() there
            if added {
                tx.failureBranchStart = before
                if !tx.pendingBranches.isEmpty { return }  // serial forking: new branches run
            } else if dropped {
                // t_drop_replies() and no new branch: an error reply (Kamailio's branches_failed).
                if let bytes = LocalMessages.reply(
                    tx, code: 500, reason: "I'm terribly sorry, server error occurred (1/TM)")
                {
                    stats.add(.local)
                    sendUpstream(tx, bytes, code: 500)
                }
                return
            }
        }
        guard let chosen = bestBranch(tx) else { return }
        relayFinal(tx, chosen)
    }

    /// After a failure route: the replies that no longer count, by `t_drop_replies()` or
    /// `failure_reply_mode` (3: all of them when the route added branches; 1: all; 2: those of
    /// the last set of branches; 0: none). True when some were dropped. Lock held.
    private func dropReplies(_ tx: Transaction, before: Int, added: Bool) -> Bool {
        let mode = tx.dropReplies ?? settings.failureReplyMode
        guard (mode == 3 && added) || (mode != 0 && mode != 3) else { return false }
        let start = mode == 2 ? min(tx.failureBranchStart, before) : 0
        for b in tx.branches[start..<before] { b.dropped = true }
        return true
    }

    /// Sends the chosen final reply upstream: the branch's reply, or a local one for a
    /// timeout; `remap_503_500` turns a 503 into 500.
    private func relayFinal(_ tx: Transaction, _ b: ClientBranch) {
        if tx.localUAC != nil { return localFinal(tx, b) }
        if tx.replicated {
            // A replicated request's replies stay here.
            if tx.lastReplyCode < 200 { finish(tx) }
            return
        }
        if let reply = b.finalReply, var bytes = upstreamBytes(reply) {
            var code = b.lastCode
            if code == 503, settings.remap503to500 {
                bytes = remapStatus(bytes, to: 500)
                code = 500
            }
            stats.add(.relayed)
            sendUpstream(tx, bytes, code: code, relayed: code == b.lastCode ? reply.message : nil)
            return
        }
        let reason = b.lastCode == 487 ? "Request Terminated" : "Request Timeout"
        if let bytes = LocalMessages.reply(tx, code: b.lastCode, reason: reason) {
            stats.add(.local)
            sendUpstream(tx, bytes, code: b.lastCode)
        }
    }

    /// The final reply to relay, as Kamailio's `t_pick_branch` (RFC 3261 16.7.6): the lowest
    /// `replyPriority` among the branches' final replies that count; the first branch on a tie.
    func bestBranch(_ tx: Transaction) -> ClientBranch? {
        var best: (branch: ClientBranch, priority: Int)?
        for b in tx.branches where b.isFinal && !b.dropped {
            // A timeout's local reply carries the faked_reply_prio penalty.
            let p = Self.replyPriority(b.lastCode) + (b.hasLocalFinal ? settings.fakedReplyPriority : 0)
            if best == nil || p < best!.priority { best = (b, p) }
        }
        return best?.branch
    }

    /// Kamailio's `get_prio`: 2xx, then 6xx, 3xx, 4xx, 5xx, each lowest code first, with 401,
    /// 407, 415, 420 and 484 before the other 4xx.
    static func replyPriority(_ code: Int) -> Int {
        let cls = code / 100
        let xx = code % 100
        guard (0..<7).contains(cls) else { return 10_000 + code }
        let base = [32_000, 11_000, 0, 3_000, 4_000, 5_000, 1_000][cls]
        if cls == 4 { return base + ([1, 7, 15, 20, 84].contains(xx) ? xx : 100 + xx) }
        return base + xx
    }

    /// The reply as it goes upstream: our top Via removed, the reply route's edits applied.
    func upstreamBytes(_ rctx: MessageContext) -> [UInt8]? {
        let topVia = topViaRange(rctx)
        // The usual reply (no edits of the reply route): the bytes without our Via, made
        // without an editor (none is made or copied to ask).
        if let topVia, rctx.editsAreUnchanged, let bytes = MessageEditor.deleting(topVia, from: rctx.message) {
            return bytes
        }
        var editor = rctx.editsSoFar
        do {
            if let topVia { editor.delete(topVia) } else { try editor.removeTopVia() }
            return try editor.build()
        } catch {
            Log.error("tm", "cannot build the reply to relay: \(error)")
            return nil
        }
    }

    /// What `MessageEditor.removeTopVia()` deletes, from the top Via parsed on receipt (`via1`)
    /// instead of parsing it again: the whole line when it holds one value, else the value and
    /// its comma. nil when `via1` is not the first Via field's first value (the message was
    /// replaced).
    private func topViaRange(_ rctx: MessageContext) -> Range<Int>? {
        let m = rctx.message
        guard let via = rctx.via1, let field = m.firstHeader(.via),
            via.range.lowerBound == field.valueRange.lowerBound, via.range.upperBound <= field.valueRange.upperBound
        else { return nil }
        guard let next = via.nextValueStart else { return field.lineRange }
        let b = m.buffer
        var end = next
        while end < field.valueRange.upperBound, b[end] == 32 || b[end] == 9 { end += 1 }
        return field.valueRange.lowerBound..<end
    }

    private func sendAck(_ tx: Transaction, _ b: ClientBranch, _ reply: SIPMessage) {
        guard let ack = LocalMessages.ack(tx, for: b, reply: reply, settings.hopByHop) else { return }
        tx.send(OutboundMessage(bytes: ack, destination: b.destination, kind: .request), context: nil)
    }

    private func remapStatus(_ bytes: [UInt8], to code: Int) -> [UInt8] {
        // "SIP/2.0 503 ..." -> "SIP/2.0 500 ..."
        guard bytes.count > 11 else { return bytes }
        var out = bytes
        let digits = Array(String(code).utf8)
        out.replaceSubrange(8..<11, with: digits)
        return out
    }
}

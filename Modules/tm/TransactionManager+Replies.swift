import SwiftletSDK

extension TransactionManager {
    /// The reply handler (Kamailio's `reply_received`, tm's `response_f`): a reply whose top
    /// Via carries one of our branches belongs to that transaction and branch and is
    /// consumed here; any other reply goes on statelessly.
    func handleReply(_ rctx: MessageContext) -> ReplyDisposition {
        let msg = rctx.message
        guard let code = msg.statusCode, let via = rctx.via1, let branchValue = via.branch?.value,
            let (id, index) = TransactionKey.parse(msg.buffer, branchValue),
            let tx = table.transaction(id: id)
        else { return .notMine }
        // The reply to a CANCEL we sent carries the INVITE branch's id: it ends here.
        if let cseq = try? msg.cseq(), msg.buffer.tmText(cseq.methodRange) == "CANCEL" { return .consumed }
        tx.locked {
            guard index < tx.branches.count else { return }
            process(tx, tx.branches[index], rctx, code: code)
        }
        return .consumed
    }

    /// One reply on a branch. Lock held.
    private func process(_ tx: Transaction, _ b: ClientBranch, _ rctx: MessageContext, code: Int) {
        if b.isFinal {
            // Retransmitted finals: the ACK again for a negative one, a 2xx goes up again
            // (the caller's ACK was lost), as Kamailio relays 2xx retransmissions.
            if tx.isInvite, code >= 300 { sendAck(tx, b, rctx.message) }
            if tx.isInvite, code < 300, code >= 200, let bytes = upstreamBytes(rctx) {
                _ = core.send(
                    OutboundMessage(bytes: bytes, destination: tx.ctx.replyDestination, kind: .reply), context: tx.ctx)
            }
            return
        }
        let state = TMThreadState.thread
        let saved = (state.current, state.replyCode, state.branchIndex)
        state.current = tx
        state.replyCode = code
        state.branchIndex = b.index
        defer { (state.current, state.replyCode, state.branchIndex) = saved }
        var relay = true
        if let name = tx.onReply, let routes = core.routes, routes.onReplyRouteNames.contains(name) {
            // The transaction's AVPs, XAVPs and flags are the route's (Kamailio sets the AVP
            // lists to the transaction's and copies the request's flags), and what the route
            // changes stays with the transaction.
            rctx.avps = tx.ctx.avps
            rctx.avpFlags = tx.ctx.avpFlags
            rctx.xavps = tx.ctx.xavps
            rctx.flags = tx.ctx.flags
            relay = routes.runOnReplyRoute(name, rctx) || code >= 200
            tx.ctx.avps = rctx.avps
            tx.ctx.avpFlags = rctx.avpFlags
            tx.ctx.xavps = rctx.xavps
            tx.ctx.flags = rctx.flags
        }
        b.replied = true
        if code < 200 {
            b.lastCode = max(b.lastCode, code)
            if b.cancelPending {
                b.cancelPending = false
                cancel(tx, b)
            }
            if tx.isInvite, settings.restartFrOnEachReply || b.finalResponseTimer == nil || code == b.lastCode {
                armFinalResponseTimer(tx, b, milliseconds: tx.frInvTimeout ?? settings.frInvTimer)
            }
            if relay, code > 100, let bytes = upstreamBytes(rctx) {
                stats.add(.relayed)
                sendUpstream(tx, bytes, code: code)
            }
            return
        }
        b.lastCode = code
        b.finalReply = rctx
        tx.stop(b.retransmission)
        tx.stop(b.finalResponseTimer)
        if tx.isInvite, code >= 300 { sendAck(tx, b, rctx.message) }
        if code < 300 {
            // A 2xx goes up at once; the other branches are cancelled.
            if let bytes = upstreamBytes(rctx) {
                stats.add(.relayed)
                sendUpstream(tx, bytes, code: code)
            }
            return
        }
        if code >= 600, !(tx.disable6xxBlock ?? settings.disable6xxBlock) {
            for other in tx.pendingBranches { cancel(tx, other) }
        }
        branchFinished(tx, b)
    }

    /// A branch ended negatively (reply or timeout): when it was the last pending one, the
    /// failure route runs or the best reply goes upstream. Lock held.
    func branchFinished(_ tx: Transaction, _ b: ClientBranch) {
        guard tx.pendingBranches.isEmpty, tx.lastReplyCode < 200 else { return }
        let firstBranch = tx.failureBranchStart
        guard let best = bestBranch(tx, from: firstBranch) else { return }
        if let name = tx.onFailure, let routes = core.routes, routes.failureRouteNames.contains(name),
            !tx.inFailureRoute
        {
            tx.onFailure = nil
            tx.inFailureRoute = true
            let before = tx.branches.count
            let state = TMThreadState.thread
            let saved = (state.current, state.replyCode, state.onFailure, state.failedBranch, state.branchIndex)
            state.current = tx
            state.replyCode = best.lastCode
            state.onFailure = nil
            state.failedBranch = best
            state.branchIndex = best.index
            _ = routes.runFailureRoute(name, tx.ctx)
            // t_on_failure() in the failure route arms it again for the next leg.
            if let again = state.onFailure { tx.onFailure = again }
            (state.current, state.replyCode, state.onFailure, state.failedBranch, state.branchIndex) = saved
            tx.inFailureRoute = false
            if tx.lastReplyCode >= 200 { return }  // t_reply() there
            if tx.branches.count > before, !tx.pendingBranches.isEmpty {
                tx.failureBranchStart = before
                return  // serial forking: new branches run
            }
        }
        relayFinal(tx, best)
    }

    /// Sends the chosen final reply upstream: the branch's reply, or a local one for a
    /// timeout; `remap_503_500` turns a 503 into 500.
    private func relayFinal(_ tx: Transaction, _ b: ClientBranch) {
        if let reply = b.finalReply, var bytes = upstreamBytes(reply) {
            var code = b.lastCode
            if code == 503, settings.remap503to500 {
                bytes = remapStatus(bytes, to: 500)
                code = 500
            }
            stats.add(.relayed)
            sendUpstream(tx, bytes, code: code)
            return
        }
        let reason = b.lastCode == 487 ? "Request Terminated" : "Request Timeout"
        if let bytes = LocalMessages.reply(tx, code: b.lastCode, reason: reason) {
            stats.add(.local)
            sendUpstream(tx, bytes, code: b.lastCode)
        }
    }

    /// RFC 3261 16.7.6 as Kamailio's `t_pick_branch`: a 6xx wins, then the lowest class
    /// (3xx before 4xx before 5xx); the first of a class.
    func bestBranch(_ tx: Transaction, from start: Int) -> ClientBranch? {
        let candidates = tx.branches.dropFirst(start).filter { $0.isFinal }
        if let six = candidates.first(where: { $0.lastCode >= 600 }) { return six }
        return candidates.min { ($0.lastCode / 100, $0.index) < ($1.lastCode / 100, $1.index) }
    }

    /// The reply as it goes upstream: our top Via removed, the reply route's edits applied.
    func upstreamBytes(_ rctx: MessageContext) -> [UInt8]? {
        var editor = rctx.edits
        do {
            try editor.removeTopVia()
            return try editor.build()
        } catch {
            Log.error("tm", "cannot build the reply to relay: \(error)")
            return nil
        }
    }

    private func sendAck(_ tx: Transaction, _ b: ClientBranch, _ reply: SIPMessage) {
        guard let ack = LocalMessages.ack(for: b, reply: reply) else { return }
        _ = core.send(OutboundMessage(bytes: ack, destination: b.destination, kind: .request), context: nil)
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

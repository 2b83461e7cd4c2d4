import SwiftletSDK

/// tm's `TransactionInspectionAPI` (Kamailio's `tm_binds` as tmx and uac use them): the
/// transaction of a route, its request and replies, lookups by Call-ID/CSeq and by
/// index:label, cancelling branches, `t_suspend`/`t_continue`, `t_drop` and the statistics.
final class TMInspection: TransactionInspectionAPI {
    let manager: TransactionManager

    init(_ manager: TransactionManager) { self.manager = manager }

    // MARK: finding transactions

    /// Kamailio's hash index (a 16-bit bucket, here taken from the transaction's id) and
    /// label (the counter the label is written from).
    static func identity(of tx: Transaction) -> TransactionIdentity {
        TransactionIdentity(index: Int(tx.id.prefix(4), radix: 16) ?? 0, label: Int(tx.label, radix: 16) ?? 0)
    }

    func transaction(_ id: TransactionIdentity) -> Transaction? {
        guard id.label > 0 else { return nil }
        return manager.table.transaction(label: String(id.label, radix: 16)) { Self.identity(of: $0).index == id.index }
    }

    /// The transaction of `ctx`: the one the failure, branch or onreply route runs for; in
    /// the core's reply route the one whose branch the reply's top Via carries; in a request
    /// route the request's.
    func transaction(of ctx: MessageContext) -> Transaction? {
        let state = TMThreadState.thread
        switch ctx.routeType {
        case .coreOnReply:
            return replyTransaction(ctx)?.tx
        case .request:
            if let tx = state.current, tx.ctx === ctx { return tx }
            return ctx.message.isRequest ? manager.lookup(ctx) : nil
        default:
            return state.current
        }
    }

    /// The transaction and branch a received reply belongs to (by our branch id).
    func replyTransaction(_ rctx: MessageContext) -> (tx: Transaction, branch: Int)? {
        guard let via = rctx.via1, let value = via.branch?.value,
            let (id, index) = TransactionKey.parse(branch: rctx.message.buffer.tmText(value)),
            let tx = manager.table.transaction(id: id)
        else { return nil }
        return (tx, index)
    }

    func identity(_ context: MessageContext, create: Bool) -> TransactionIdentity? {
        if let tx = transaction(of: context) { return Self.identity(of: tx) }
        guard create, context.message.isRequest, context.routeType == .request else { return nil }
        switch manager.transaction(for: context) {
        case .created(let tx): return Self.identity(of: tx)
        case .existing(let tx):
            manager.absorbRetransmission(tx)
            return Self.identity(of: tx)
        case .refused: return nil
        }
    }

    func find(callID: String, cseq: String) -> TransactionIdentity? {
        // The CSeq number only: Kamailio hashes the text given, so "1 INVITE" finds nothing.
        let number = cseq
        // From the request's immutable copy: no transaction lock is taken (the caller may hold
        // another transaction's).
        let matches = manager.table.all.filter { tx in
            guard let m = try? SIPMessage(parsing: tx.clone.bytes) else { return false }
            return m.callID == callID && (try? m.cseq()).map { String($0.number) } == number
        }
        // The oldest first, as Kamailio's bucket list (an INVITE before its CANCEL).
        return matches.map(Self.identity).min { $0.label < $1.label }
    }

    func exists(_ id: TransactionIdentity) -> Bool { transaction(id) != nil }

    // MARK: messages

    /// A new context for `source`'s message with its flags, as Kamailio's `pv_t_copy_msg`
    /// (the message as received, none of the script's edits).
    static func view(of source: MessageContext, routeType: RouteTypes) -> MessageContext {
        let c = MessageContext(
            message: source.message, receive: source.receive, routeType: routeType, core: source.core,
            via1: source.via1)
        c.flags = source.flags
        c.extendedFlags = source.extendedFlags
        c.sendFlags = source.sendFlags
        c.forcedSendSocket = source.forcedSendSocket
        return c
    }

    func request(_ context: MessageContext) -> MessageContext? {
        guard let tx = transaction(of: context) else { return nil }
        return tx.locked { Self.view(of: tx.ctx, routeType: context.routeType) }
    }

    func cancelledInvite(_ context: MessageContext) -> MessageContext? {
        guard context.message.method == .cancel, let tx = manager.lookup(context, methodClass: "INVITE") else {
            return nil
        }
        return tx.locked { Self.view(of: tx.ctx, routeType: context.routeType) }
    }

    func reply(_ context: MessageContext) -> MessageContext? {
        if RouteTypes.onReply.contains(context.routeType), !context.message.isRequest {
            return Self.view(of: context, routeType: context.routeType)
        }
        guard context.routeType == .failure, let tx = TMThreadState.thread.current,
            let b = TMThreadState.thread.failedBranch
        else { return nil }
        return tx.locked { b.finalReply.map { Self.view(of: $0, routeType: context.routeType) } }
    }

    func replyReason(_ context: MessageContext) -> String? {
        if RouteTypes.onReply.contains(context.routeType) {
            guard case .response(_, let reason) = context.message.firstLine else { return nil }
            return context.message.buffer.tmText(reason)
        }
        guard context.routeType == .failure, let tx = TMThreadState.thread.current,
            let b = TMThreadState.thread.failedBranch
        else { return nil }
        return tx.locked {
            if let reply = b.finalReply, case .response(_, let reason) = reply.message.firstLine {
                return reply.message.buffer.tmText(reason)
            }
            return ReasonPhrases.text(b.lastCode)
        }
    }

    func replyBranch(_ context: MessageContext) -> TransactionBranchInfo? {
        let state = TMThreadState.thread
        switch context.routeType {
        case .failure, .branchFailure:
            guard let tx = state.current, let b = state.failedBranch else { return nil }
            return tx.locked { Self.info(b) }
        case .tmOnReply:
            guard let tx = state.current, let i = state.branchIndex else { return nil }
            return tx.locked { i < tx.branches.count ? Self.info(tx.branches[i]) : nil }
        case .branch:
            guard state.current != nil, let i = state.branchIndex else { return nil }
            return TransactionBranchInfo(
                index: i, uri: context.requestURI ?? "", ruid: context.binding.ruid, flags: context.branchFlags,
                lastReceived: 0, replyIsLocal: false, binding: context.binding)
        default:
            return nil
        }
    }

    static func info(_ b: ClientBranch) -> TransactionBranchInfo {
        TransactionBranchInfo(
            index: b.index, uri: b.uri, ruid: b.binding.ruid, flags: b.flags, lastReceived: b.lastCode,
            replyIsLocal: b.hasLocalFinal, binding: b.binding)
    }

    func branchCount(_ context: MessageContext) -> Int? {
        guard let tx = transaction(of: context) else { return nil }
        return tx.locked { tx.branches.count }
    }

    func lastSentCode(_ context: MessageContext) -> Int? {
        guard let tx = transaction(of: context) else { return nil }
        return tx.locked { tx.lastReplyCode }
    }

    // MARK: acting on transactions

    func cancelBranches(_ context: MessageContext, _ which: BranchCancelSelection) -> Bool {
        let state = TMThreadState.thread
        guard context.routeType == .tmOnReply, let tx = state.current, tx.isInvite else { return false }
        let own = state.branchIndex ?? 0
        let final = (context.message.statusCode ?? 0) >= 200
        return tx.locked {
            let pending = tx.pendingBranches.filter { !$0.cancelSent && !$0.cancelPending }
            let selected: [ClientBranch]
            switch which {
            case .others: selected = pending.filter { $0.index != own }
            case .this: selected = final ? [] : pending.filter { $0.index == own }
            case .all: selected = final ? pending.filter { $0.index != own } : pending
            }
            for b in selected { manager.cancel(tx, b) }
            return !selected.isEmpty
        }
    }

    func cancel(_ id: TransactionIdentity, reasonCode: Int?) -> Bool {
        guard let tx = transaction(id) else { return false }
        tx.locked {
            if let code = reasonCode, (100...699).contains(code) {
                // Kamailio's cancel_reason_text(): 200 has a text.
                tx.cancelReason = "SIP;cause=\(code)" + (code == 200 ? ";text=\"Call completed elsewhere\"" : "")
            }
            for b in tx.pendingBranches where !b.cancelSent && !b.cancelPending { manager.cancel(tx, b) }
        }
        return true
    }

    func reply(to id: TransactionIdentity, code: Int, reason: String) -> Bool {
        guard let tx = transaction(id) else { return false }
        return tx.locked {
            guard (100...699).contains(code), tx.lastReplyCode < 200,
                let bytes = LocalMessages.reply(tx, code: code, reason: reason)
            else { return false }
            manager.stats.add(.local)
            manager.sendUpstream(tx, bytes, code: code)
            return true
        }
    }

    func setFlag(_ flag: Int, of id: TransactionIdentity) -> Bool {
        guard (0...63).contains(flag), let tx = transaction(id) else { return false }
        tx.locked { tx.ctx.flags |= 1 << UInt64(flag) }
        return true
    }

    func flushFlags(_ context: MessageContext, extended: Bool) -> Bool {
        guard let tx = transaction(of: context) else { return false }
        tx.locked {
            if extended { tx.ctx.extendedFlags = context.extendedFlags } else { tx.ctx.flags = context.flags }
        }
        return true
    }

    func drop(_ context: MessageContext, code: Int) -> Bool {
        guard let tx = transaction(of: context) else { return false }
        tx.locked {
            tx.lastReplyCode = code
            manager.finish(tx)
        }
        return true
    }

    var statistics: TransactionStatistics {
        let v = manager.stats.value
        var s = TransactionStatistics()
        s.serverTransactions = v(.created)
        s.inUse = manager.table.count
        // As Kamailio: created minus those put on wait (no transaction lock is taken).
        s.active = max(0, v(.created) - v(.waiting))
        s.completed = [v(.final2xx), v(.final3xx), v(.final4xx), v(.final5xx), v(.final6xx)]
        s.repliesReceived = v(.received)
        s.repliesGenerated = v(.local)
        s.repliesSent = v(.sent)
        return s
    }
}

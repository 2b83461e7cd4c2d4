import SwiftletSDK

/// Transaction accounting (Kamailio's `acc_logic.c`): the callbacks tm calls for the
/// transactions of flagged requests.
extension AccModule {
    func isSet(_ ctx: MessageContext, _ flag: Int) -> Bool {
        flag >= 0 && flag < 64 && ctx.flags & (UInt64(1) << UInt64(flag)) != 0
    }
    func accOn(_ ctx: MessageContext) -> Bool { isSet(ctx, logFlag) || isSet(ctx, dbFlag) }
    func missedOn(_ ctx: MessageContext) -> Bool { isSet(ctx, logMissedFlag) || isSet(ctx, dbMissedFlag) }

    /// Writes `event` of `request` (evaluated in `ctx`) to the log and the database, as the
    /// transaction's flags (`flags`) say.
    func account(
        _ flags: MessageContext, _ request: SIPMessage, _ ctx: MessageContext, _ event: AccEvent, missed: Bool
    ) {
        if isSet(flags, missed ? logMissedFlag : logFlag) { writer.write(request, ctx, event) }
        if isSet(flags, missed ? dbMissedFlag : dbFlag) {
            db.write(request, ctx, event, table: missed ? db.tableMissed : db.tableAcc)
        }
    }

    /// `TMCB_REQUEST_IN`: a flagged request (a CANCEL only with `report_cancels`) gets the
    /// reply, failure and (with `report_ack`) ACK callbacks.
    func onRequestIn(_ event: TransactionEvent, _ tm: TransactionCallbacksAPI) {
        let ctx = event.request
        let m = ctx.message
        if m.method == .cancel && reportCancels == 0 { return }
        guard accOn(ctx) || missedOn(ctx) else { return }
        guard (try? m.cseq()) != nil, m.callID != nil, m.firstHeader(.from) != nil, m.firstHeader(.to) != nil else {
            Log.error("acc", "failed to preparse request")
            return
        }
        let isInvite = m.method == .invite
        var types: TransactionCallbackTypes = [.responseOut]
        if reportAck != 0 && accOn(ctx) { types.insert(.e2eAckIn) }
        if isInvite && missedOn(ctx) { types.insert(.onFailure) }
        let upstream = detectDirection != 0 && rr?.isDirection(ctx, .upstream) == 1
        tm.register(types, for: ctx) { [self] e in
            switch e.type {
            case .responseOut: onReply(e, isInvite: isInvite, upstream: upstream)
            case .onFailure: onMissed(e, upstream: upstream)
            case .e2eAckIn: onAck(e, upstream: upstream)
            default: break
            }
        }
    }

    /// The code and reason of `reply` (a timeout without one: Kamailio's `error_text`).
    func status(_ reply: SIPMessage?, _ code: Int) -> (String, String) {
        guard let reply, case .response(let c, let r) = reply.firstLine else {
            return (String(code), AccReasonPhrases.text(code))
        }
        return (String(c), String(decoding: reply.buffer[r], as: UTF8.self))
    }

    /// Should the final (or early media) reply be accounted (`should_acc_reply`)?
    func shouldAccount(_ ctx: MessageContext, _ reply: SIPMessage?, _ code: Int) -> Bool {
        if code >= 300 { return isSet(ctx, failedTransactionFlag) && !failedFilter.contains(code) }
        guard accOn(ctx) else { return false }
        if code < 200 {
            guard earlyMedia != 0, let reply else { return false }
            return !reply.bodyRange.isEmpty
        }
        return true
    }

    /// `TMCB_RESPONSE_OUT`: a missed call not yet reported, then the `transaction answered`
    /// record when the reply is of interest.
    func onReply(_ e: TransactionEvent, isInvite: Bool, upstream: Bool) {
        let ctx = e.request
        if isInvite && e.code >= 300 && missedOn(ctx) { onMissed(e, upstream: upstream) }
        guard shouldAccount(ctx, e.reply, e.code) else { return }
        let (code, reason) = status(e.reply, e.code)
        let event = AccEvent(
            text: AccEvent.answered, toTag: e.reply?.toTag ?? ctx.message.toTag, code: code, reason: reason,
            upstream: upstream)
        account(ctx, ctx.message, ctx, event, missed: false)
    }

    /// `TMCB_ON_FAILURE` (and a negative final reply): the `call missed` record, once: the
    /// missed-call flag is reset after it.
    func onMissed(_ e: TransactionEvent, upstream: Bool) {
        let ctx = e.request
        guard missedOn(ctx) else { return }
        let (code, reason) = status(e.reply, e.code)
        let event = AccEvent(
            text: AccEvent.missed, toTag: e.reply?.toTag ?? ctx.message.toTag, code: code, reason: reason,
            upstream: upstream)
        account(ctx, ctx.message, ctx, event, missed: true)
        for flag in [logMissedFlag, dbMissedFlag] where flag >= 0 { ctx.flags &= ~(UInt64(1) << UInt64(flag)) }
    }

    /// `TMCB_E2EACK_IN` with `report_ack`: the `request acknowledged` record of the ACK.
    func onAck(_ e: TransactionEvent, upstream: Bool) {
        guard let ack = e.ack, accOn(e.request) else { return }
        let m = ack.message
        let event = AccEvent(
            text: AccEvent.acked, toTag: m.toTag ?? e.request.message.toTag, code: String(e.code),
            reason: AccReasonPhrases.text(e.code), upstream: upstream)
        account(e.request, m, ack, event, missed: false)
    }
}

import SwiftletSDK

/// In-dialog requests (Kamailio's `dlg_onroute`, rr's callback): the dialog is found by the
/// `did` parameter of our Route (or by Call-ID and tags, `dlg_match_mode`), then moved by
/// the request's method.
extension DialogModule {
    /// `matchMode` overrides `dlg_match_mode` (`dlg_manage()` on an in-dialog request
    /// matches by Call-ID and tags).
    func onRoute(_ ctx: MessageContext, routeParameters: String?, matchMode: Int? = nil) {
        let state = DialogMessageStates.state(ctx)
        guard state.dialog == nil, ctx.message.isRequest else { return }
        guard let toTag = ctx.toTagRange, !toTag.isEmpty else { return }
        let mode = matchMode ?? settings.matchMode
        var found: (Dialog, DialogDirection?)?
        if mode != 2 {
            switch routeParameters.flatMap({ Self.routeDialogID(settings.rrParam, in: $0) }) {
            case .failure(let e):
                Log.error("dialog", "malformed rr param '\(e.value)'")
                return
            case .success(let (value, entry, id)):
                if let d = table.lookup(entry: entry, id: id) {
                    guard let ident = MessageIdentity(ctx) else { return }
                    if let dir = table.locked(d, { ident.direction(in: d) }) {
                        found = (d, dir)
                    } else {
                        Log.warning(
                            "dialog",
                            "tight matching failed for \(ctx.message.methodText) with callid='\(ident.strings.callID)'")
                        if mode == 0 { return }
                    }
                } else {
                    Log.warning(
                        "dialog",
                        "unable to find dialog for \(ctx.message.methodText) with route param '\(value)' "
                            + "[\(entry):\(id)] and call-id '\(ctx.message.callID ?? "")'")
                    if mode == 0 { return }
                }
            case nil:
                if mode == 0 { return }
            }
        }
        if found == nil {
            guard let ident = MessageIdentity(ctx)?.strings,
                let (d, dir) = table.search(callID: ident.callID, fromTag: ident.fromTag, toTag: ident.toTag)
            else { return }
            found = (d, dir)
        }
        guard let (d, dir) = found else { return }
        state.dialog = d
        state.direction = dir == .downstream ? 1 : dir == .upstream ? 2 : 0
        let event: DialogStateEvent
        switch ctx.message.method {
        case .prack: event = .prack
        case .ack: event = .ack
        case .bye: event = .bye
        default: event = .request
        }
        let (old, new) = transition(d, event)
        table.locked(d) { state.lastStatus = (new, now - d.startTime) }
        runEventRoute(d, message: ctx.message, receive: ctx.receive, old: old, new: new)
        if new == .deleted && old != .deleted {
            // Kept until the BYE's transaction ends, to absorb messages in flight.
            tm?.register(.destroy, for: ctx) { [weak self] _ in self?.destroy(d) }
        }
        if new == .confirmed && old != .confirmed { addKeepAlive(d) }
        if event == .bye && new == .deleted && old != .deleted {
            _ = removeTimer(d)
            table.locked(d) { d.dflags |= dir == .upstream ? DialogFlags.calleeBye : DialogFlags.callerBye }
            runCallbacks(.terminated, d, ctx.message)
            statistics?.active.add(-1)
            if settings.dbMode == 1 { store(d) }
            return
        }
        guard event != .bye, new == .confirmed || new == .early else { return }
        if let t = timeoutValue(ctx), t != settings.defaultTimeout { table.locked(d) { d.lifetime = t } }
        let noReset = table.locked(d) { d.iflags & DialogFlags.timerNoReset != 0 } || settings.timeoutNoReset
        if new != .early && (old != .confirmed || !noReset) {
            updateTimer(d, seconds: table.locked(d) { d.lifetime })
            table.locked(d) { d.dflags |= DialogFlags.changed }
        }
        if event != .ack, let dir {
            let leg = dir == .upstream ? 1 : 0
            let m = ctx.message
            let contact =
                m.method == .invite ? (try? m.firstContact()).flatMap { $0 }.map { m.buffer.dialogText($0.uri) } : nil
            let cseq = (try? m.cseq()).map { String($0.number) }
            table.locked(d) {
                if let contact { d.contact[leg] = contact }
                if let cseq { d.cseq[leg] = cseq }
                d.dflags |= DialogFlags.changed
            }
        }
        if old == .confirmedWithoutAck {
            runCallbacks(.confirmed, d, ctx.message)
        } else {
            runCallbacks(.requestWithin, d, ctx.message)
            _ = rr?.addRecordRouteParameter(ctx, rrParameterPrefix + d.routeParameterValue)
        }
        if settings.dbMode == 1 { store(d) }
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String { Substring(self).trimmingCharacters(in: set) }
}

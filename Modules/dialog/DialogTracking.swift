import SwiftletSDK

/// Creating dialogs and following them through the initial INVITE's replies (Kamailio's
/// `dlg_new_dialog`, `dlg_onreq`, `dlg_onreply` in dlg_handlers.c).
extension DialogModule {
    /// The dialog of a message (`dlg_lookup_msg_dialog`): the one set for it, else matched
    /// by Call-ID and tags; with the direction when known.
    func messageDialog(_ ctx: MessageContext) -> (dialog: Dialog, direction: DialogDirection?)? {
        if let d = DialogMessageStates.existing(ctx)?.dialog { return (d, nil) }
        guard let id = MessageIdentity(ctx)?.strings,
            let (d, dir) = table.search(callID: id.callID, fromTag: id.fromTag, toTag: id.toTag)
        else { return nil }
        return (d, dir)
    }

    /// `dlg_manage()`: creates the dialog of an initial INVITE (in-dialog requests are
    /// matched to theirs by Call-ID and tags).
    func manage(_ ctx: MessageContext) -> Int {
        if let toTag = ctx.toTagRange, !toTag.isEmpty {
            onRoute(ctx, routeParameters: nil, matchMode: 2)
            return 1
        }
        guard newDialog(ctx, runCallbacks: !settings.initialCallbacksInScript) == 0 else { return -1 }
        let state = DialogMessageStates.state(ctx)
        guard state.dialog != nil else { return -1 }
        if !state.spiral { followTransaction(ctx) }
        return 1
    }

    /// tm's request-in: with `dlg_flag`, a new INVITE transaction whose request has the flag
    /// gets a dialog (Kamailio's `dlg_onreq`).
    func onRequestIn(_ event: TransactionEvent) {
        let ctx = event.request
        guard ctx.message.method == .invite, settings.dialogFlag >= 0 else { return }
        if let state = DialogMessageStates.existing(ctx), state.dialog != nil { return }
        guard ctx.flags & (UInt64(1) << UInt64(settings.dialogFlag)) != 0 else { return }
        guard newDialog(ctx, runCallbacks: true) == 0 else { return }
        let state = DialogMessageStates.state(ctx)
        if state.dialog != nil && !state.spiral { followTransaction(ctx) }
    }

    /// Registers the INVITE transaction's callbacks for the dialog of `ctx` (now or when the
    /// script creates the transaction; `dlg_set_tm_callbacks`).
    func followTransaction(_ ctx: MessageContext) {
        guard let d = DialogMessageStates.existing(ctx)?.dialog else { return }
        table.locked(d) { d.dflags |= DialogFlags.transaction }
        tm?.register([.responseIn, .responseOut, .onFailure], for: ctx) { [weak self] event in
            self?.onReply(d, event)
        }
    }

    /// Kamailio's `dlg_new_dialog`: 0 when the dialog was created or the request is a
    /// spiral of a known one, -1 otherwise.
    func newDialog(_ ctx: MessageContext, runCallbacks run: Bool) -> Int {
        let state = DialogMessageStates.state(ctx)
        guard state.dialog == nil, ctx.message.isRequest, ctx.message.method == .invite else { return -1 }
        let m = ctx.message
        let b = m.buffer
        // From and To parsed once each: their URIs and tags (Kamailio's `pre_match_parse`).
        guard let callIDRange = MessageIdentity.callID(m),
            let from = try? m.from(), let fromTag = from.tag(b), !fromTag.isEmpty, let to = try? m.to(),
            (to.tag(b) ?? 0..<0).isEmpty
        else { return -1 }
        let id = (callID: b.dialogText(callIDRange), fromTag: b.dialogText(fromTag))
        if settings.detectSpirals, let (known, _) = table.search(callID: id.callID, fromTag: id.fromTag, toTag: "") {
            if state.spiral { return 0 }
            if table.locked(known, { known.state != .deleted }) {
                state.spiral = true
                state.dialog = known
                return 0
            }
        }
        let contact = (try? m.firstContact()).flatMap { $0 }.map { b.dialogText($0.uri) } ?? ""
        let recordRoutes = (try? m.nameAddrs(.recordRoute)) ?? []
        let routeSet = recordRoutes.isEmpty ? "" : recordRoutes.map { b.dialogText($0.range) }.joined(separator: ",")
        let cseq = (try? m.cseq()).map { String($0.number) } ?? ""
        let lifetime = timeoutValue(ctx) ?? settings.defaultTimeout
        let d = table.create(
            callID: id.callID, fromURI: b.dialogText(from.uri), toURI: b.dialogText(to.uri),
            requestURI: ctx.requestURI ?? "", lifetime: lifetime, now: now
        ) { d in
            d.tag[0] = id.fromTag
            d.cseq = LegPair(cseq, "")
            d.contact[0] = contact
            d.routeSet[0] = routeSet
            d.callerRecordRoutes = recordRoutes.count
            d.socket = LegPair(ctx.receive.socket, ctx.receive.socket)
            d.variables = state.pendingVariables
            d.sflags |= state.flags
            d.iflags |= state.iflags
            d.timeoutRoute = state.timeoutRoute
            if settings.sendBye || state.timeoutBye != 0 { d.iflags |= DialogFlags.timeoutBye }
        }
        state.dialog = d
        state.pendingVariables = []
        for link in state.pendingProfiles {
            if let p = profiles[link.profile] { self.link(d, p, value: link.value) }
        }
        state.pendingProfiles = []
        if run { runCallbacks(.created, d, m) }
        if settings.matchMode != 2 {
            _ = rr?.addRecordRouteParameter(ctx, rrParameterPrefix + d.routeParameterValue)
        }
        statistics?.processed.increment()
        return 0
    }

    /// The dialog's lifetime from `timeout_avp` (`get_dlg_timeout`), nil when unset.
    func timeoutValue(_ ctx: MessageContext) -> Int? {
        guard let pv = timeoutVariable else { return nil }
        switch pv.get(ctx) {
        case .int(let i) where i > 0: return i
        default: return nil
        }
    }

    /// A callback of the initial INVITE's transaction (Kamailio's `dlg_onreply`). Kamailio
    /// moves the dialog when a reply is ready to go upstream (`TMCB_RESPONSE_READY`, before
    /// it is sent); tm's `responseOut` runs after sending, when the caller's ACK may already
    /// be routed. So provisional and 2xx replies move the dialog when they arrive
    /// (`responseIn`, before tm relays them), negative final replies when sent (they may be
    /// another branch's or tm's own 408), and local 1xx/2xx replies when sent.
    func onReply(_ d: Dialog, _ event: TransactionEvent) {
        switch event.type {
        case .responseIn:
            if let rctx = event.replyContext { DialogMessageStates.setDialog(d, for: rctx) }
            guard (101..<300).contains(event.code) else { return }
            replyMoves(d, event, onlyWhenChanged: false)
        case .onFailure:
            DialogMessageStates.setDialog(d, for: event.request)
        case .responseOut:
            // The local 100 Trying does not move the dialog (Kamailio runs RESPONSE_READY for
            // local replies from 200 on only).
            guard event.code > 100 else { return }
            replyMoves(d, event, onlyWhenChanged: event.code < 300)
        default: break
        }
    }

    /// The state change a reply causes, with its event route, callbacks and statistics.
    func replyMoves(_ d: Dialog, _ event: TransactionEvent, onlyWhenChanged: Bool) {
        let stateEvent: DialogStateEvent =
            event.code < 200 ? .reply1xx : event.code < 300 ? .reply2xx : .reply3xx
        let (old, new) = transition(d, stateEvent)
        if onlyWhenChanged && old == new { return }
        runEventRoute(d, message: event.reply, receive: event.request.receive, old: old, new: new)
        if new == .early {
            runCallbacks(.early, d, event.reply)
            if old != .early { statistics?.early.add(1) }
            return
        }
        if new == .confirmedWithoutAck && old != .confirmedWithoutAck && old != .confirmed {
            if let reply = event.reply { populateCallee(d, reply) }
            table.locked(d) {
                d.startTime = now
                d.dflags |= DialogFlags.new
            }
            insertTimer(d, seconds: table.locked(d) { d.lifetime })
            if settings.dbMode == 1 { store(d) }
            runCallbacks(.confirmedWithoutAck, d, event.reply)
            if old == .early { statistics?.early.add(-1) }
            statistics?.active.add(1)
            return
        }
        if new == .deleted && (old == .unconfirmed || old == .early) {
            runCallbacks(.failed, d, event.reply)
            if old == .early { statistics?.early.add(-1) }
            statistics?.failed.increment()
            destroy(d)
        }
    }

    /// Moves the dialog by `event` under its lock; a dialog that became deleted gets its end
    /// time and leaves its profiles.
    func transition(_ d: Dialog, _ event: DialogStateEvent) -> (old: DialogState, new: DialogState) {
        var links: [ProfileLink] = []
        let result = table.locked(d) { () -> (old: DialogState, new: DialogState) in
            let r = d.apply(event)
            if r.new == .deleted && r.old != .deleted {
                d.endTime = now
                links = d.profiles
                d.profiles = []
            }
            return r
        }
        if !links.isEmpty { unlinkAll(d, links) }
        return result
    }

    /// Saves the callee's tag, Contact and route set from the 2xx (`populate_leg_info` for
    /// the callee leg): the Record-Route entries reversed, without the caller's and ours.
    func populateCallee(_ d: Dialog, _ reply: SIPMessage) {
        let b = reply.buffer
        let contact = (try? reply.firstContact()).flatMap { $0 }.map { b.dialogText($0.uri) } ?? ""
        // The entries reversed: the callee's first, ours and the caller's last.
        let entries = (try? reply.nameAddrs(.recordRoute)) ?? []
        let skipCaller = table.locked(d) { d.callerRecordRoutes }
        var last = entries.count - skipCaller
        if settings.keepProxyRR & 1 == 0 {
            while last > 0, isOwnRoute(b, entries[last - 1]) { last -= 1 }
        }
        var routeSet = ""
        while last > 0 {
            if !routeSet.isEmpty { routeSet += "," }
            routeSet += b.dialogText(entries[last - 1].range)
            last -= 1
        }
        table.locked(d) {
            // Kamailio keeps the callee's CSeq of the request, which is none: "0".
            if d.cseq[1].isEmpty { d.cseq[1] = "0" }
            d.tag[1] = reply.toTag ?? ""
            d.contact[1] = contact
            d.routeSet[1] = routeSet
        }
    }

    /// A Record-Route entry of this server, read where it lies in the message.
    func isOwnRoute(_ b: [UInt8], _ entry: NameAddr) -> Bool {
        guard let uri = try? URIComponents.parse(b, entry.uri), uri.scheme != .other,
            let core
        else { return false }
        var host = uri.host
        if host.count > 1, b[host.lowerBound] == UInt8(ascii: "["), b[host.upperBound - 1] == UInt8(ascii: "]") {
            host = host.lowerBound + 1..<host.upperBound - 1
        }
        return core.isMyself(b.dialogText(host), uri.port)
    }

    /// Removes a dialog for good (Kamailio's `destroy_dlg` once its references are gone):
    /// out of the table, its timer, its profiles and the database.
    func destroy(_ d: Dialog) {
        _ = removeTimer(d)
        let links = table.locked(d) { () -> [ProfileLink] in
            let l = d.profiles
            d.profiles = []
            return l
        }
        unlinkAll(d, links)
        let wasLinked = table.locked(d) { !d.unlinked }
        table.unlink(d)
        if wasLinked && settings.dbMode != 0 { removeFromDatabase(d) }
    }
}

extension Array where Element == UInt8 {
    /// The bytes of `range` as a String.
    func dialogText(_ range: Range<Int>) -> String { String(decoding: self[range], as: UTF8.self) }
}

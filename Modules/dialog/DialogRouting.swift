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
        guard let toTag = ctx.message.toTag, !toTag.isEmpty else { return }
        let mode = matchMode ?? settings.matchMode
        var found: (Dialog, DialogDirection?)?
        if mode != 2 {
            if let value = routeParameters.flatMap({ Self.parameter(settings.rrParam, in: $0) }) {
                let parts = value.split(separator: ".", maxSplits: 1)
                guard parts.count == 2, let entry = ReverseHex.decode(parts[0]), let id = ReverseHex.decode(parts[1])
                else {
                    Log.error("dialog", "malformed rr param '\(value)'")
                    return
                }
                if let d = table.lookup(entry: entry, id: id) {
                    guard let ident = Self.identity(ctx.message) else { return }
                    if let dir = table.locked(d, { Self.match(d, ident) }) {
                        found = (d, dir)
                    } else {
                        Log.warning(
                            "dialog",
                            "tight matching failed for \(ctx.message.methodText) with callid='\(ident.callID)'")
                        if mode == 0 { return }
                    }
                } else {
                    Log.warning(
                        "dialog",
                        "unable to find dialog for \(ctx.message.methodText) with route param '\(value)' "
                            + "[\(entry):\(id)] and call-id '\(ctx.message.callID ?? "")'")
                    if mode == 0 { return }
                }
            } else if mode == 0 {
                return
            }
        }
        if found == nil {
            guard let ident = Self.identity(ctx.message),
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
            _ = rr?.addRecordRouteParameter(ctx, ";" + settings.rrParam + "=" + d.routeParameterValue)
        }
        if settings.dbMode == 1 { store(d) }
    }

    /// `match_dialog`: the direction of a request with this Call-ID and tags, nil when they
    /// are not the dialog's. Lock held.
    static func match(_ d: Dialog, _ id: (callID: String, fromTag: String, toTag: String)) -> DialogDirection? {
        guard d.callID == id.callID else { return nil }
        if d.tag[0] == id.fromTag && d.tag[1] == id.toTag { return .downstream }
        if d.tag[0] == id.toTag && d.tag[1] == id.fromTag { return .upstream }
        return nil
    }

    /// The value of `name` in `a=1;b=2` (no leading `;`).
    static func parameter(_ name: String, in parameters: String) -> String? {
        // Byte by byte (this runs for every in-dialog request): the fields between `;`,
        // each `name=value` with blanks around name and value ignored.
        let p = Array(parameters.utf8)
        let wanted = Array(name.utf8)
        func isBlank(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }
        func trimmed(_ lo: Int, _ hi: Int) -> Range<Int> {
            var lo = lo
            var hi = hi
            while lo < hi, isBlank(p[lo]) { lo += 1 }
            while hi > lo, isBlank(p[hi - 1]) { hi -= 1 }
            return lo..<hi
        }
        var start = 0
        while start < p.count {
            var end = start
            while end < p.count, p[end] != UInt8(ascii: ";") { end += 1 }
            if end > start {
                var eq = start
                while eq < end, p[eq] != UInt8(ascii: "=") { eq += 1 }
                // A field that starts with `=` names what follows it (as splitting on `=`
                // without empty pieces did).
                let nameRange = eq == start ? trimmed(start + 1, end) : trimmed(start, eq)
                if p[nameRange].elementsEqual(wanted) {
                    guard eq > start, eq < end else { return "" }
                    return String(decoding: p[trimmed(eq + 1, end)], as: UTF8.self)
                }
            }
            start = end + 1
        }
        return nil
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

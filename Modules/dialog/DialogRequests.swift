import SwiftletSDK

/// Requests the module sends inside a dialog through tm (Kamailio's dlg_req_within.c and
/// dlg_transfer.c): BYEs and keep-alive OPTIONS.
extension DialogModule {
    /// The in-dialog request towards `leg` (`build_dlg_t`): Request-URI the leg's Contact,
    /// the leg's route set, the other leg's tag and CSeq (plus `cseqOffset`). Nil without a
    /// Contact for the leg.
    func request(_ d: Dialog, to leg: Leg, method: String, headers: String, cseqOffset: Int = 1) -> LocalRequest? {
        table.locked(d) { () -> LocalRequest? in
            let i = leg.rawValue
            let other = 1 - i
            guard !d.contact[i].isEmpty else { return nil }
            var cseq = Int(d.cseq[other]) ?? 0
            if d.iflags & DialogFlags.prack != 0, method == "BYE" { cseq += 80 }
            var lines = "Max-Forwards: 70\r\n"
            for route in Self.splitRouteSet(d.routeSet[i]) { lines += "Route: \(route)\r\n" }
            lines += headers
            return LocalRequest(
                method: method, requestURI: d.contact[i], sendSocket: d.socket[i],
                from: leg == .caller ? d.toURI : d.fromURI, fromTag: d.tag[other],
                to: leg == .caller ? d.fromURI : d.toURI, toTag: d.tag[i], callID: d.callID, cseq: cseq + cseqOffset,
                headers: lines)
        }
    }

    /// The route set's entries (`<a>,<b>` as stored; commas inside `<>` or quotes kept).
    static func splitRouteSet(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        var inAngle = false
        var inQuote = false
        for c in text {
            if c == "\"" { inQuote.toggle() }
            if !inQuote && c == "<" { inAngle = true }
            if !inQuote && c == ">" { inAngle = false }
            if c == ",", !inAngle, !inQuote {
                let t = current.trimmingCharacters(in: " \t")
                if !t.isEmpty { result.append(t) }
                current = ""
            } else {
                current.append(c)
            }
        }
        let t = current.trimmingCharacters(in: " \t")
        if !t.isEmpty { result.append(t) }
        return result
    }

    /// The extra headers of every request: `dlg_extra_hdrs`, then `headers`.
    func extraHeaders(_ headers: String) -> String {
        var h = settings.extraHeaders
        if !h.isEmpty, !h.hasSuffix("\n") { h += "\r\n" }
        var more = headers
        if !more.isEmpty, !more.hasSuffix("\n") { more += "\r\n" }
        return h + more
    }

    /// True when BYEs may be sent (`send_bye` supports confirmed dialogs only).
    func canSendBye(_ d: Dialog) -> Bool {
        let state = table.locked(d) { d.state }
        guard state == .confirmedWithoutAck || state == .confirmed else {
            Log.error("dialog", "terminating non-confirmed dialogs not supported")
            return false
        }
        return true
    }

    /// Sends a BYE to `leg` (`send_bye`); its final reply moves the dialog (`bye_reply_cb`).
    /// The caller checked `canSendBye` (the first BYE's reply may end the dialog before the
    /// second BYE goes out).
    func sendBye(_ d: Dialog, _ leg: Leg, headers: String) -> Bool {
        var all = headers
        if leg == .callee, !settings.calleeHeaders.isEmpty {
            all += settings.calleeHeaders
            if !all.hasSuffix("\n") { all += "\r\n" }
        }
        guard let uac, let request = request(d, to: leg, method: "BYE", headers: all) else {
            Log.error("dialog", "failed to create dlg_t")
            return false
        }
        let result = uac.sendRequest(request) { [weak self] reply in
            guard reply.isFinal else { return }
            self?.byeReplied(d)
        }
        if case .failure(let e) = result {
            Log.error("dialog", "failed to send the BYE request: \(e)")
            return false
        }
        return true
    }

    /// A final reply to a BYE the module sent: the first ends the dialog, the second removes
    /// it.
    func byeReplied(_ d: Dialog) {
        let (old, new) = transition(d, .bye)
        if new == .deleted && old != .deleted {
            _ = removeTimer(d)
            runCallbacks(.terminated, d, nil)
            statistics?.active.add(-1)
        }
        let replies = table.locked(d) { () -> Int in
            d.byeReplies += 1
            return d.byeReplies
        }
        if replies >= 2 || (old == .deleted && new == .deleted) { destroy(d) }
    }

    /// `dlg_bye_all`: BYE to both sides, then `event_route[dialog:end]`.
    func byeAll(_ d: Dialog, headers: String) -> Bool {
        runCallbacks(.terminated, d, nil)
        let h = extraHeaders(headers)
        let state = table.locked(d) { d.state }
        var sent = false
        if canSendBye(d) {
            let a = sendBye(d, .caller, headers: h)
            let b = sendBye(d, .callee, headers: h)
            sent = a && b
        }
        runEventRoute(d, message: nil, receive: nil, old: state, new: .deleted)
        return sent
    }

    /// `dlg_bye(side)`: one BYE, once per side.
    func bye(_ d: Dialog, _ leg: Leg, headers: String) -> Bool {
        let flag = leg == .caller ? DialogFlags.callerBye : DialogFlags.calleeBye
        let first = table.locked(d) { () -> Bool in
            guard d.dflags & flag == 0 else { return false }
            d.dflags |= flag
            return true
        }
        guard first else { return false }
        let state = table.locked(d) { d.state }
        let ok = canSendBye(d) && sendBye(d, leg, headers: extraHeaders(headers))
        runEventRoute(d, message: nil, receive: nil, old: state, new: .deleted)
        return ok
    }

    /// A keep-alive OPTIONS to `leg`, with a CSeq below the leg's (`dlg_send_ka`).
    func sendKeepAlive(_ d: Dialog, _ leg: Leg) {
        let headers = leg == .callee ? settings.calleeHeaders : ""
        let current = table.locked(d) { Int(d.cseq[1 - leg.rawValue]) ?? 0 }
        guard let uac, var request = request(d, to: leg, method: "OPTIONS", headers: headers, cseqOffset: 0)
        else { return }
        request.cseq = current > 1 ? current - 1 : max(0, current)
        _ = uac.sendRequest(request) { [weak self] reply in
            guard reply.isFinal else { return }
            self?.keepAliveReplied(d, leg, code: reply.code)
        }
    }
}

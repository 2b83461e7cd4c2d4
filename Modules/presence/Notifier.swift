import SwiftletSDK

/// The NOTIFYs (Kamailio's notify.c): their body from the stored publications, their
/// headers, and what their replies do.
extension PresenceModule {
    /// NOTIFYs every active watcher of `uri`'s `event` (`publ_notify`). When the event's
    /// aggregation gives no body, the PUBLISH's own body (`published`) is sent, as Kamailio's
    /// `notify_body ? notify_body : body`.
    func notifyWatchers(uri: String, event: PresenceEvent, published: [UInt8]? = nil) {
        let active = subscriptions.watchers(of: uri, event: event.name).filter { $0.status == .active }
        guard !active.isEmpty else { return }
        var body = notifyBody(uri: uri, event: event)
        if body == nil, let published, !published.isEmpty { body = published }
        for s in active { notify(s, event: event, body: .some(body)) }
    }

    /// The body of a NOTIFY of `uri`'s `event` (`get_p_notify_body`): the event module's
    /// aggregation of the live publications, oldest first; without one, the newest body.
    func notifyBody(uri: String, event: PresenceEvent) -> [UInt8]? {
        guard let presentities, let owner = RequestFields.userAndHost(uri) else { return nil }
        let publications: [Presentity]
        do {
            publications = try presentities.publications(
                user: owner.user, domain: owner.host, event: event.name, now: now)
        } catch {
            Log.error("presence", "querying presentity: \(error)")
            return nil
        }
        if let aggregate = event.aggregate {
            return aggregate(owner.user, owner.host, publications.map(\.body))
        }
        return publications.last?.body
    }

    /// Sends a NOTIFY for `s` (`send_notify_request`): the current state of an active
    /// subscription (the body given, or built), none for a pending or terminated one;
    /// `terminated` ends it with that reason. For a watcher-info event the body lists the
    /// watchers of the presentity, or only `watcher` (a partial document).
    func notify(
        _ s: Subscription, event: PresenceEvent, body given: [UInt8]?? = nil, terminated: String? = nil,
        watcher: Subscription? = nil
    ) {
        guard let uac else { return }
        // The local CSeq goes up by one per NOTIFY (kept in the table while it is there).
        let updated = subscriptions.update(s.key, markDirty: settings.subsDBMode == 2) {
            $0.localCSeq += 1
            $0.version += 1
        }
        let cseq = updated?.localCSeq ?? s.localCSeq + 1
        if settings.subsDBMode == 1, terminated == nil, let current = subscriptions.find(s.key) {
            try? watchers?.update(current, now: now)
        }
        let remaining = s.expires - now
        var status = s.status
        var reason = s.reason
        if terminated != nil || remaining <= 0 {
            status = .terminated
            reason = terminated ?? "timeout"
        }
        var body: [UInt8]? = nil
        if status == .active, !event.isPublished {
            body = watcherInfoBody(s, winfo: event, version: updated?.version ?? s.version + 1, watcher: watcher)
        } else if status == .active {
            body = given ?? notifyBody(uri: s.presentityURI, event: event)
            // The event's per-watcher rewrite (`aux_body_processing`) with the new version.
            if let b = body, let rewrite = event.perWatcherBody,
                let rewritten = rewrite(b, updated?.version ?? s.version + 1)
            {
                body = rewritten
            }
        }
        var headers = "Max-Forwards: 70\r\nEvent: \(event.name)"
        if !s.eventID.isEmpty { headers += ";id=\(s.eventID)" }
        headers += "\r\nContact: <\(s.localContact)"
        if !s.localContact.contains(";transport=") {
            if s.socket.hasPrefix("tcp:") { headers += ";transport=tcp" }
            if s.socket.hasPrefix("tls:") { headers += ";transport=tls" }
            if s.socket.hasPrefix("sctp:") { headers += ";transport=sctp" }
        }
        headers += ">\r\nSubscription-State: \(status.text)"
        headers += status == .terminated ? ";reason=\(reason)\r\n" : ";expires=\(max(remaining, 0))\r\n"
        if let body, !body.isEmpty { headers += "Content-Type: \(event.contentType)\r\n" }
        for route in Self.splitRouteSet(s.recordRoute) { headers += "Route: \(route)\r\n" }
        let request = LocalRequest(
            method: "NOTIFY", requestURI: s.contact, sendSocket: LocalSockets.find(listen: s.socket),
            from: "sip:\(s.toUser)@\(s.toDomain)", fromTag: s.toTag, to: "sip:\(s.fromUser)@\(s.fromDomain)",
            toTag: s.fromTag, callID: s.callID, cseq: cseq, headers: headers, body: body ?? [])
        let key = s.key
        let result = uac.sendRequest(request) { [weak self] reply in
            guard reply.isFinal else { return }
            self?.notifyReplied(key, code: reply.code)
        }
        if case .failure(let e) = result {
            Log.error("presence", "in function tmb.t_request_within: \(e)")
        }
    }

    /// A final reply to a NOTIFY (`p_tm_callback`): 481, or 408 with `timeout_rm_subs`,
    /// ends the subscription.
    func notifyReplied(_ key: SubscriptionKey, code: Int) {
        guard code == 481 || (code == 408 && settings.timeoutRemoveSubscriptions != 0) else { return }
        guard subscriptions.remove(key, remember: settings.subsDBMode == 2) != nil else { return }
        if settings.subsDBMode == 1 {
            do { try watchers?.delete(key) } catch { Log.error("presence", "deleting subscription: \(error)") }
        }
    }

    /// The entries of a stored route set (`<a>,<b>`; commas inside `<>` or quotes kept).
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
}

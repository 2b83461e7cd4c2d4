import SwiftletSDK

/// `handle_subscribe([watcher_uri])` (Kamailio's subscribe.c): new subscriptions,
/// refreshes and unsubscriptions, with their 200 and the NOTIFY.
extension PresenceModule {
    /// What a failed SUBSCRIBE is answered with.
    struct Refusal: Error {
        let code: Int
        let reason: String
    }

    func handleSubscribe(_ ctx: MessageContext, watcher: String?) -> Int {
        var watcherParts: (user: String, host: String)?
        if let watcher {
            guard let w = RequestFields.userAndHost(watcher) else {
                Log.error("presence", "failed to parse watcher URI")
                return -1
            }
            watcherParts = w
        }
        do {
            try subscribe(ctx, watcher: watcherParts)
            return 1
        } catch let r as Refusal {
            replyError(ctx, r.code, r.reason)
        } catch {
            Log.error("presence", "in update_subscription: \(error)")
            replyError(ctx, 500, "Server Internal Error")
        }
        return -1
    }

    private func subscribe(_ ctx: MessageContext, watcher: (user: String, host: String)?) throws {
        let m = ctx.message
        let b = m.buffer
        guard let parsed = RequestFields.event(m) else {
            Log.error("presence", "Missing event header field value")
            throw Refusal(code: 489, reason: "Bad Event")
        }
        guard case .success(let e) = parsed else { throw Refusal(code: 400, reason: "Bad request") }
        guard let event = event(named: e.name) else {
            Log.notice("presence", "Unsupported presence event \(e.name)")
            throw Refusal(code: 489, reason: "Bad Event")
        }
        var expires = event.defaultExpires
        if m.firstHeader(.expires) != nil {
            guard let v = try? m.expires() else { throw Refusal(code: 500, reason: "Server Internal Error") }
            expires = v
        }
        if expires > settings.maxExpires { expires = settings.maxExpires }
        if expires > 0, settings.minExpires > 0, expires < settings.minExpires {
            guard settings.minExpiresAction == 2 else { throw Refusal(code: 423, reason: "Interval Too Brief") }
            expires = settings.minExpires
        }
        let internalError = Refusal(code: 500, reason: "Server Internal Error")
        guard let to = try? m.to(), let from = try? m.from(),
            let toParts = RequestFields.userAndHost(b, to.uri), let fromParts = RequestFields.userAndHost(b, from.uri),
            let callID = m.callID, let cseq = try? m.cseq()
        else { throw internalError }
        guard let contact = (try? m.firstContact()) ?? nil, !contact.isWildcard else {
            Log.error("presence", "cannot parse contact header")
            throw internalError
        }
        guard let fromTag = from.tag(b).map({ RequestFields.text(b, $0) }), !fromTag.isEmpty else {
            Log.error("presence", "no from tag value present")
            throw internalError
        }
        let w = watcher ?? fromParts
        let existingTag = to.tag(b).map { RequestFields.text(b, $0) } ?? ""
        if existingTag.isEmpty {
            guard let ruri = m.requestURIRange, let owner = RequestFields.userAndHost(b, ruri) else {
                throw internalError
            }
            guard let tag = core?.apis.lookup(ReplyToTagAPI.self)?.replyToTag(ctx), !tag.isEmpty else {
                Log.error("presence", "while creating to_tag")
                throw internalError
            }
            let recordRoute = m.headers(.recordRoute).map { m.value(of: $0) }.joined(separator: ",")
            var s = Subscription(
                presentityURI: "sip:\(owner.user)@\(owner.host)", watcherUser: w.user, watcherDomain: w.host,
                toUser: toParts.user, toDomain: toParts.host, fromUser: fromParts.user, fromDomain: fromParts.host,
                event: event.name, eventID: e.id, toTag: tag, fromTag: fromTag, callID: callID,
                localCSeq: 1, remoteCSeq: Int(cseq.number), contact: RequestFields.text(b, contact.uri),
                recordRoute: recordRoute, expires: expires, status: .active, reason: "", version: 0,
                socket: ctx.receive.socket?.description ?? "\(ctx.receive.proto.name):\(ctx.receive.local)",
                localContact: localContact(ctx), userAgent: RequestFields.header(m, "User-Agent") ?? "", flags: 0)
            if event.requiresAuthorization { try authorize(&s, event) }
            try newSubscription(ctx, s, event)
        } else {
            let key = SubscriptionKey(callID: callID, toTag: existingTag, fromTag: fromTag)
            guard var s = subscriptions.find(key), s.event == event.name else {
                Log.info("presence", "getting stored info")
                throw Refusal(code: 481, reason: "Subscription does not exist")
            }
            s.remoteCSeq = Int(cseq.number)
            s.contact = RequestFields.text(b, contact.uri)
            s.expires = expires
            try refreshSubscription(ctx, s, event)
        }
    }

    /// The local contact (`ps_fill_local_contact`): `server_address`, or the receiving
    /// socket as `sip:ip:port;transport=proto`.
    func localContact(_ ctx: MessageContext) -> String {
        if !settings.serverAddress.isEmpty { return settings.serverAddress }
        let proto: String
        switch ctx.receive.proto {
        case .udp: proto = "udp"
        case .tcp: proto = "tcp"
        case .tls: proto = "tls"
        case .sctp: proto = "sctp"
        case .ws, .wss: proto = "ws"
        }
        let host: String
        let port: Int
        if let socket = ctx.receive.socket {
            host = socket.isIPv6 ? "[\(socket.advertisedHost)]" : socket.advertisedHost
            port = socket.advertisedPort
        } else {
            let l = ctx.receive.local
            host = l.isIPv6 ? "[\(l.ipString)]" : l.ipString
            port = l.port
        }
        return (host.hasPrefix("sip:") ? "" : "sip:") + "\(host):\(port);transport=\(proto)"
    }

    /// The authorization of a new watcher: its `watchers` row, or the event's decision
    /// (presence_xml's `force_active`), stored in `watchers`.
    private func authorize(_ s: inout Subscription, _ event: PresenceEvent) throws {
        guard let watchers else { return }
        if let stored = try watchers.watcherStatus(
            presentity: s.presentityURI, user: s.watcherUser, domain: s.watcherDomain, event: event.name)
        {
            s.status = stored.status
            s.reason = stored.reason
            return
        }
        s.status = event.authorize?(s.watcherURI, s.presentityURI) ?? .pending
        try watchers.insertWatcher(
            presentity: s.presentityURI, user: s.watcherUser, domain: s.watcherDomain, event: event.name,
            status: s.status, reason: s.reason, now: now)
    }

    /// The 2xx of a SUBSCRIBE (`send_2XX_reply`): `Expires` and `Contact`.
    private func replySubscribed(_ ctx: MessageContext, _ s: Subscription, _ event: PresenceEvent, expires: Int) {
        let code = event.isPublished && settings.subsRespond200 == 0 ? 202 : 200
        var contact = s.localContact
        if !contact.contains(";transport=") {
            switch ctx.receive.proto {
            case .tcp: contact += ";transport=tcp"
            case .tls: contact += ";transport=tls"
            case .sctp: contact += ";transport=sctp"
            case .ws, .wss: contact += ";transport=ws"
            case .udp: break
            }
        }
        reply(ctx, code, "OK", headers: "Expires: \(expires)\r\nContact: <\(contact)>\r\n")
    }

    private func newSubscription(_ ctx: MessageContext, _ s: Subscription, _ event: PresenceEvent) throws {
        var stored = s
        let relative = s.expires
        if relative > 0 {
            stored.expires = relative + now
            stored.version = 0
            subscriptions.store(stored, isNew: settings.subsDBMode == 2, markDirty: settings.subsDBMode == 2)
            if settings.subsDBMode == 1 { try watchers?.insert(stored, now: now) }
        }
        replySubscribed(ctx, s, event, expires: relative)
        notifyAfterReply(stored, event, expires: relative)
    }

    /// The NOTIFYs after the 2xx of a SUBSCRIBE that does not end the subscription: with a
    /// watcher-info peer (`presence.winfo` for `presence`), its subscribers first learn of
    /// this watcher (a partial document), then the watcher gets its NOTIFY; otherwise the
    /// NOTIFY goes only with `send_fast_notify`.
    private func notifyAfterReply(_ s: Subscription, _ event: PresenceEvent, expires: Int) {
        if event.isPublished, expires != 0, let winfo = watcherInfoPeer(of: event) {
            notifyWatcherInfo(uri: s.presentityURI, winfo: winfo, watcher: s)
            notify(s, event: event)
        } else if settings.sendFastNotify != 0 {
            notify(s, event: event)
        }
    }

    private func refreshSubscription(_ ctx: MessageContext, _ s: Subscription, _ event: PresenceEvent) throws {
        let relative = s.expires
        if relative == 0 {
            var gone = subscriptions.remove(s.key, remember: settings.subsDBMode == 2) ?? s
            if settings.subsDBMode == 1 { try watchers?.delete(s.key) }
            replySubscribed(ctx, s, event, expires: 0)
            // The watcher-info subscribers get the full list without this watcher.
            if event.isPublished, let winfo = watcherInfoPeer(of: event) {
                notifyWatcherInfo(uri: s.presentityURI, winfo: winfo, watcher: nil)
            }
            gone.remoteCSeq = s.remoteCSeq
            gone.contact = s.contact
            gone.expires = now
            notify(gone, event: event, terminated: "timeout")
            return
        }
        let updated = subscriptions.update(s.key, markDirty: settings.subsDBMode == 2) { stored in
            stored.expires = relative + self.now
            stored.remoteCSeq = s.remoteCSeq
            stored.contact = s.contact
        }
        guard let updated else { throw Refusal(code: 481, reason: "Subscription does not exist") }
        if settings.subsDBMode == 1 { try watchers?.update(updated, now: now) }
        replySubscribed(ctx, updated, event, expires: relative)
        notifyAfterReply(updated, event, expires: relative)
    }
}

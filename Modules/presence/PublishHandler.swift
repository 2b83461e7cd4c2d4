import SwiftletSDK

/// `handle_publish([sender_uri])` (Kamailio's publish.c and `ps_db_update_presentity`):
/// stores, refreshes or removes a publication and notifies the watchers.
extension PresenceModule {
    func handlePublish(_ ctx: MessageContext, sender: String?) -> Int {
        let m = ctx.message
        guard let parsed = RequestFields.event(m) else {
            Log.warning("presence", "Missing or unsupported event header field value")
            replyError(ctx, 489, "Bad Event")
            return -1
        }
        guard case .success(let e) = parsed else {
            replyError(ctx, 400, "Bad request")
            return -1
        }
        guard let event = event(named: e.name) else {
            Log.warning("presence", "Missing or unsupported event header field value")
            Log.error("presence", "    event=[\(e.name)]")
            replyError(ctx, 489, "Bad Event")
            return -1
        }
        let ifMatch = RequestFields.header(m, "SIP-If-Match")
        var expires = event.defaultExpires
        if m.firstHeader(.expires) != nil {
            guard let v = try? m.expires() else {
                replyError(ctx, 500, "Server Internal Error")
                return -1
            }
            expires = v
        }
        if expires > settings.maxExpires { expires = settings.maxExpires }
        guard let ruri = m.requestURIRange, let owner = RequestFields.userAndHost(m.buffer, ruri) else {
            replyError(ctx, 400, "Bad request")
            return -1
        }
        guard m.firstHeader(.contentLength) != nil || ctx.receive.proto == .udp else {
            replyError(ctx, 400, "Bad request")
            return -1
        }
        let body = RequestFields.body(m)
        if body.isEmpty, ifMatch == nil {
            Log.error("presence", "No E-Tag and no body found")
            replyError(ctx, 400, "Invalid request")
            return -1
        }
        if let sender, RequestFields.userAndHost(sender) == nil {
            Log.error("presence", "bad sender SIP address!")
            replyError(ctx, 400, "Bad request")
            return -1
        }
        if !body.isEmpty, let check = event.checkBody, let refusal = check(body) {
            reply(ctx, refusal.code, refusal.reason)
            return -1
        }
        do {
            if let ifMatch {
                return try refreshPublication(
                    ctx, event, owner, etag: ifMatch, expires: expires, body: body, sender: sender)
            }
            return try newPublication(ctx, event, owner, expires: expires, body: body, sender: sender)
        } catch {
            Log.error("presence", "when updating presentity: \(error)")
            replyError(ctx, 500, "Server Internal Error")
            return -1
        }
    }

    /// The 200 of a PUBLISH (`publ_send200ok`).
    private func replyPublished(_ ctx: MessageContext, expires: Int, etag: String) {
        let shown = expires == 0 ? 0 : expires - settings.expiresOffset
        reply(ctx, 200, "OK", headers: "Expires: \(shown)\r\nSIP-ETag: \(etag)\r\n")
    }

    private func newPublication(
        _ ctx: MessageContext, _ event: PresenceEvent, _ owner: (user: String, host: String), expires: Int,
        body: [UInt8], sender: String?
    ) throws -> Int {
        guard let presentities else { return -1 }
        let etag = generateETag(publications: 0)
        let t = now
        if expires > 0 {
            // The dialog event: a publication of a dialog replaces the stored ones of the
            // same dialog id (`delete_presentity_if_dialog_id_exists`).
            if let dialogID = event.dialogID, let id = dialogID(body) {
                for old in try presentities.publications(
                    user: owner.user, domain: owner.host, event: event.name, now: Int.min)
                where dialogID(old.body) == id {
                    try presentities.delete(old)
                    break
                }
            }
            let p = Presentity(
                user: owner.user, domain: owner.host, event: event.name, etag: etag, expires: t + expires,
                receivedTime: t, body: body, sender: sender ?? "", priority: 0,
                ruid: "pres-\(startupTime)-\(etag)")
            try presentities.insert(p)
        }
        replyPublished(ctx, expires: expires, etag: etag)
        notifyWatchers(uri: "sip:\(owner.user)@\(owner.host)", event: event, published: body)
        return 1
    }

    private func refreshPublication(
        _ ctx: MessageContext, _ event: PresenceEvent, _ owner: (user: String, host: String), etag: String,
        expires: Int, body: [UInt8], sender: String?
    ) throws -> Int {
        guard let presentities else { return -1 }
        guard let old = try presentities.find(user: owner.user, domain: owner.host, event: event.name, etag: etag)
        else {
            Log.info("presence", "No E-Tag match \(etag)")
            reply(ctx, 412, "Conditional request failed")
            return -1
        }
        let uri = "sip:\(owner.user)@\(owner.host)"
        if expires <= 0 {
            replyPublished(ctx, expires: 0, etag: etag)
            if event.dialogID != nil {
                // Kamailio NOTIFYs before it deletes: for the dialog event (whose aggregation
                // has no offline state) the watchers get the removed publication's last state.
                notifyWatchers(uri: uri, event: event, published: body)
                try presentities.delete(old)
            } else {
                try presentities.delete(old)
                notifyWatchers(uri: uri, event: event, published: body)
            }
            return 1
        }
        // The dialog event: a publication whose dialogs are all terminated is not refreshed
        // (`ps_match_dialog_state(presentity, "terminated")`).
        if let isTerminated = event.isTerminated, isTerminated(old.body) {
            Log.warning("presence", "Trying to update an already terminated state. Skipping update.")
            replyPublished(ctx, expires: expires, etag: etag)
            return 1
        }
        var newTag = etag
        if !event.etagNotNew {
            let n = Int(etag.split(separator: ".").last ?? "") ?? 0
            newTag = generateETag(publications: n + 1)
        }
        let t = now
        try presentities.refresh(
            old, etag: newTag, expires: t + expires, receivedTime: t, body: body.isEmpty ? nil : body, sender: sender)
        replyPublished(ctx, expires: expires, etag: newTag)
        notifyWatchers(uri: uri, event: event, published: body)
        return 1
    }
}

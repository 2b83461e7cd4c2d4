import SwiftletSDK

extension RegistrarModule {
    /// Kamailio's `build_contact`: `Contact: <uri>;q=..;expires=..[;received=".."]
    /// [;pub-gruu="..";temp-gruu=".."][;+sip.instance=".."][;reg-id=..], ...` for the valid
    /// contacts, "" when there is none. Adds `xavp_rcd` entries as Kamailio does.
    func contactHeader(_ ctx: MessageContext, _ contacts: [UsrlocContact], aor: String, host: String, now: Int)
        -> String
    {
        let msg = ctx.message
        let gruu =
            settings.gruuEnabled
            && msg.tokens(.supported).contains { msg.buffer.text($0).lowercased() == "gruu" }
        var header = ""
        for c in contacts where c.isValid(at: now) {
            header += header.isEmpty ? "Contact: <" : ", <"
            header += c.address
            header += ">"
            let q = RegisterRequest.qText(c.q)
            if !q.isEmpty {
                header += ";q="
                header += q
            }
            // A permanent binding (expires 0): the largest delta-seconds (Kamailio prints a
            // wrapped negative number).
            header += ";expires="
            header += String(c.expires == 0 ? 4_294_967_295 : c.expires - now)
            if !settings.receivedParam.isEmpty && !c.received.isEmpty {
                header += ";\(settings.receivedParam)=\"\(c.received)\""
            }
            if gruu && !c.instance.isEmpty {
                header += gruuParameters(c, aor: aor, host: host)
            }
            if !c.instance.isEmpty { header += ";+sip.instance=\"\(c.instance)\"" }
            if c.regID > 0 { header += ";reg-id=\(c.regID)" }
            if let rcd = settings.xavpRcd { addRecordXAVP(ctx, rcd, c, now: now) }
        }
        if !header.isEmpty { header += "\r\n" }
        return header
    }

    /// `;pub-gruu="sip:aor;gr=instance";temp-gruu="sip:ruid-hash@host;gr"` (RFC 5627).
    func gruuParameters(_ c: UsrlocContact, aor a: String, host: String) -> String {
        let inst = String(Self.bareInstance(c.instance))
        let pub = a.contains("@") ? a : "\(a)@\(host)"
        var hash = usrloc.aorHash(a)
        var hex = ""
        while hash != 0 {
            let digit = hash & 0x0f
            hex.append(String(digit, radix: 16))
            hash >>= 4
        }
        return ";pub-gruu=\"sip:\(pub);gr=\(inst)\";temp-gruu=\"sip:\(c.ruid)-\(hex)@\(host);gr\""
    }

    /// Kamailio's `xavp_rcd_helper`: `$xavp(rcd=>ruid/received/contact/expires/path)`, less
    /// what `xavp_rcd_mask` leaves out.
    func addRecordXAVP(_ ctx: MessageContext, _ root: String, _ c: UsrlocContact, now: Int) {
        let mask = settings.xavpRcdMask
        var fields: [XAVP] = []
        if mask & 1 == 0 { fields.append(XAVP(name: "ruid", value: .string(c.ruid))) }
        if mask & 8 == 0 && !c.received.isEmpty { fields.append(XAVP(name: "received", value: .string(c.received))) }
        if mask & 2 == 0 { fields.append(XAVP(name: "contact", value: .string(c.address))) }
        if mask & 4 == 0 { fields.append(XAVP(name: "expires", value: .int(c.expires - now))) }
        if mask & 16 == 0 && !c.path.isEmpty { fields.append(XAVP(name: "path", value: .string(c.path))) }
        XAVPLookup.add(ctx, root: root, fields)
    }

    /// Kamailio's `reg_send_reply`: the prepared headers as reply lumps, then the reply
    /// through tm when the request has a transaction, else stateless. -1 when not sent.
    func sendReply(_ ctx: MessageContext, _ reason: RegistrarError) -> Int {
        let r = prepareReply(ctx, reason)
        let code = r.code
        let sent: Int
        if let tm, tm.hasTransaction(ctx) {
            sent = tm.reply(ctx, code: code, reason: r.reason)
        } else if let sl {
            sent = sl.sendReply(ctx, code: code, reason: r.reason)
        } else {
            sent = -1
        }
        if sent < 0 { Log.error("registrar", "failed to send \(code) \(r.reason)") }
        return sent < 0 ? -1 : 1
    }

    /// Kamailio's `reg_reply_helper` without sending: adds the Contact, Path, Unsupported,
    /// Min-Expires, P-Registrar-Error and Retry-After headers to the reply lumps; returns the
    /// reason the reply carries (the Path check may turn 200 into 420).
    @discardableResult
    func prepareReply(_ ctx: MessageContext, _ given: RegistrarError) -> RegistrarError {
        let state = RegistrarThreadState.current
        var reason = given
        func add(_ line: String) { ctx.replyLumps.appendHeader(Array(line.utf8)) }
        if !state.contactHeader.isEmpty {
            add(state.contactHeader)
            state.contactHeader = ""
        }
        switch reason {
        case .fine:
            if settings.usePath && !state.path.isEmpty && settings.pathMode != 0 {
                let msg = ctx.message
                let supported = msg.tokens(.supported).contains { msg.buffer.text($0).lowercased() == "path" }
                if supported {
                    add("Path: \(state.path)\r\n")
                } else if settings.pathMode == 2 {
                    reason = .pathUnsupported
                    add("Unsupported: path\r\n")
                    add("Path: \(state.path)\r\n")
                }
            }
        case .outboundRequired:
            add("Unsupported: outbound\r\n")
        case .expiresTooLow:
            add("Min-Expires: \(settings.minExpires)\r\n")
        default:
            break
        }
        if reason.code != 200 {
            add("P-Registrar-Error: \(reason.info)\r\n")
            if reason.code >= 500 && settings.retryAfter != 0 { add("Retry-After: \(settings.retryAfter)\r\n") }
        }
        state.reason = reason
        return reason
    }
}

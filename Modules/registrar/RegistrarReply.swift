import SwiftletSDK

extension RegistrarModule {
    /// Kamailio's `build_contact`: `Contact: <uri>;q=..;expires=..[;received=".."]
    /// [;pub-gruu="..";temp-gruu=".."][;+sip.instance=".."][;reg-id=..], ...` for the valid
    /// contacts, empty when there is none, written as bytes in one buffer. Adds `xavp_rcd`
    /// entries as Kamailio does.
    func contactHeader(_ ctx: MessageContext, _ contacts: [UsrlocContact], aor: String, host: String, now: Int)
        -> [UInt8]
    {
        var header: [UInt8] = []
        var gruu: Bool?
        for c in contacts where c.isValid(at: now) {
            if header.isEmpty {
                header.reserveCapacity(c.address.utf8.count + c.received.utf8.count + c.instance.utf8.count + 80)
                header.append(contentsOf: "Contact: <".utf8)
            } else {
                header.append(contentsOf: ", <".utf8)
            }
            Self.append(c.address, to: &header)
            header.append(UInt8(ascii: ">"))
            let q = RegisterRequest.qText(c.q)
            if !q.isEmpty {
                header.append(contentsOf: ";q=".utf8)
                Self.append(q, to: &header)
            }
            // A permanent binding (expires 0): the largest delta-seconds (Kamailio prints a
            // wrapped negative number).
            header.append(contentsOf: ";expires=".utf8)
            Self.appendDecimal(c.expires == 0 ? 4_294_967_295 : c.expires - now, to: &header)
            if !settings.receivedParam.isEmpty && !c.received.isEmpty {
                header.append(UInt8(ascii: ";"))
                Self.append(settings.receivedParam, to: &header)
                header.append(contentsOf: "=\"".utf8)
                Self.append(c.received, to: &header)
                header.append(UInt8(ascii: "\""))
            }
            if !c.instance.isEmpty {
                if gruu == nil {
                    let msg = ctx.message
                    gruu =
                        settings.gruuEnabled
                        && msg.tokens(.supported).contains { msg.buffer.text($0).lowercased() == "gruu" }
                }
                if gruu == true { Self.append(gruuParameters(c, aor: aor, host: host), to: &header) }
                header.append(contentsOf: ";+sip.instance=\"".utf8)
                Self.append(c.instance, to: &header)
                header.append(UInt8(ascii: "\""))
            }
            if c.regID > 0 {
                header.append(contentsOf: ";reg-id=".utf8)
                Self.appendDecimal(c.regID, to: &header)
            }
            if let rcd = settings.xavpRcd { addRecordXAVP(ctx, rcd, c, now: now) }
        }
        if !header.isEmpty {
            header.append(13)
            header.append(10)
        }
        return header
    }

    /// Appends the UTF-8 of `text`.
    static func append(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    /// Appends `value` in decimal (a minus sign first when negative).
    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var v = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for the 20 digits of UInt64.max
        withUnsafeMutableBytes(of: &digits) { d in
            var i = d.count
            repeat {
                i -= 1
                d[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            } while v > 0
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[i...]))
        }
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
            ctx.replyLumps.appendHeader(state.contactHeader)
            state.contactHeader = []
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

import SwiftletSDK

/// How tm builds the CANCEL and the ACK of a negative reply it sends on a branch
/// (`reparse_invite`, `ac_extra_hdrs`).
struct HopByHopSettings {
    /// `reparse_invite` (1): from the INVITE as sent on the branch; 0: from the received one.
    var reparseInvite = true
    /// `ac_extra_hdrs`: headers of the sent INVITE whose name starts with it (case-insensitive)
    /// are copied too (with `reparse_invite` only).
    var extraHeaderPrefix = ""
}

extension LocalMessages {
    /// The ACK for a negative final reply on `branch` (RFC 3261 section 17.1.1.3), with the
    /// reply's To (and tag).
    static func ack(_ tx: Transaction, for branch: ClientBranch, reply: SIPMessage, _ settings: HopByHopSettings)
        -> [UInt8]?
    {
        guard let to = reply.firstHeader(.to) else { return nil }
        return hopByHop("ACK", tx, branch, toLine: reply.buffer.tmText(to.lineRange), reason: nil, settings)
    }

    /// The CANCEL of `branch` (RFC 3261 section 9.1); `reason` is the value of a `Reason`
    /// header to add.
    static func cancel(_ tx: Transaction, for branch: ClientBranch, reason: String?, _ settings: HopByHopSettings)
        -> [UInt8]?
    {
        hopByHop("CANCEL", tx, branch, toLine: nil, reason: reason, settings)
    }

    /// `toLine` nil: the request's own To.
    private static func hopByHop(
        _ method: String, _ tx: Transaction, _ branch: ClientBranch, toLine: String?, reason: String?,
        _ settings: HopByHopSettings
    ) -> [UInt8]? {
        guard let invite = try? SIPMessage(parsing: branch.request.bytes) else { return nil }
        let reasonLine = reason.map { "Reason: \($0)\r\n" } ?? ""
        if settings.reparseInvite {
            return reparsed(method, invite, toLine: toLine, reasonLine: reasonLine, settings.extraHeaderPrefix)
        }
        return fromReceived(method, tx, invite, toLine: toLine, reasonLine: reasonLine)
    }

    /// Kamailio's `build_local_reparse`: the sent INVITE's request line and, in its order, its
    /// first Via line, To (the reply's for an ACK), From, Call-ID, CSeq (the method replaced),
    /// Route and Max-Forwards lines, `ac_extra_hdrs` headers and Content-Length (0); Require
    /// and Proxy-Require and every other header are left out.
    private static func reparsed(
        _ method: String, _ invite: SIPMessage, toLine: String?, reasonLine: String, _ extraPrefix: String
    ) -> [UInt8]? {
        let b = invite.buffer
        guard let uri = invite.requestURI else { return nil }
        var text = "\(method) \(uri) SIP/2.0\r\n"
        var firstVia = true
        let prefix = extraPrefix.lowercased()
        for h in invite.headers {
            let line = b.tmText(h.lineRange)
            switch h.name {
            case .via:
                if firstVia { text += line }
                firstVia = false
            case .to: text += toLine ?? line
            case .from, .callID, .route, .maxForwards: text += line
            case .cseq:
                guard let cseq = try? invite.cseq() else { return nil }
                text += "\(b.tmText(h.nameRange)): \(cseq.number) \(method)\r\n"
            case .contentLength: text += "\(b.tmText(h.nameRange)): 0\r\n"
            case .require, .proxyRequire: break
            default:
                if !prefix.isEmpty, line.lowercased().hasPrefix(prefix) { text += line }
            }
        }
        return Array((text + reasonLine + "\r\n").utf8)
    }

    /// Kamailio's `build_local`: the branch's Request-URI and Via, then the received request's
    /// From, Call-ID, To (the reply's for an ACK) and CSeq number, `Max-Forwards: 70`, the
    /// received request's Route lines, User-Agent (with `server_signature`), Content-Length.
    private static func fromReceived(
        _ method: String, _ tx: Transaction, _ invite: SIPMessage, toLine: String?, reasonLine: String
    ) -> [UInt8]? {
        let b = invite.buffer
        let received = tx.ctx.message
        let r = received.buffer
        guard let uri = invite.requestURI, let via = invite.firstHeader(.via), let from = received.firstHeader(.from),
            let callID = received.firstHeader(.callID), let to = received.firstHeader(.to),
            let cseq = try? received.cseq()
        else { return nil }
        var text = "\(method) \(uri) SIP/2.0\r\n\(b.tmText(via.lineRange))"
        text += r.tmText(from.lineRange) + r.tmText(callID.lineRange) + (toLine ?? r.tmText(to.lineRange))
        text += "CSeq: \(cseq.number) \(method)\r\nMax-Forwards: 70\r\n"
        for h in received.headers where h.name == .route { text += r.tmText(h.lineRange) }
        if let server = Core.serverHeader, server.hasPrefix("Server: ") {
            text += "User-Agent: \(server.dropFirst(8))\r\n"
        }
        text += "Content-Length: 0\r\n" + reasonLine + "\r\n"
        return Array(text.utf8)
    }
}

import SwiftletSDK

extension Array where Element == UInt8 {
    /// The bytes in `range` as text (UTF-8).
    func tmText(_ range: Range<Int>) -> String { String(decoding: self[range], as: UTF8.self) }
}

/// The messages tm writes itself: its replies (100 Trying, `t_reply()`, a timeout's 408),
/// and the ACK and CANCEL it sends on a branch (Kamailio's `t_msgbuilder.c`).
enum LocalMessages {
    /// A reply to the transaction's request, with tm's To-tag from 180 on.
    static func reply(_ tx: Transaction, code: Int, reason: String) -> [UInt8]? {
        let ctx = tx.ctx
        var builder = StatelessReply(
            sourceIP: ctx.receive.sourceIP, sourcePort: ctx.receive.sourcePort, serverHeader: Core.serverHeader)
        builder.forceRport = ctx.forceRport
        // The script's reply lumps (append_to_reply(), ...), as sl adds them.
        let lumps = ctx.replyLumps
        var text = lumps.headers
        if text.count >= 2, text[text.count - 2] == 13, text[text.count - 1] == 10 { text.removeLast(2) }
        if !lumps.headers.isEmpty { builder.extraHeaders = [String(decoding: text, as: UTF8.self)] }
        if let body = lumps.body { builder.body = body }
        if tx.localTag == nil { tx.localTag = TagHash.hex128(["SWIFTLET-TM/tags", tx.id]) + "-" + tx.label }
        return try? builder.build(for: ctx.message, code: code, reason: reason, toTag: code >= 180 ? tx.localTag : nil)
    }

    /// The ACK for a negative final reply on `branch` (RFC 3261 section 17.1.1.3): the
    /// branch's Request-URI, top Via and Route set, From, Call-ID and CSeq number of the
    /// INVITE, and the To of the reply (with its tag).
    static func ack(for branch: ClientBranch, reply: SIPMessage) -> [UInt8]? {
        guard let invite = try? SIPMessage(parsing: branch.request.bytes), let to = reply.firstHeader(.to) else {
            return nil
        }
        return hopByHop("ACK", invite: invite, toLine: reply.buffer.tmText(to.lineRange), reason: nil)
    }

    /// The CANCEL of `branch` (RFC 3261 section 9.1): the INVITE's Request-URI, top Via,
    /// Route set, From, To, Call-ID and CSeq number; `Reason` when one is given.
    static func cancel(for branch: ClientBranch, reason: String?) -> [UInt8]? {
        guard let invite = try? SIPMessage(parsing: branch.request.bytes), let to = invite.firstHeader(.to) else {
            return nil
        }
        return hopByHop("CANCEL", invite: invite, toLine: invite.buffer.tmText(to.lineRange), reason: reason)
    }

    /// The `Reason` of a CANCEL that tm sends because of a final reply with status `cause`
    /// (Kamailio's `local_cancel_reason`, on by default): `SIP;cause=200;text="Call completed
    /// elsewhere"` after a 2xx, `SIP;cause=<code>` otherwise.
    static func localCancelReason(cause: Int) -> String {
        cause == 200 ? #"SIP;cause=200;text="Call completed elsewhere""# : "SIP;cause=\(cause)"
    }

    private static func hopByHop(_ method: String, invite: SIPMessage, toLine: String, reason: String?) -> [UInt8]? {
        let b = invite.buffer
        guard let uri = invite.requestURI, let via = invite.firstHeader(.via), let from = invite.firstHeader(.from),
            let callID = invite.firstHeader(.callID), let cseq = try? invite.cseq()
        else { return nil }
        // Only the top Via (ours) of the INVITE's first Via line.
        let top = (try? invite.topVia()).map { b.tmText($0.range) } ?? b.tmText(via.valueRange)
        var text = "\(method) \(uri) SIP/2.0\r\nVia: \(top)\r\n"
        for h in invite.headers where h.name == .route { text += b.tmText(h.lineRange) }
        text += b.tmText(from.lineRange)
        text += toLine
        text += b.tmText(callID.lineRange)
        text += "CSeq: \(cseq.number) \(method)\r\n"
        if let reason { text += "Reason: \(reason)\r\n" }
        // The Max-Forwards of the INVITE as it went out, as Kamailio's default
        // (`reparse_invite`) builds them from that INVITE.
        text += invite.firstHeader(.maxForwards).map { b.tmText($0.lineRange) } ?? "Max-Forwards: 70\r\n"
        text += "Content-Length: 0\r\n\r\n"
        return Array(text.utf8)
    }
}

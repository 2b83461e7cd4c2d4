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
        // The script's reply lumps (append_to_reply(), ...), as sl adds them: their lines as
        // they are, a CRLF added when the last has none. An IPv4 source is passed as a number
        // (no text made of it unless `received` is written).
        // Header lumps that are not ASCII are written as their UTF-8 text decodes (an invalid
        // sequence as U+FFFD), as tm always wrote them.
        let lumps = ctx.replyLumps
        var headers = lumps.headers
        if headers.contains(where: { $0 >= 0x80 }) { headers = Array(String(decoding: headers, as: UTF8.self).utf8) }
        let v4 = ctx.receive.source.ipv4Value
        let builder = StatelessReply(
            sourceIP: v4 == nil ? ctx.receive.sourceIP : "", sourcePort: ctx.receive.sourcePort,
            serverHeader: Core.serverHeader, forceRport: ctx.forceRport, extraHeaderBytes: headers,
            body: lumps.body ?? [], toTagSuffixCode: nil, sourceIPv4: v4)
        // The tag is made once, when the first reply that carries it goes (not for a 100).
        if code >= 180, tx.localTag == nil { tx.localTag = newToTag(tx) }
        return try? builder.build(
            for: ctx.message, code: code, reason: reason, toTag: code >= 180 ? tx.localTag : nil, topVia: ctx.via1)
    }

    /// The To-tag of the transaction's local replies.
    static func newToTag(_ tx: Transaction) -> String { TagHash.hex128(["SWIFTLET-TM/tags", tx.id]) + "-" + tx.label }

    /// The `Reason` of a CANCEL that tm sends because of a final reply with status `cause`
    /// (Kamailio's `local_cancel_reason`, on by default): `SIP;cause=200;text="Call completed
    /// elsewhere"` after a 2xx, `SIP;cause=<code>` otherwise.
    static func localCancelReason(cause: Int) -> String {
        cause == 200 ? #"SIP;cause=200;text="Call completed elsewhere""# : "SIP;cause=\(cause)"
    }
}

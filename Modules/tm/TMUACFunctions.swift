import SwiftletSDK

/// `t_uac_send()` and the `tm.reply` RPC (Kamailio's `rpc_uac.c` and
/// `rpc_reply` in `t_reply.c`).
extension TMModule {
    var uacFunctions: [ScriptFunction] {
        let m = manager
        return [
            ScriptFunction("t_uac_send", parameters: 6, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let f = try args.map { (a: ScriptArgument) throws(FixupError) -> StringFormat in try a.stringFormat() }
                return { ctx in
                    let v = f.map { $0.render(ctx) }
                    switch UACSendRequest.parse(
                        method: v[0], ruri: v[1], nexthop: v[2], socket: v[3], headers: v[4], body: v[5])
                    {
                    case .failure(let e):
                        Log.error("tm", "t_uac_send: \(e.message)")
                        return -1
                    case .success(let request):
                        if case .failure(let e) = m.sendLocal(request, completion: { _ in }) {
                            Log.error("tm", "t_uac_send: UAC error: \(e)")
                            return -1
                        }
                        return 1
                    }
                }
            }
        ]
    }

    var uacRPCs: [RPCCommand] {
        let m = manager
        return [
            RPCCommand(
                "tm.reply",
                "Reply transaction: code, reason, trans_id (index:label), to_tag, new_headers, [body]"
            ) { (r: RPCRequest) throws(RPCError) -> RPCValue in
                guard r.params.count >= 1, let code = try? r.int(0) else { throw RPCError(400, "Reply code expected") }
                guard r.params.count >= 2 else { throw RPCError(400, "Reason phrase expected") }
                guard r.params.count >= 3 else { throw RPCError(400, "Transaction ID expected") }
                guard r.params.count >= 4 else { throw RPCError(400, "To tag expected") }
                let reason = try r.string(1)
                let ids = try r.string(2).split(separator: ":", omittingEmptySubsequences: false)
                guard ids.count == 2, !ids[0].isEmpty, !ids[1].isEmpty else {
                    throw RPCError(400, "Invalid transaction ID")
                }
                let headers = r.params.count > 4 ? try r.string(4) : ""
                let body = r.params.count > 5 ? try r.string(5) : ""
                guard let tx = m.table.transaction(id: String(ids[0])), tx.label == String(ids[1]), tx.localUAC == nil
                else { throw RPCError(481, "No such transaction") }
                guard
                    m.replyWithBody(
                        tx, code: code, reason: reason, toTag: try r.string(3), headers: headers, body: body)
                else { throw RPCError(500, "Reply failed") }
                return .null
            }
        ]
    }
}

extension TransactionManager {
    /// Kamailio's `t_reply_with_body`: a local reply with the given To-tag, extra header
    /// lines and body to a transaction that has no final reply yet.
    func replyWithBody(_ tx: Transaction, code: Int, reason: String, toTag: String, headers: String, body: String)
        -> Bool
    {
        guard (100...699).contains(code) else { return false }
        return tx.locked {
            guard tx.lastReplyCode < 200, !tx.finished else { return false }
            let ctx = tx.ctx
            var builder = StatelessReply(
                sourceIP: ctx.receive.sourceIP, sourcePort: ctx.receive.sourcePort, serverHeader: Core.serverHeader)
            builder.forceRport = ctx.forceRport
            var text = headers
            while let last = text.utf8.last, last == 10 || last == 13 { text = String(text.utf8.dropLast())! }
            if !text.isEmpty { builder.extraHeaders = [text] }
            builder.body = Array(body.utf8)
            if !toTag.isEmpty { tx.localTag = toTag }
            guard
                let bytes = try? builder.build(
                    for: ctx.message, code: code, reason: reason, toTag: toTag.isEmpty ? nil : toTag)
            else { return false }
            stats.add(.local)
            sendUpstream(tx, bytes, code: code)
            return true
        }
    }
}

/// The parameters of `t_uac_send()` / `tm.t_uac_start` checked and turned into a request,
/// as Kamailio's `t_uac_send` does: From and To taken from `headers` (required), Call-ID,
/// From tag and CSeq from there when present, Route headers as the route set, every other
/// header line kept; `.` means an empty next hop or socket; a method ending in `.` gets no
/// ACK for a 2xx.
enum UACSendRequest {
    static func parse(
        method: String, ruri: String, nexthop: String, socket: String, headers: String, body: String,
        hexBody: Bool = false, noAck: Bool = false
    ) -> Result<LocalRequest, RPCError> {
        var method = method
        var body = Array(body.utf8)
        guard !method.isEmpty else { return .failure(RPCError(400, "Empty method")) }
        let noAutoAck = method.hasSuffix(".")
        if noAutoAck { method.removeLast() }
        guard URIComponents.isValid(ruri) else {
            return .failure(RPCError(400, "Invalid request uri \"\(ruri)\""))
        }
        if hexBody, !body.isEmpty {
            guard let raw = hexDecode(body) else { return .failure(RPCError(400, "Invalid hexa body")) }
            body = raw
        }
        let hop = nexthop == "." || nexthop.isEmpty ? nil : nexthop
        if let hop, !URIComponents.isValid(hop) {
            return .failure(RPCError(400, "Invalid next-hop uri \"\(hop)\""))
        }
        var sendSocket: ListeningSocket?
        if socket != "." && !socket.isEmpty {
            guard let s = LocalSockets.find(listen: socket) else {
                return .failure(RPCError(400, "No local socket for \"\(socket)\""))
            }
            sendSocket = s
        }
        var block = headers
        if !block.isEmpty, block.utf8.last != 10 { block += "\r\n" }
        guard let faked = try? SIPMessage(parsing: Array(("X sip:x SIP/2.0\r\n" + block + "\r\n").utf8)) else {
            return .failure(RPCError(400, "Invalid headers"))
        }
        let b = faked.buffer
        if !body.isEmpty, faked.firstHeader(.contentType) == nil {
            return .failure(RPCError(400, "Content-Type missing"))
        }
        if !body.isEmpty, faked.firstHeader(.contentLength) != nil {
            return .failure(RPCError(400, "Content-Length disallowed"))
        }
        guard let to = faked.firstHeader(.to), let toNA = try? NameAddr.parse(b, to.valueRange) else {
            return .failure(RPCError(400, "To missing"))
        }
        guard let from = faked.firstHeader(.from), let fromNA = try? NameAddr.parse(b, from.valueRange) else {
            return .failure(RPCError(400, "From missing"))
        }
        var cseq: Int?
        if let c = faked.firstHeader(.cseq) {
            let parts = b.tmText(c.valueRange).split(separator: " ", omittingEmptySubsequences: true)
            guard let first = parts.first, let n = Int(first), n >= 0 else {
                return .failure(RPCError(400, "Non-numerical CSeq"))
            }
            guard parts.count > 1, parts[1] == method else { return .failure(RPCError(400, "CSeq method mismatch")) }
            cseq = n
        }
        // Route lines stay where they are (the route set; the first loose router is the
        // next hop), as Kamailio 5.6.3 sends them.
        var extra = ""
        for h in faked.headers {
            switch h.name {
            case .from, .to, .callID, .cseq: continue
            default: extra += b.tmText(h.lineRange.lowerBound..<h.valueRange.upperBound) + "\r\n"
            }
        }
        let toTag = toNA.tag(b).map { b.tmText($0) }
        let fromTag = fromNA.tag(b).map { b.tmText($0) }
        return .success(
            LocalRequest(
                method: method, requestURI: ruri, nextHop: hop, sendSocket: sendSocket, from: b.tmText(fromNA.uri),
                fromTag: fromTag, to: b.tmText(toNA.uri), toTag: toTag, callID: faked.callID, cseq: cseq,
                headers: extra, body: body, noAutoAck: noAutoAck || noAck))
    }
}

import SwiftletSDK
import Synchronization

/// What a transaction tm originated keeps (Kamailio's local `struct cell` with its
/// `uac_req` callback).
final class LocalUAC {
    let completion: (LocalReply) -> Void
    let wantsProvisionals: Bool
    let noAutoAck: Bool
    init(completion: @escaping (LocalReply) -> Void, wantsProvisionals: Bool, noAutoAck: Bool) {
        self.completion = completion
        self.wantsProvisionals = wantsProvisionals
        self.noAutoAck = noAutoAck
    }
}

/// Labels of local transactions (their own space: the key differs from every received
/// request's, so ids never collide).
private let localLabels = Atomic<UInt64>(1)

extension TransactionManager {
    /// A random value drawn once per process and hashed into every Call-ID tm makes, as
    /// Kamailio's random `callid_prefix`: local requests of two instances, or of one instance
    /// before and after a restart, never share a Call-ID (nor the From tag made from it).
    static let callIDSeed = String(UInt64.random(in: .min ... .max), radix: 16)

    /// Sends a request tm originates (Kamailio's `t_uac`): builds it as `build_uac_req`
    /// lays it out (Request line, Via, To, From, CSeq, Call-ID, Route set, Max-Forwards,
    /// Content-Length, User-Agent, the extra headers, body) and sends it on one branch with
    /// the client transaction's retransmissions and `fr_timer`.
    func sendLocal(_ r: LocalRequest, completion: @escaping (LocalReply) -> Void)
        -> Result<(index: String, label: String), LocalRequestError>
    {
        guard !r.method.isEmpty, !r.method.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else {
            return .failure(.invalid("invalid method '\(r.method)'"))
        }
        guard URIComponents.isValid(r.requestURI) else {
            return .failure(.invalid("invalid request uri \"\(r.requestURI)\""))
        }
        if let hop = r.nextHop, !URIComponents.isValid(hop) {
            return .failure(.invalid("invalid next-hop uri \"\(hop)\""))
        }
        let n = localLabels.add(1, ordering: .relaxed).newValue
        let label = String(n, radix: 16)
        let callID =
            r.callID
            ?? (TagHash.hex128(["SWIFTLET-TM/callid", Self.callIDSeed, label]).prefix(16) + "-\(label)@swiftlet")
        let fromTag = r.fromTag ?? TagHash.hex128(["SWIFTLET-TM/fromtag", callID, r.requestURI])
        let socket = r.sendSocket ?? core.transport?.sockets.first
        let from = r.from ?? "sip:" + (socket.map { $0.advertisedHost } ?? "127.0.0.1")
        var text = "\(r.method) \(r.requestURI) SIP/2.0\r\n"
        text += "To: " + Self.nameAddr(r.to ?? r.requestURI) + (r.toTag.map { ";tag=\($0)" } ?? "") + "\r\n"
        text += "From: " + Self.nameAddr(from) + ";tag=\(fromTag)\r\n"
        text += "CSeq: \(r.cseq ?? 10) \(r.method)\r\n"
        text += "Call-ID: \(callID)\r\n"
        var headers = r.headers
        if !headers.isEmpty, headers.utf8.last != 10 { headers += "\r\n" }
        if !headers.lowercased().contains("max-forwards:") { text += "Max-Forwards: 70\r\n" }
        text += "Content-Length: \(r.body.count)\r\n"
        if let server = Core.serverHeader, server.hasPrefix("Server:") {
            text += "User-Agent:" + server.dropFirst("Server:".count) + "\r\n"
        }
        text += headers + "\r\n"
        var bytes = Array(text.utf8)
        bytes += r.body
        let message: SIPMessage
        do {
            message = try SIPMessage(parsing: bytes)
        } catch {
            return .failure(.invalid("the request does not parse: \(error)"))
        }
        let ctx = MessageContext(
            message: message,
            receive: ReceiveInfo(
                proto: socket?.proto ?? .udp, sourceIP: "0.0.0.0", sourcePort: 0, localIP: "0.0.0.0", localPort: 0),
            routeType: .request, core: core)
        ctx.forcedSendSocket = r.sendSocket
        ctx.destinationURI = r.nextHop ?? Self.firstLooseRoute(message)
        guard let clone = SharedBytes(bytes, in: core.memory) else {
            return .failure(.noResources("no more shared memory for a local \(r.method)"))
        }
        let key = "local|" + callID + "|" + label
        let tx = Transaction(
            key: TransactionKey.Probe(text: key), id: TagHash.hex128([key, label]), number: n, numberedID: false,
            isInvite: r.method == "INVITE",
            ctx: ctx, clone: clone)
        tx.localUAC = LocalUAC(
            completion: completion, wantsProvisionals: r.wantsProvisionals, noAutoAck: r.noAutoAck)
        if case .failure(let e) = table.insert(tx) {
            stats.add(.refused)
            return .failure(.noResources("cannot create a transaction for a local \(r.method): \(e)"))
        }
        stats.add(.created)
        stats.add(.local)
        guard runLocalRequestRoute(tx) else {
            tx.locked { finish(tx) }
            return .failure(.dropped("dropped in event_route[tm:local-request]"))
        }
        let sent = tx.locked {
            let n = startBranches(tx, forced: nil)
            if n == 0 { finish(tx) }
            return n
        }
        guard sent > 0 else { return .failure(.notSent("cannot send the local \(r.method) to <\(r.requestURI)>")) }
        return .success((tx.id, tx.label))
    }

    /// `<uri>` unless already a name-addr (Kamailio's bracket rule in `build_uac_req`).
    static func nameAddr(_ text: String) -> String {
        if let close = text.lastIndex(of: ">") {
            let after = text[text.index(after: close)...]
            if after.isEmpty || after.hasPrefix(";") { return text }
        }
        return "<\(text)>"
    }

    /// The first Route of a local request when it is a loose router: where it goes first.
    static func firstLooseRoute(_ m: SIPMessage) -> String? {
        guard let route = m.firstHeader(.route), let na = try? NameAddr.parse(m.buffer, route.valueRange) else {
            return nil
        }
        let uri = m.buffer.tmText(na.uri)
        return uri.contains(";lr") ? uri : nil
    }

    /// A reply of a local transaction (in place of sending it upstream). Lock held.
    func localReply(_ tx: Transaction, _ bytes: [UInt8], code: Int) {
        guard let uac = tx.localUAC else { return }
        let message = try? SIPMessage(parsing: bytes)
        if code >= 200 {
            tx.lastReply = bytes
            tx.lastReplyCode = code
            stats.addFinal(code)
            for b in tx.pendingBranches { cancel(tx, b) }
            if tx.isInvite, code < 300, !uac.noAutoAck, let m = message, let b = tx.branches.first {
                sendLocalAck(tx, b, m)
            }
            deliver(uac, tx, code: code, message: message)
            finish(tx)
        } else if uac.wantsProvisionals {
            deliver(uac, tx, code: code, message: message)
        }
    }

    /// The final negative outcome of a local transaction: the branch's reply as received
    /// (no `remap_503_500`: nothing is relayed), or a 408 when none came.
    func localFinal(_ tx: Transaction, _ b: ClientBranch) {
        if let reply = b.finalReply, let bytes = upstreamBytes(reply) {
            localReply(tx, bytes, code: b.lastCode)
        } else {
            localTimeout(tx, b)
        }
    }

    /// No final reply came on a local transaction's branch: a 408 (487 when cancelled).
    func localTimeout(_ tx: Transaction, _ b: ClientBranch) {
        guard let uac = tx.localUAC, tx.lastReplyCode < 200 else { return }
        tx.lastReplyCode = b.lastCode
        stats.addFinal(b.lastCode)
        deliver(uac, tx, code: b.lastCode, message: nil)
        finish(tx)
    }

    private func deliver(_ uac: LocalUAC, _ tx: Transaction, code: Int, message: SIPMessage?) {
        let reason: String
        if let m = message, case .response(_, let r) = m.firstLine {
            reason = m.buffer.tmText(r)
        } else {
            reason = code == 487 ? "Request Terminated" : "Request Timeout"
        }
        let request = tx.branches.first.flatMap { try? SIPMessage(parsing: $0.request.bytes) }
        uac.completion(
            LocalReply(
                code: code, reason: reason, message: message, request: request, transactionIndex: tx.id,
                transactionLabel: tx.label))
    }

    /// The ACK tm sends for a 2xx to its own INVITE (Kamailio's `build_local_ack`): to the
    /// reply's Contact, with the reversed Record-Route as Route set, a new branch, on the
    /// branch's next hop.
    private func sendLocalAck(_ tx: Transaction, _ b: ClientBranch, _ reply: SIPMessage) {
        guard let invite = try? SIPMessage(parsing: b.request.bytes), let via = try? invite.topVia(),
            let branch = via.branch?.value, let from = invite.firstHeader(.from), let to = reply.firstHeader(.to),
            let callID = invite.firstHeader(.callID), let cseq = try? invite.cseq()
        else { return }
        let ib = invite.buffer
        let rb = reply.buffer
        let target = ((try? reply.firstContact()) ?? nil).map { rb.tmText($0.uri) } ?? b.uri
        let viaText =
            ib.tmText(via.range.lowerBound..<branch.lowerBound) + ib.tmText(branch) + "a"
            + ib.tmText(branch.upperBound..<via.range.upperBound)
        var text = "ACK \(target) SIP/2.0\r\nVia: \(viaText)\r\n"
        text += ib.tmText(from.lineRange) + "To: " + rb.tmText(to.valueRange) + "\r\n" + ib.tmText(callID.lineRange)
        text += "CSeq: \(cseq.number) ACK\r\n"
        let routes = reply.headers(.recordRoute).reversed().map { rb.tmText($0.valueRange) }
        if !routes.isEmpty { text += "Route: " + routes.joined(separator: ", ") + "\r\n" }
        text += "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        guard let ack = runLocalRequestRoute(ack: Array(text.utf8), tx) else { return }
        // Sent at once, not queued until the lock is released: as in Kamailio the ACK leaves
        // before the completion runs (which may send the next request in the dialog, as
        // dialog's `dlg_bridge` does its REFER).
        _ = tx.ctx.core.send(OutboundMessage(bytes: ack, destination: b.destination, kind: .request), context: nil)
    }
}

extension TMModule: TransactionUACAPI {
    func sendRequest(_ request: LocalRequest, completion: @escaping (LocalReply) -> Void)
        -> Result<(index: String, label: String), LocalRequestError>
    {
        manager.sendLocal(request, completion: completion)
    }
}

extension URIComponents {
    /// True when `text` is a URI Swiftlet parses (Kamailio's `parse_uri` succeeding).
    static func isValid(_ text: String) -> Bool {
        let b = Array(text.utf8)
        return !b.isEmpty && (try? URIComponents.parse(b, 0..<b.count)) != nil
    }
}

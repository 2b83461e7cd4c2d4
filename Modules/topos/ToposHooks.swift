import SwiftletSDK

extension ToposEngine {
    /// `SREV_NET_DATA_IN` (Kamailio's `tps_msg_received`): in-dialog requests and replies
    /// get back what was stripped; initial requests are left alone.
    func received(_ data: NetData) -> [UInt8]? {
        ToposThreadContext.set(contextSlot, "")
        batching?.beginMessage()
        defer { _ = batching?.commit() }
        if eventMode & 4 != 0, runEventRoute("topos:msg-incoming", data, message: nil) == false { return nil }
        guard let msg = prepared(data.bytes), let cseq = try? msg.cseq(), !skipped(cseq) else { return nil }
        if eventMode & 8 != 0, runEventRoute("topos:msg-receiving", data, message: msg) == false { return nil }
        if msg.isRequest {
            // A request that fails sanity's default checks is left as it is (Kamailio).
            if let sanity, sanity.checkDefaults(msg, proto: data.proto, peer: data.peer) < 1 {
                Log.error("topos", "sanity checks failed")
                return nil
            }
            guard !(msg.toTag ?? "").isEmpty else { return nil }
            return requestReceived(msg)
        }
        return responseReceived(msg)
    }

    /// `SREV_NET_DATA_OUT` (Kamailio's `tps_msg_sent`): what goes out is stripped.
    func sending(_ data: NetData) -> [UInt8]? {
        // The writes go out before the message does.
        defer {
            if let batching {
                _ = batching.commit()
                batching.endMessage()
            }
        }
        if eventMode & 1 != 0, runEventRoute("topos:msg-outgoing", data, message: nil) == false { return nil }
        guard let msg = prepared(data.bytes), let cseq = try? msg.cseq(), !skipped(cseq) else { return nil }
        if eventMode & 2 != 0, runEventRoute("topos:msg-sending", data, message: msg) == false { return nil }
        if msg.isRequest {
            let dialog = !(msg.toTag ?? "").isEmpty
            let local = ((try? msg.vias()) ?? []).count < 2
            // Local out-of-dialog keepalives and DMQ are left alone.
            if local && !dialog && [.options, .notify, .kdmq].contains(cseq.method) { return nil }
            return requestSent(msg, dialog: dialog, local: local)
        }
        // A 100 is generated here: nothing to do.
        if msg.statusCode == 100 { return nil }
        return responseSent(msg)
    }

    /// Kamailio's `tps_prepare_msg`: a SIP request or reply with parseable From/To, a Via
    /// and a Call-ID.
    func prepared(_ bytes: [UInt8]) -> SIPMessage? {
        guard let msg = try? SIPMessage(parsing: bytes) else { return nil }
        guard (try? msg.from()) != nil, (try? msg.to()) != nil, (try? msg.topVia()) != nil,
            msg.callIDRange != nil
        else { return nil }
        return msg
    }

    /// REGISTER and PUBLISH are never touched (Kamailio's `tps_skip_msg`).
    func skipped(_ cseq: CSeqHeader) -> Bool { cseq.method == .register || cseq.method == .publish }

    /// Kamailio's faked message (`fmsg.c`).
    static let fakedMessage = try? SIPMessage(
        parsing: Array(
            ("OPTIONS sip:you@kamailio.org SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n"
                + "From: <sip:you@kamailio.org>;tag=123\r\nTo: <sip:you@kamailio.org>\r\nCall-ID: 123\r\n"
                + "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").utf8))

    /// Runs `event_route[name]` as a request route, `$snd(...)` naming where the message
    /// goes (its bytes: those of `message`, else the faked message's). nil when the route is
    /// not defined, false when it dropped.
    func runEventRoute(_ name: String, _ data: NetData, message: SIPMessage?) -> Bool? {
        guard let core, let routes = core.routes, routes.eventRouteNames.contains(name),
            let msg = message ?? Self.fakedMessage
        else { return nil }
        let receive =
            message == nil
            ? ReceiveInfo(proto: .udp, sourceIP: "127.0.0.1", sourcePort: 5060, localIP: "127.0.0.1", localPort: 5060)
            : ReceiveInfo(proto: data.proto, source: SocketAddress(), local: SocketAddress())
        let ctx = MessageContext(message: msg, receive: receive, routeType: .request, core: core)
        ctx.sendInfo = SendInfo(
            destination: Destination(proto: data.proto, address: data.peer, socket: data.socket), bytes: msg.buffer)
        return routes.runEventRoute(name, ctx, as: .request)
    }
}

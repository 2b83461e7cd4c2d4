import SwiftletSDK

/// `tm.t_uac_wait` (Kamailio's `rpc_t_uac_wait`): `tm.t_uac_start`, and the RPC answers once
/// the final reply came, through a delayed RPC reply (the transport goes on serving other
/// requests meanwhile; one that cannot wait gets Kamailio's 600 fault).
extension TMModule {
    var uacWaitRPC: RPCCommand {
        let m = manager
        return RPCCommand(
            "tm.t_uac_wait",
            "starts a tm uac and waits for the final reply, using a list of string parameters: method, ruri, dst_uri send_sock, headers (CRLF separated) and body (optional)"
        ) { (r: RPCRequest, reply: RPCDelayedReply) throws(RPCError) in
            guard r.params.count >= 5 else { throw RPCError(400, "too few parameters (\(r.params.count)/5)") }
            let body = r.params.count > 5 ? try r.string(5) : ""
            let request = try UACSendRequest.parse(
                method: try r.string(0), ruri: try r.string(1), nexthop: try r.string(2), socket: try r.string(3),
                headers: try r.string(4), body: body
            ).get()
            if case .failure(let e) = m.sendLocal(
                request, completion: { final in reply.send(.success(Self.uacWaitResult(final))) })
            {
                throw Self.uacError(e)
            }
        }
    }

    /// The RPC fault for a local request that was not sent: Kamailio's
    /// `err2reason_phrase(..., "RPC/UAC")` for a drop in `event_route[tm:local-request]`.
    static func uacError(_ e: LocalRequestError) -> RPCError {
        if case .dropped = e { return RPCError(500, "I'm terribly sorry, server error occurred (19/RPC/UAC)") }
        return RPCError(500, "RPC/UAC error: \(e)")
    }

    /// Kamailio's `rpc_uac_callback`: code and reason; for a 2xx (a confirmed dialog) the
    /// remote target, the next hop and the route set (`Route: <...>, <...>`); then the reply
    /// from its first header on. For a reply tm made up (a timeout) four empty strings follow.
    static func uacWaitResult(_ final: LocalReply) -> RPCValue {
        var out: [RPCValue] = [.int(final.code), .string(final.reason)]
        guard let reply = final.message else {
            return .array(out + [.string(""), .string(""), .string(""), .string("")])
        }
        let b = reply.buffer
        if (200..<299).contains(final.code) {
            let contact = ((try? reply.firstContact()) ?? nil).map { b.tmText($0.uri) } ?? ""
            let routes = Array(((try? reply.nameAddrs(.recordRoute)) ?? []).reversed())
            let uris = routes.map { b.tmText($0.uri) }
            let texts = routes.map { b.tmText($0.range) }
            if let first = uris.first, first.contains(";lr") {
                out += [.string(contact), .string(first), .string("Route: " + texts.joined(separator: ", "))]
            } else if let first = uris.first {
                // A strict router: it is the Request-URI, the contact goes last.
                let rest = texts.dropFirst().joined(separator: ", ")
                out += [.string(first), .string(first), .string("Route: " + rest + ", <" + contact + ">")]
            } else {
                out += [.string(contact), .string(contact), .string("")]
            }
        }
        let firstHeader = reply.headers.first?.lineRange.lowerBound ?? b.count
        out.append(.string(String(decoding: b[firstHeader...], as: UTF8.self)))
        return .array(out)
    }
}

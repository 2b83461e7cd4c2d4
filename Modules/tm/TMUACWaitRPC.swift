import SwiftletSDK

/// The results and faults of the `tm.t_uac_*` RPCs (Kamailio's `rpc_uac_callback` and
/// `err2reason_phrase(..., "RPC/UAC")`).
extension TMModule {
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

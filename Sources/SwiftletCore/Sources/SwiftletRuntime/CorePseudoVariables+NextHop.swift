import SwiftletSDK

/// `$nh(u|U|d|p|P|i)`: the next hop (Kamailio's pv_get_nh). A request: the destination URI,
/// else the Request-URI in effect; a reply: the second Via (`received`/`rport` honoured).
/// `$rpl(duri|dhost|dport|dproto|dprotoid|cntvia|cntrr)`: the same for replies only.
extension CorePseudoVariables {
    static var nextHopClasses: [PseudoVariableClass] {
        [PseudoVariableClass("nh", make: nextHop), PseudoVariableClass("rpl", make: replyAttribute)]
    }

    enum NextHopPart: String { case u, U, d, p, P, i }

    /// 4 for an IPv4 literal, 6 for IPv6, else 0.
    static func ipFamily(_ host: String) -> Int {
        guard let b = IPAddressText.bytes(host) else { return 0 }
        return b.count == 4 ? 4 : 6
    }

    static func nextHop(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        let name = pv.inner?.trimmingCharacters() ?? ""
        guard let part = NextHopPart(rawValue: name), pv.index == nil else {
            throw FixupError("unknown PV nh name \(name)")
        }
        return PseudoVariable(text: pv.text) { ctx in
            guard ctx.message.isRequest else { return replyNextHop(ctx, part) }
            let uri =
                ctx.destinationURI.flatMap { $0.isEmpty ? nil : $0 } ?? ctx.requestURI ?? ""
            if part == .u { return .string(uri) }
            guard let parts = URIParts(uri) else { return .null }
            switch part {
            case .U: return uriUser(uri)
            case .d: return parts.host.isEmpty ? .null : .string(parts.host)
            case .p: return .int(parts.port ?? 5060)
            case .P: return .string(parts.parameter("transport") ?? "UDP")
            case .i: return .int(ipFamily(parts.host))
            case .u: return .string(uri)
            }
        }
    }

    static func replyNextHop(_ ctx: MessageContext, _ part: NextHopPart) -> PVValue {
        let b = ctx.message.buffer
        let vias = viaBodies(ctx.message)
        guard vias.count > 1 else { return .null }
        let via = vias[1]
        func text(_ r: Range<Int>) -> String { String(decoding: b[r], as: UTF8.self) }
        var port = 0
        if let r = via.rport?.value, !r.isEmpty {
            guard let p = Int(text(r)) else { return .null }
            port = p
        }
        let host = via.received?.value.map(text) ?? text(via.host)
        let proto = TransportProtocol(rawValue: text(via.transport).lowercased())
        if port == 0 { port = via.port ?? (proto == .tls ? 5061 : 5060) }
        switch part {
        case .u: return .string("sip:\(host):\(port);transport=\(proto?.uriName ?? "udp")")
        case .U: return .null
        case .d: return .string(host)
        case .p: return .int(port)
        case .P: return .string(proto?.name ?? "udp")
        case .i: return .int(ipFamily(host))
        }
    }

    enum ReplyAttribute: String { case duri, dhost, dport, dproto, dprotoid, cntvia, cntrr }

    /// `$rpl(attr)` (null for requests): where the reply goes (the second Via; unlike `$nh`
    /// the default port is 5060 for TLS too), or how many Via / Record-Route bodies it has
    /// (Record-Route counted from the first Via on, as Kamailio).
    static func replyAttribute(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        let name = pv.inner?.trimmingCharacters() ?? ""
        guard let attribute = ReplyAttribute(rawValue: name), pv.index == nil else {
            throw FixupError("unknown PV rpl key: \(name)")
        }
        return PseudoVariable(text: pv.text) { ctx in
            let m = ctx.message
            guard !m.isRequest else { return .null }
            let b = m.buffer
            let vias = viaBodies(m)
            switch attribute {
            case .cntvia: return .int(vias.count)
            case .cntrr:
                guard let first = m.headers.firstIndex(where: { $0.name == .via }) else { return .int(0) }
                return .int(
                    m.headers[first...].filter { $0.name == .recordRoute }.reduce(0) {
                        $0 + HeaderScanner.splitValues(b, $1.valueRange).count
                    })
            default: break
            }
            guard vias.count > 1 else { return .null }
            let via = vias[1]
            func text(_ r: Range<Int>) -> String { String(decoding: b[r], as: UTF8.self) }
            var port = 0
            if let r = via.rport?.value, !r.isEmpty {
                guard let p = Int(text(r)) else { return .null }
                port = p
            }
            let host = via.received?.value.map(text) ?? text(via.host)
            if port == 0 { port = via.port ?? 5060 }
            let proto = TransportProtocol(rawValue: text(via.transport).lowercased())
            switch attribute {
            case .duri: return .string("sip:\(host):\(port);transport=\(proto?.uriName ?? "udp")")
            case .dhost: return .string(host)
            case .dport: return .int(port)
            case .dproto: return .string(proto?.name ?? "udp")
            case .dprotoid: return .int(proto?.kamailioID ?? 0)
            case .cntvia, .cntrr: return .null
            }
        }
    }
}

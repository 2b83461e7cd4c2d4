import SwiftletSDK

/// `nat_uac_test(flags)`: Kamailio's NAT tests, each selected by a bit of `flags`; true when
/// any selected test detects NAT. Run in Kamailio's order.
struct NATDetection {
    /// `nat_addr_mode`: 1 also counts 192.0.0.0/24 as private.
    let addressMode: Int

    static let contact1918 = 0x01, receivedVia = 0x02, via1918 = 0x04, sdp1918 = 0x08
    static let viaPort = 0x10, source1918 = 0x20, webSocket = 0x40, contactPort = 0x80
    static let sdpConnection = 0x100, destination = 0x200

    /// 1 when a selected test holds, else -1.
    func test(_ ctx: MessageContext, _ tests: Int) -> Int {
        let msg = ctx.message
        let b = msg.buffer
        let via = ctx.via1
        if tests & Self.viaPort != 0, let via, ctx.receive.sourcePort != (via.port ?? 5060) { return 1 }
        if tests & Self.receivedVia != 0, let via,
            !IPAddressText.sameAddress(host: b.text(via.host), ip: ctx.receive.sourceIP)
        {
            return 1
        }
        if tests & Self.contact1918 != 0, let c = ContactURI(msg),
            NATAddresses.privateIPv4(c.host(b), addressMode: addressMode) == 1
        {
            return 1
        }
        if tests & Self.sdp1918 != 0, sdpHasPrivateAddress(msg) { return 1 }
        if tests & Self.via1918 != 0, let via,
            NATAddresses.privateIPv4(b.text(via.host), addressMode: addressMode) == 1
        {
            return 1
        }
        if tests & Self.source1918 != 0, let a = IPAddressText.ipv4(ctx.receive.sourceIP),
            NATAddresses.isPrivate(a, addressMode: addressMode)
        {
            return 1
        }
        if tests & Self.webSocket != 0, ctx.receive.proto == .ws || ctx.receive.proto == .wss { return 1 }
        if tests & Self.contactPort != 0, let c = ContactURI(msg), ctx.receive.sourcePort != (c.uri.port ?? 5060) {
            return 1
        }
        if tests & Self.sdpConnection != 0, sdpConnectionDiffers(ctx) { return 1 }
        if tests & Self.destination != 0, destinationDiffers(ctx) { return 1 }
        return -1
    }

    /// The address family and address of an SDP `c=` line (`IN IP4 10.0.0.1`).
    static func connection(_ b: [UInt8], _ line: SDPBody.Line) -> (ipv6: Bool, address: String)? {
        let fields = b.text(line.value).split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 3 else { return nil }
        switch fields[1] {
        case "IP4": return (false, String(fields[2].split(separator: "/")[0]))
        case "IP6": return (true, String(fields[2]))
        default: return nil
        }
    }

    /// Kamailio's `sdp_1918`: a stream's connection address (its own `c=`, else the
    /// session's) is private; a stream with IPv6 or 0.0.0.0 ends the scan.
    func sdpHasPrivateAddress(_ msg: SIPMessage) -> Bool {
        guard let sdp = try? msg.sdp() else { return false }
        let b = msg.buffer
        for m in sdp.media {
            guard let line = m.connection ?? sdp.connection, let c = Self.connection(b, line) else { break }
            if c.ipv6 || c.address == "0.0.0.0" { break }
            if NATAddresses.privateIPv4(c.address, addressMode: addressMode) == 1 { return true }
        }
        return false
    }

    /// Kamailio's `test_sdp_cline`: the session's `c=` address is not the source address.
    func sdpConnectionDiffers(_ ctx: MessageContext) -> Bool {
        guard let sdp = try? ctx.message.sdp(), let line = sdp.connection,
            let c = Self.connection(ctx.message.buffer, line)
        else { return false }
        return !IPAddressText.sameAddress(host: c.address, ip: ctx.receive.sourceIP)
    }

    /// Kamailio's `nh_test_destination`: requests go elsewhere than the Request-URI says
    /// (`$du` differs in host or port), replies elsewhere than the second Via says (`rport`
    /// or `received` differ); WebSocket targets always count.
    func destinationDiffers(_ ctx: MessageContext) -> Bool {
        let msg = ctx.message
        let b = msg.buffer
        if !msg.isRequest {
            guard let vias = try? msg.vias(), vias.count >= 2 else { return false }
            let via2 = vias[1]
            let transport = b.text(via2.transport).lowercased()
            if transport == "ws" || transport == "wss" { return true }
            if let r = via2.rport?.value, let dport = Int(b.text(r)), dport != 0,
                dport != (via2.port ?? (transport == "tls" ? 5061 : 5060))
            {
                return true
            }
            guard let received = via2.received?.value else { return false }
            return Self.hostsDiffer(b.text(received), b.text(via2.host))
        }
        guard let ruriText = ctx.requestURI, let ruri = SIPURI(ruriText) else { return false }
        let rproto = ruri.parameter("transport")?.lowercased()
        guard let du = ctx.destinationURI, !du.isEmpty else { return rproto == "ws" || rproto == "wss" }
        guard let duri = SIPURI(du) else { return false }
        let dproto = duri.parameter("transport")?.lowercased()
        if dproto == "ws" || dproto == "wss" { return true }
        if Self.port(duri, dproto) != Self.port(ruri, rproto) { return true }
        return Self.hostsDiffer(duri.host, ruri.host)
    }

    /// Kamailio's `GET_SIP_PORT`: the URI's port, else 5061 for TLS, else 5060.
    static func port(_ uri: SIPURI, _ proto: String?) -> Int { uri.port ?? (proto == "tls" ? 5061 : 5060) }

    /// Two hosts differ: as addresses when both are IP literals, as text when both are names.
    static func hostsDiffer(_ a: String, _ b: String) -> Bool {
        let ia = IPAddressText.bytes(a)
        let ib = IPAddressText.bytes(b)
        if ia == nil, ib == nil { return a != b }
        return ia != ib
    }
}

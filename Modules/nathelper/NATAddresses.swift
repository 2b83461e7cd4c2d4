import SwiftletSDK

/// Address helpers shared by nathelper's functions: Kamailio's private-network test
/// (`is1918addr`), protocol numbers of the `alias` parameter, and text of message parts.
enum NATAddresses {
    /// Kamailio's `nh_nets_1918`: RFC 1918, RFC 6598 (CG-NAT) and 192.0.0.0/29 (RFC 7335).
    static let privateNetworks: [(network: UInt32, mask: UInt32)] = [
        (0x0A00_0000, 0xFF00_0000), (0xAC10_0000, 0xFFF0_0000), (0xC0A8_0000, 0xFFFF_0000),
        (0x6440_0000, 0xFFC0_0000), (0xC000_0000, 0xFFFF_FFF8),
    ]
    /// Kamailio's `nh_nets_extra` (with `nat_addr_mode` 1): 192.0.0.0/24, IETF protocol assignments.
    static let extraNetworks: [(network: UInt32, mask: UInt32)] = [(0xC000_0000, 0xFFFF_FF00)]

    /// Kamailio's `is1918addr`: 1 for a private IPv4 address, 0 for another IPv4 address,
    /// -1 when `text` is not an IPv4 address.
    static func privateIPv4(_ text: some StringProtocol, addressMode: Int) -> Int {
        guard let a = IPAddressText.ipv4(text) else { return -1 }
        return isPrivate(a, addressMode: addressMode) ? 1 : 0
    }

    static func isPrivate(_ a: UInt32, addressMode: Int) -> Bool {
        if privateNetworks.contains(where: { a & $0.mask == $0.network }) { return true }
        return addressMode == 1 && extraNetworks.contains { a & $0.mask == $0.network }
    }

    /// Kamailio's `PROTO_*` numbers, as the `alias` parameter carries them.
    static func number(_ proto: TransportProtocol) -> Int {
        switch proto {
        case .udp: 1
        case .tcp: 2
        case .tls: 3
        case .sctp: 4
        case .ws: 5
        case .wss: 6
        }
    }

    /// Kamailio's `proto_type_to_int` for `add_contact_alias(ip, port, proto)`.
    static func number(named name: String) -> Int? {
        switch name.lowercased() {
        case "udp": 1
        case "tcp": 2
        case "tls": 3
        case "sctp": 4
        case "ws": 5
        case "wss": 6
        default: nil
        }
    }

    /// Kamailio's `proto_type_to_str`: the `transport` value for a protocol number (WSS is
    /// `ws`, as Kamailio writes it); nil for an unknown number.
    static func transportName(_ number: Int) -> String? {
        switch number {
        case 1: "udp"
        case 2: "tcp"
        case 3: "tls"
        case 4: "sctp"
        case 5, 6: "ws"
        default: nil
        }
    }

    /// The source address as Kamailio prints it in URIs: IPv6 in brackets.
    static func sourceHost(_ ctx: MessageContext) -> String {
        let ip = ctx.receive.sourceIP
        return ip.contains(":") ? "[\(ip)]" : ip
    }

    /// `;alias=ip~port~proto` of the message's source (Kamailio's `uri_add_rcv_alias`).
    static func sourceAlias(_ ctx: MessageContext, name: String) -> String {
        ";\(name)=\(sourceHost(ctx))~\(ctx.receive.sourcePort)~\(number(ctx.receive.proto))"
    }

    /// Kamailio's `get_src_uri(msg, 0)`: `sip:ip:port`, with `;transport=` unless UDP.
    static func sourceURI(_ ctx: MessageContext) -> String {
        let base = "sip:\(sourceHost(ctx)):\(ctx.receive.sourcePort)"
        return ctx.receive.proto == .udp ? base : base + ";transport=\(ctx.receive.proto.name)"
    }
}

extension Array where Element == UInt8 {
    /// The text of `range`.
    func text(_ range: Range<Int>) -> String { String(decoding: self[range], as: UTF8.self) }
}

/// The first Contact of a message with its URI parsed (Kamailio's `get_contact_uri`).
struct ContactURI {
    let header: HeaderField
    let contact: NameAddr
    let uri: URIComponents

    /// Nil when there is no Contact, it is `*`, or its URI does not parse.
    init?(_ msg: SIPMessage) {
        guard let header = msg.firstHeader(.contact), let c = try? msg.firstContact(), !c.isWildcard,
            let u = try? URIComponents.parse(msg.buffer, c.uri)
        else { return nil }
        self.header = header
        contact = c
        uri = u
    }

    /// The host text without IPv6 brackets.
    func host(_ b: [UInt8]) -> String {
        var h = Substring(b.text(uri.host))
        if h.hasPrefix("["), h.hasSuffix("]") { h = h.dropFirst().dropLast() }
        return String(h)
    }

    /// The end of host[:port] in the message.
    var hostPortEnd: Int { uri.portRange?.upperBound ?? uri.host.upperBound }

    /// The `transport` parameter of the URI, lower-cased, or nil.
    func transport(_ b: [UInt8]) -> String? {
        for p in uri.parameters(b) where b.text(p.name).lowercased() == "transport" {
            return p.value.map { b.text($0).lowercased() }
        }
        return nil
    }
}

extension MessageContext {
    /// True when an edit already touches `range` (Kamailio's "can't call ... twice" check
    /// on a Contact URI already replaced by a lump).
    func hasEdit(inside range: Range<Int>) -> Bool {
        edits.lumps.contains { $0.range.overlaps(range) || (range.contains($0.range.lowerBound) && $0.range.isEmpty) }
    }
}

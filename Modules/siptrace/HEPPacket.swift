import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// One end of a traced message as siptrace writes it (`udp:10.0.0.1:5060`, Kamailio's
/// `fromip`/`toip` strings), parsed back into what a HEP header carries.
struct TraceEndpoint: Equatable {
    /// `udp`, `tcp`, `tls`, `sctp`, `ws`, `wss` (or `any`).
    var proto: String
    /// The address bytes (4 or 16).
    var address: [UInt8]
    var port: Int

    /// Parses Kamailio's `proto:ip:port` (an IPv6 address may be in brackets); nil for
    /// anything else (Kamailio's `pipport2su`).
    init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        proto = String(text[..<colon])
        guard ["udp", "tcp", "tls", "sctp", "ws", "wss", "any"].contains(proto) else { return nil }
        var rest = text[text.index(after: colon)...]
        var port = 0
        // As Kamailio, the part after the last ':' is the port (an IPv6 address without
        // brackets and without a port cannot be told apart, so it must have a port).
        if !rest.hasSuffix("]"), let last = rest.lastIndex(of: ":") {
            guard let p = Int(rest[rest.index(after: last)...]), (0...65535).contains(p) else { return nil }
            port = p
            rest = rest[..<last]
        }
        if rest.first == "[" {
            guard rest.last == "]" else { return nil }
            rest = rest.dropFirst().dropLast()
        }
        guard let a = SocketAddress(numericHost: String(rest), port: port) else { return nil }
        address = a.addressBytes
        self.port = port
    }

    var isIPv6: Bool { address.count == 16 }

    /// The IP protocol number HEP carries: UDP 17, TCP 6, SCTP 132, and (as Kamailio) 22
    /// for TLS and WebSocket.
    var ipProtocol: UInt8 {
        switch proto {
        case "tcp": 6
        case "tls", "ws", "wss": 22
        case "sctp": 132
        default: 17
        }
    }
}

/// HEP encapsulation (Homer's capture protocol) as Kamailio's siptrace builds it: version 1
/// and 2 (a fixed header, v2 adding time and capture id) and version 3 (chunks).
enum HEPPacket {
    /// HEPv3 protocol types.
    static let sipType: UInt8 = 0x01
    static let logType: UInt8 = 0x64

    /// The HEPv3 packet of `payload` from `from` to `to` (same address family), with the
    /// time, the capture id, an optional correlation id and auth key. Chunk order as
    /// Kamailio's `trace_send_hep3_duplicate`.
    static func v3(
        payload: [UInt8], from: TraceEndpoint, to: TraceEndpoint, seconds: UInt32, microseconds: UInt32,
        captureID: UInt32, correlationID: [UInt8]?, authKey: [UInt8]?, type: UInt8 = sipType
    ) -> [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(payload.count + 120)
        b += Array("HEP3".utf8)
        b += [0, 0]
        chunk(&b, 0x0001, [from.isIPv6 ? UInt8(AF_INET6) : UInt8(AF_INET)])
        chunk(&b, 0x0002, [from.ipProtocol])
        chunk(&b, from.isIPv6 ? 0x0005 : 0x0003, from.address)
        chunk(&b, to.isIPv6 ? 0x0006 : 0x0004, to.address)
        chunk(&b, 0x0007, be16(from.port))
        chunk(&b, 0x0008, be16(to.port))
        chunk(&b, 0x0009, be32(seconds))
        chunk(&b, 0x000a, be32(microseconds))
        chunk(&b, 0x000b, [type])
        chunk(&b, 0x000c, be32(captureID))
        if let correlationID, !correlationID.isEmpty { chunk(&b, 0x0011, correlationID) }
        if let authKey, !authKey.isEmpty { chunk(&b, 0x000e, authKey) }
        chunk(&b, 0x000f, payload)
        let total = be16(b.count)
        b[4] = total[0]
        b[5] = total[1]
        return b
    }

    /// The HEPv1/v2 packet (Kamailio's `trace_send_hep2_duplicate`): version, header length,
    /// family, protocol, ports (network order), the addresses, and for v2 the time and the
    /// capture id in the sender's byte order (little-endian here, as Kamailio on x86).
    static func v2(
        version: Int, payload: [UInt8], from: TraceEndpoint, to: TraceEndpoint, seconds: UInt32,
        microseconds: UInt32, captureID: UInt16
    ) -> [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(payload.count + 60)
        let ipLength = from.isIPv6 ? 32 : 8
        b += [UInt8(version), UInt8(8 + ipLength), from.isIPv6 ? UInt8(AF_INET6) : UInt8(AF_INET), from.ipProtocol]
        b += be16(from.port) + be16(to.port)
        b += from.address + to.address
        if version == 2 {
            b += le32(seconds) + le32(microseconds) + [UInt8(captureID & 0xff), UInt8(captureID >> 8)]
        }
        b += payload
        return b
    }

    static func chunk(_ b: inout [UInt8], _ type: UInt16, _ data: [UInt8]) {
        b += [0, 0]
        b += be16(Int(type))
        b += be16(6 + data.count)
        b += data
    }

    static func be16(_ v: Int) -> [UInt8] { [UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }
    static func le32(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)]
    }
}

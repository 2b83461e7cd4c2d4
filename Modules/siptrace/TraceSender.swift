import SwiftletSDK

/// Where traced messages go: a capture server (HEP) or a SIP peer that gets a copy
/// (`duplicate_uri` or the address given to `sip_trace()`), sent from one of the server's
/// sockets without running the out-hooks (Kamailio's `msg_send_buffer(..., 1)`).
final class TraceSender: @unchecked Sendable {
    var hepMode = false
    var hepVersion = 1
    var captureID = 1
    var authKey: [UInt8]?
    var xheadersWrite = false
    /// `send_sock_name` / `send_sock_addr`: the socket to send from.
    var sendSocketName: String?
    var sendSocketAddress: String?
    var core: CoreContext?
    /// `duplicate_uri`, resolved at start-up.
    var duplicate: Destination?
    var duplicateText: String?

    /// Resolves a `sip:host[:port][;transport=x]` address (default port 5060, UDP).
    func destination(_ uri: String) -> Destination? {
        guard let u = SIPURI(uri), let core else { return nil }
        let proto = u.parameter("transport").flatMap { TransportProtocol(rawValue: $0.lowercased()) } ?? .udp
        guard let target = core.resolver.resolve(host: u.host, port: u.port ?? 5060, proto: proto) else {
            return nil
        }
        return Destination(proto: proto, address: target.address)
    }

    /// The socket a trace leaves from: the configured one, else the core's choice.
    func socket(for dst: Destination) -> ListeningSocket? {
        guard let transport = core?.transport else { return nil }
        if let name = sendSocketName, let s = transport.sockets.first(where: { $0.listen.name == name }) {
            return s
        }
        if let text = sendSocketAddress, let u = SIPURI(text) {
            let proto = u.parameter("transport").flatMap { TransportProtocol(rawValue: $0.lowercased()) } ?? .udp
            if let s = transport.sockets.first(where: {
                $0.proto == proto && $0.address.ipString == u.host && (u.port == nil || $0.address.port == u.port)
            }) {
                return s
            }
            Log.warning("siptrace", "local socket not found for: [\(text)]")
        }
        return transport.sendSocket(for: dst.proto, to: dst.address, received: nil)
    }

    @discardableResult
    func write(_ bytes: [UInt8], to dst: Destination) -> Bool {
        guard let transport = core?.transport, let s = socket(for: dst) else {
            Log.error("siptrace", "cannot forward to \(dst) - no corresponding listening socket")
            return false
        }
        guard transport.send(bytes, to: dst, from: s) else {
            Log.error("siptrace", "cannot send duplicate message")
            return false
        }
        return true
    }

    /// Sends `record` as HEP to `dst` (else `duplicate_uri`).
    @discardableResult
    func sendHEP(_ record: TraceRecord, to dst: Destination?, correlationID: String?) -> Bool {
        guard let target = dst ?? duplicate else {
            Log.error("siptrace", "Don't have anywhere to send the trace to")
            return false
        }
        guard let from = TraceEndpoint(record.fromIP), let to = TraceEndpoint(record.toIP) else {
            Log.error("siptrace", "bad trace address: \(record.fromIP) -> \(record.toIP)")
            return false
        }
        guard from.isIPv6 == to.isIPv6 else {
            Log.error("siptrace", "interworking detected ?")
            return false
        }
        let packet: [UInt8]
        switch hepVersion {
        case 3:
            packet = HEPPacket.v3(
                payload: record.body, from: from, to: to, seconds: record.seconds,
                microseconds: record.microseconds, captureID: UInt32(truncatingIfNeeded: captureID),
                correlationID: correlationID.map { Array($0.utf8) }, authKey: authKey)
        case 1, 2:
            // As Kamailio: v1/v2 go to duplicate_uri only.
            guard duplicate != nil else { return false }
            packet = HEPPacket.v2(
                version: hepVersion, payload: record.body, from: from, to: to, seconds: record.seconds,
                microseconds: record.microseconds, captureID: UInt16(truncatingIfNeeded: captureID))
        default:
            Log.error("siptrace", "Unsupported HEP version")
            return false
        }
        return write(packet, to: target)
    }

    /// Sends the SIP bytes of `record` (with the `X-Siptrace-*` headers when
    /// `xheaders_write` is on) to `dst`, else `duplicate_uri`.
    @discardableResult
    func sendDuplicate(_ record: TraceRecord, to dst: Destination?) -> Bool {
        guard let target = dst ?? duplicate else {
            Log.warning("siptrace", "Neither dup_uri modparam or siptrace destination uri param used!")
            return false
        }
        let bytes = xheadersWrite ? (record.withXHeaders() ?? record.body) : record.body
        return write(bytes, to: target)
    }

    /// `hlog()`: a HEPv3 log packet (type 100) from the sending socket to `duplicate_uri`.
    func sendLog(_ message: String, correlationID: String) -> Int {
        guard let target = duplicate, let s = socket(for: target) else {
            Log.error("siptrace", "can't send the log: no duplicate_uri or no listening socket")
            return -1
        }
        var record = TraceRecord(body: Array(message.utf8), fromIP: "", toIP: "", direction: "out")
        record.stamp()
        var from = TraceEndpoint("udp:\(s.address.isIPv6 ? "[\(s.address.ipString)]" : s.address.ipString):0")!
        from.port = s.address.port
        var to = TraceEndpoint("udp:127.0.0.1:0")!
        to.address = target.address.addressBytes
        to.port = target.address.port
        let packet = HEPPacket.v3(
            payload: record.body, from: from, to: to, seconds: record.seconds, microseconds: record.microseconds,
            captureID: UInt32(truncatingIfNeeded: captureID), correlationID: Array(correlationID.utf8),
            authKey: authKey, type: HEPPacket.logType)
        return write(packet, to: target) ? 1 : -1
    }
}

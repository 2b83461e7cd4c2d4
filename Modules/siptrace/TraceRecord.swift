import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// One traced message (Kamailio's `siptrace_data_t`): the bytes, both ends as
/// `proto:ip:port`, the direction, and the SIP fields the database row keeps.
struct TraceRecord {
    var body: [UInt8]
    var fromIP: String
    var toIP: String
    /// `in` or `out`.
    var direction: String
    var callID = ""
    var method = ""
    var status = ""
    var fromTag = ""
    var toTag = ""
    var isReply = false
    var seconds: UInt32 = 0
    var microseconds: UInt32 = 0

    /// `proto:ip:port` (IPv6 in brackets).
    static func endpoint(_ proto: TransportProtocol, _ address: SocketAddress) -> String {
        "\(proto.name):\(address.isIPv6 ? "[\(address.ipString)]" : address.ipString):\(address.port)"
    }

    /// The socket's own string (Kamailio's `sock_str`), or its advertised one with
    /// `data_mode` 1.
    static func endpoint(_ socket: ListeningSocket, advertised: Bool) -> String {
        guard advertised, socket.listen.advertisedAddress != nil || socket.listen.advertisedPort != nil else {
            return endpoint(socket.proto, socket.address)
        }
        let host = socket.advertisedHost
        return "\(socket.proto.name):\(host.contains(":") ? "[\(host)]" : host):\(socket.advertisedPort)"
    }

    /// Fills the SIP fields from `message` (Kamailio's `sip_trace_msg_attrs`); false when
    /// it lacks a Call-ID, CSeq, From or To.
    mutating func fill(from message: SIPMessage) -> Bool {
        guard let callID = message.callID, (try? message.cseq()) != nil, message.firstHeader(.from) != nil,
            message.firstHeader(.to) != nil
        else { return false }
        self.callID = callID
        method = message.methodText
        status = message.statusCode.map(String.init) ?? ""
        isReply = !message.isRequest
        fromTag = message.fromTag ?? ""
        toTag = message.toTag ?? ""
        return true
    }

    /// Stamps the record with the current time.
    mutating func stamp() {
        var tv = timeval()
        gettimeofday(&tv, nil)
        seconds = UInt32(truncatingIfNeeded: tv.tv_sec)
        microseconds = UInt32(truncatingIfNeeded: tv.tv_usec)
    }

    /// The record of the message a script function runs on (Kamailio's `sip_trace`): in
    /// `onsend_route` the bytes being sent, from the sending socket (`out`); otherwise the
    /// message as received (`in`).
    static func of(_ ctx: MessageContext, localIP: String?, advertised: Bool) -> TraceRecord? {
        var record: TraceRecord
        if let send = ctx.sendInfo, ctx.routeType == .onSend {
            let from =
                localIP
                ?? send.destination.socket.map { endpoint($0, advertised: advertised) }
                ?? endpoint(send.destination.proto, SocketAddress())
            record = TraceRecord(
                body: send.bytes, fromIP: from, toIP: endpoint(send.destination.proto, send.destination.address),
                direction: "out")
        } else {
            let r = ctx.receive
            record = TraceRecord(
                body: ctx.message.buffer, fromIP: endpoint(r.proto, r.source),
                toIP: localIP ?? endpoint(r.proto, r.local), direction: "in")
        }
        guard record.fill(from: ctx.message) else { return nil }
        record.stamp()
        return record
    }

    /// The `X-Siptrace-*` headers (`xheaders_write`), inserted before the blank line that
    /// ends the header; nil when the bytes have none.
    func withXHeaders() -> [UInt8]? {
        guard let end = Self.endOfHeaders(body) else { return nil }
        let text =
            "X-Siptrace-Fromip: \(fromIP)\r\nX-Siptrace-Toip: \(toIP)\r\n"
            + "X-Siptrace-Time: \(seconds) \(microseconds)\r\nX-Siptrace-Method: \(method)\r\n"
            + "X-Siptrace-Dir: \(direction)\r\n"
        return Array(body[..<end]) + Array(text.utf8) + Array(body[end...])
    }

    /// Reads and removes the `X-Siptrace-*` headers (`xheaders_read`): the ends, time,
    /// method and direction they carry replace the record's. False when one is missing
    /// (Kamailio then neither stores nor relays the message).
    mutating func readXHeaders() -> Bool {
        guard let end = Self.endOfHeaders(body) else { return false }
        var kept: [UInt8] = []
        var values: [String: String] = [:]
        var start = 0
        while start < end {
            var stop = start
            while stop + 1 < end + 2, !(body[stop] == 13 && body[stop + 1] == 10) { stop += 1 }
            let line = String(decoding: body[start..<stop], as: UTF8.self)
            let lower = line.lowercased()
            if lower.hasPrefix("x-siptrace-"), let colon = line.firstIndex(of: ":") {
                let name = String(lower[lower.index(lower.startIndex, offsetBy: 11)..<colon])
                values[name] = line[line.index(after: colon)...].trimmingCharacters(in: " \t")
            } else {
                kept += body[start..<min(stop + 2, body.count)]
            }
            start = stop + 2
        }
        guard let f = values["fromip"], let t = values["toip"], let time = values["time"], let m = values["method"],
            let d = values["dir"]
        else { return false }
        let parts = time.split(separator: " ")
        guard parts.count == 2, let s = UInt32(parts[0]), let us = UInt32(parts[1]) else { return false }
        fromIP = f
        toIP = t
        seconds = s
        microseconds = us
        method = m
        direction = d
        body = kept + body[end...]
        return true
    }

    /// The index of the `\r\n` that ends the header (after the last header's own `\r\n`).
    static func endOfHeaders(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 {
            return i + 2
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}

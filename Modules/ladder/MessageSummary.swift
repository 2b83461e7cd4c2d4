import SwiftletSDK

/// What the ladder shows of one recorded message, read from its first line and a few headers
/// when someone looks (never on the hot path). A tolerant scan, not the full parser: a copy
/// truncated at `max_message_bytes` still has its first line and headers.
struct MessageSummary: Sendable {
    var wire: WireMessage
    /// `INVITE`, or `200 OK` for a reply.
    let label: String
    /// The method of a request, the CSeq method of a reply.
    let method: String
    /// The status code of a reply, 0 for a request.
    let code: Int
    let callID: String
    /// `1 INVITE`
    let cseq: String
    let fromUser: String
    let toUser: String

    /// The summary of `wire`; nil for what is not a SIP message (HTTP, keepalives).
    init?(_ wire: WireMessage) {
        let b = wire.bytes
        guard let lineEnd = b.firstIndex(of: 10), lineEnd > 8 else { return nil }
        let first = trim(String(decoding: b[0..<lineEnd], as: UTF8.self))
        var callID = ""
        var cseq = ""
        var from = ""
        var to = ""
        var start = lineEnd + 1
        while start < b.count {
            var end = start
            while end < b.count, b[end] != 10 { end += 1 }
            let line = trim(String(decoding: b[start..<end], as: UTF8.self))
            if line.isEmpty { break }
            if let colon = line.firstIndex(of: ":") {
                let name = trim(line[..<colon]).lowercased()
                let value = trim(line[line.index(after: colon)...])
                switch name {
                case "call-id", "i": if callID.isEmpty { callID = value }
                case "cseq": if cseq.isEmpty { cseq = value }
                case "from", "f": if from.isEmpty { from = value }
                case "to", "t": if to.isEmpty { to = value }
                default: break
                }
            }
            start = end + 1
        }
        guard !callID.isEmpty else { return nil }
        let parts = first.split(separator: " ", maxSplits: 2).map(String.init)
        guard parts.count >= 2 else { return nil }
        if parts[0].hasPrefix("SIP/") {
            guard let code = Int(parts[1]) else { return nil }
            self.code = code
            label = parts.count > 2 ? "\(code) \(parts[2])" : "\(code)"
            method = cseq.split(separator: " ").last.map(String.init) ?? ""
        } else {
            guard parts.count == 3, parts[2].hasPrefix("SIP/") else { return nil }  // HTTP and the like
            code = 0
            label = parts[0]
            method = parts[0]
        }
        self.wire = wire
        self.callID = callID
        self.cseq = cseq
        fromUser = Self.user(from)
        toUser = Self.user(to)
    }

    /// The user part of the URI in a From/To value (`"A" <sip:alice@host>;tag=1` → `alice`).
    static func user(_ value: String) -> String {
        var s = Substring(value)
        if let lt = s.firstIndex(of: "<") {
            s = s[s.index(after: lt)...]
            if let gt = s.firstIndex(of: ">") { s = s[..<gt] }
        } else if let semi = s.firstIndex(of: ";") {
            s = s[..<semi]
        }
        guard let colon = s.firstIndex(of: ":") else { return "" }
        let rest = s[s.index(after: colon)...]
        if s.lowercased().hasPrefix("tel:") {
            return String(rest.prefix { $0 != ";" })
        }
        guard let at = rest.firstIndex(of: "@") else { return "" }
        let user = rest[..<at]
        return String(user.prefix { $0 != ":" && $0 != ";" })
    }
}

/// `s` without leading and trailing spaces, tabs and line ends.
func trim<S: StringProtocol>(_ s: S) -> String {
    var t = Substring(s)
    while let f = t.first, f == " " || f == "\t" || f == "\r" || f == "\n" || f == "\r\n" { t = t.dropFirst() }
    while let l = t.last, l == " " || l == "\t" || l == "\r" || l == "\n" || l == "\r\n" { t = t.dropLast() }
    return String(t)
}

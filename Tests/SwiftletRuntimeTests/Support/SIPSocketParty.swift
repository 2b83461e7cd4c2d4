import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A SIP message received by a `SIPSocketParty`, with the port it came from.
struct ReceivedSIP: CustomStringConvertible {
    let text: String
    let sourcePort: Int

    /// The start line.
    var firstLine: String { text.components(separatedBy: "\r\n")[0] }

    /// The header lines (up to the empty line), without the start line.
    var headerLines: [String] {
        Array(text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n").dropFirst())
    }

    /// The values of the headers called `name` (case-insensitive), one per header line.
    func headers(_ name: String) -> [String] {
        headerLines.compactMap { line in
            guard let colon = line.firstIndex(of: ":"),
                line[..<colon].trimmingCharacters(in: .whitespaces).lowercased() == name.lowercased()
            else { return nil }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }

    /// The URI inside the first Contact's `<...>`.
    var contactURI: String? {
        headers("Contact").first.flatMap { v in
            guard let a = v.firstIndex(of: "<"), let b = v.firstIndex(of: ">") else { return nil }
            return String(v[v.index(after: a)..<b])
        }
    }

    var description: String { text }
}

/// A SIP user agent on a UDP socket of 127.0.0.1 (or another loopback address) for the tests
/// that drive a dialog message by message (through one server or several): it sends requests
/// and replies built from the requests it got, and waits for a message by its start line,
/// skipping `100 Trying` and retransmissions.
final class SIPSocketParty {
    let fd: Int32
    let port: Int
    /// The loopback address it is bound to.
    let address: String
    /// The user of its Contact (`sip:<user>@<address>:<port>`).
    let user: String
    var contact: String { "sip:\(user)@\(address):\(port)" }

    init(user: String, address: String = "127.0.0.1") {
        self.user = user
        self.address = address
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr(address)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                _ = bind(fd, sp, len)
                _ = getsockname(fd, sp, &len)
            }
        }
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }

    /// Sends `lines` (CRLF-joined, then an empty line) to 127.0.0.1:`port`.
    func send(_ lines: [String], to port: Int) {
        let bytes = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        _ = bytes.withUnsafeBytes { buf in
            withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// Start line, Vias and CSeq of each message received, to skip retransmissions.
    private var seen: Set<String> = []

    /// The next message other than a 100 or a retransmission, or nil after `timeout` seconds.
    func next(timeout: Double = 3) -> ReceivedSIP? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(left * 1000) + 1) == 1 else { return nil }
            var buf = [UInt8](repeating: 0, count: 65536)
            var from = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = withUnsafeMutablePointer(to: &from) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &len) }
            }
            guard n > 0 else { return nil }
            let m = ReceivedSIP(
                text: String(decoding: buf[0..<n], as: UTF8.self), sourcePort: Int(UInt16(bigEndian: from.sin_port)))
            if m.firstLine.hasPrefix("SIP/2.0 100 ") { continue }
            // A retransmission (tm's INVITE before the 200 went through, a 2xx again).
            let key = m.firstLine + "|" + m.headers("Via").joined(separator: ",") + "|" + m.headers("CSeq").joined()
            if seen.contains(key) { continue }
            seen.insert(key)
            return m
        }
    }

    /// The next message, which must start with `prefix` (a method and space, or `SIP/2.0 200`).
    func expect(_ prefix: String, timeout: Double = 3) throws -> ReceivedSIP {
        guard let m = next(timeout: timeout) else { throw TestFailure("\(user): no \(prefix) came") }
        guard m.firstLine.hasPrefix(prefix) else { throw TestFailure("\(user): expected \(prefix), got:\n\(m)") }
        return m
    }

    /// Nothing (but 100s) comes for `timeout` seconds.
    func receivesNothing(timeout: Double = 0.5) -> ReceivedSIP? { next(timeout: timeout) }

    /// Replies to `request` (to the port it came from): its Vias, From, To (with `toTag` when
    /// it had none), Call-ID and CSeq, and this party's Contact for a 2xx or 18x.
    func reply(_ request: ReceivedSIP, _ status: String, toTag: String) {
        var lines = ["SIP/2.0 \(status)"]
        lines += request.headers("Via").map { "Via: \($0)" }
        lines += request.headers("From").map { "From: \($0)" }
        lines += request.headers("To").map { $0.contains(";tag=") ? "To: \($0)" : "To: \($0);tag=\(toTag)" }
        lines += request.headers("Call-ID").map { "Call-ID: \($0)" }
        lines += request.headers("CSeq").map { "CSeq: \($0)" }
        if status.hasPrefix("2") || status.hasPrefix("18") { lines.append("Contact: <\(contact)>") }
        lines.append("Content-Length: 0")
        send(lines, to: request.sourcePort)
    }

    /// A request of this party: `Via` with `branch`, Max-Forwards, From (with `fromTag`), To,
    /// Call-ID, CSeq, its Contact (but for BYE and ACK) and no body.
    func request(
        _ method: String, _ uri: String, to port: Int, branch: String, from: String, fromTag: String,
        toHeader: String, callID: String, cseq: Int
    ) {
        var lines = [
            "\(method) \(uri) SIP/2.0", "Via: SIP/2.0/UDP \(address):\(self.port);branch=z9hG4bK-\(branch);rport",
            "Max-Forwards: 70", "From: \(from);tag=\(fromTag)", "To: \(toHeader)", "Call-ID: \(callID)",
            "CSeq: \(cseq) \(method)",
        ]
        if method != "BYE" && method != "ACK" { lines.append("Contact: <\(contact)>") }
        lines.append("Content-Length: 0")
        send(lines, to: port)
    }
}

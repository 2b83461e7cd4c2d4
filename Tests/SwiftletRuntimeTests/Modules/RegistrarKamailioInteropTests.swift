import Foundation
import Testing

/// The replies of Swiftlet's registrar next to Kamailio 5.6.3's for the same REGISTERs, header
/// by header: each server runs the same configuration and gets the same requests from a
/// phone of its own; the replies must be equal but for the phone's port, sl's To-tag and the
/// Server header.
@Suite(.serialized) struct RegistrarKamailioInteropTests {
    static func config(mpath: String?) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        \(mpath.map { "mpath=\"\($0)\"" } ?? "")
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        modparam("registrar", "use_path", 1)
        modparam("registrar", "max_contacts", 3)
        modparam("registrar", "max_expires", 3600)
        request_route {
            if (method == "REGISTER") { save("location"); exit; }
            sl_send_reply("404", "Not here");
        }

        """
    }

    /// The exchanges: each REGISTER's Contact lines, Expires and extra headers.
    static let steps: [(contacts: [String], expires: Int?, extra: [String])] = [
        (["<sip:alice@127.0.0.1:5070>;q=0.5, <sip:alice@10.0.0.1:5060>;expires=120"], 600, []),
        (["<sip:alice@127.0.0.1:5070>"], 300, []),  // refresh
        (["<sip:alice@10.0.0.2>;q=1", "<sip:alice@10.0.0.3>;q=0.25;expires=7200"], nil, []),
        (["<sip:alice@10.0.0.4>"], 600, []),  // a fourth: 503
        (["<sip:alice@10.0.0.1:5060>;expires=0"], 600, []),
        ([], nil, []),  // query
        (["<sip:alice@10.0.0.9>;q=2"], 600, []),  // 400 q
        (["*"], nil, []),  // 400: * without Expires: 0
        (["*", "<sip:alice@10.0.0.2>"], 0, []),  // 400: * with another contact
        (["<sip:alice@10.0.0.5>"], nil, ["Expires: soon"]),  // a date: default_expires
        (["<sip:alice@10.0.0.5>"], nil, ["Expires: "]),  // 400 Expires parse error
        (["<sip:alice@10.0.0.6>;+sip.instance=\"<urn:uuid:1234>\";reg-id=1"], 600, []),
        (["<sip:bob@10.0.0.7>"], 600, ["Path: <sip:edge@127.0.0.9:5062;lr>", "Supported: path"]),
        (["<sip:bob@10.0.0.7>"], 600, ["Path: <sip:edge@127.0.0.9:5062;lr>"]),  // 420
        (["*"], 0, []),
    ]

    static func register(_ step: Int, party: SIPSocketParty) -> [String] {
        let s = steps[step]
        let user = s.extra.contains { $0.hasPrefix("Path") } ? "bob" : "alice"
        var lines = [
            "REGISTER sip:127.0.0.1 SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:\(party.port);branch=z9hG4bK-reg\(step);rport",
            "From: <sip:\(user)@127.0.0.1>;tag=f\(step)", "To: <sip:\(user)@127.0.0.1>", "Call-ID: reg-interop-\(user)",
            "CSeq: \(step + 1) REGISTER", "Max-Forwards: 70",
        ]
        lines += s.contacts.map { "Contact: \($0)" }
        if let e = s.expires { lines.append("Expires: \(e)") }
        lines += s.extra + ["User-Agent: interop", "Content-Length: 0"]
        return lines
    }

    /// A reply's lines with what legitimately differs replaced.
    static func normalized(_ reply: ReceivedSIP, port: Int) -> [String] {
        reply.text.components(separatedBy: "\r\n").map { line in
            if line.hasPrefix("Server:") { return "Server: *" }
            if line.hasPrefix("To:"), let tag = line.range(of: ";tag=") {
                return String(line[..<tag.lowerBound]) + ";tag=*"
            }
            return line.replacingOccurrences(of: String(port), with: "PHONE")
        }
    }

    /// Whether two normalized replies are the same, line by line, where a Contact's remaining
    /// `expires=` may differ by one second: each server counts it down from when it saved the
    /// contact, and the two registrations of a step can fall on either side of a second.
    static func sameReply(_ a: [String], _ b: [String]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in
            if x == y { return true }
            guard x.hasPrefix("Contact:"), y.hasPrefix("Contact:") else { return false }
            let (xs, xe) = withoutExpiresValues(x)
            let (ys, ye) = withoutExpiresValues(y)
            return xs == ys && xe.count == ye.count && zip(xe, ye).allSatisfy { abs($0 - $1) <= 1 }
        }
    }

    /// `line` with the value of every `expires=` parameter taken out, and those values.
    static func withoutExpiresValues(_ line: String) -> (String, [Int]) {
        var text = ""
        var values: [Int] = []
        var rest = Substring(line)
        while let r = rest.range(of: "expires=") {
            text += rest[..<r.upperBound]
            rest = rest[r.upperBound...]
            let digits = rest.prefix { $0.isNumber }
            values.append(Int(digits) ?? -1)
            rest = rest.dropFirst(digits.count)
        }
        return (text + rest, values)
    }

    @Test(.enabled(if: kamailioPath != nil, "needs kamailio (apt-get install kamailio)"))
    func registerRepliesMatchKamailios() throws {
        let kamailio = try KamailioTestServer(config: Self.config(mpath: kamailioModules))
        defer { kamailio.stop() }
        let swiftlet = try TestServer(config: Self.config(mpath: nil))
        defer { swiftlet.stop() }
        let kPhone = SIPSocketParty(user: "alice")
        let sPhone = SIPSocketParty(user: "alice")
        for step in Self.steps.indices {
            kPhone.send(Self.register(step, party: kPhone), to: kamailio.port)
            sPhone.send(Self.register(step, party: sPhone), to: swiftlet.port)
            guard let k = kPhone.next(), let s = sPhone.next() else {
                Issue.record("step \(step): no reply\n\(kamailio.log.suffix(1000))\n\(swiftlet.log.suffix(1000))")
                return
            }
            #expect(
                Self.sameReply(Self.normalized(s, port: sPhone.port), Self.normalized(k, port: kPhone.port)),
                "step \(step):\nKamailio:\n\(k.text)\nSwiftlet:\n\(s.text)")
        }
    }
}

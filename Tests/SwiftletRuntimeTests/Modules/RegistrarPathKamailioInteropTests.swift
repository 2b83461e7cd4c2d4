import Foundation
import Testing

/// registrar's `lookup()` of contacts registered through a Path, compared with Debian's
/// Kamailio 5.6.3 on loopback: the same configuration registers the contacts, then the
/// requests that two edge proxies (UDP sockets on 127.0.0.2 and 127.0.0.3) receive must be
/// the same: destination (which edge), Request-URI, Route set from the stored Path (the first
/// hop dropped with `path_check_local` when it is the server itself), the branch's ruid and
/// User-Agent (`$ruid`, `$location_ua` in a branch route), the ACK of a negative reply and a
/// CANCEL, for `lookup()` with one contact, with parallel forking and `lookup_branches()`.
@Suite(.serialized) struct RegistrarPathKamailioInteropTests {
    static func config(mpath: String?) -> String {
        """
        debug=2
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        \(mpath.map { "mpath=\"\($0)\"" } ?? "")
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "textops.so"
        loadmodule "corex.so"
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        modparam("registrar", "use_path", 1)
        modparam("registrar", "path_check_local", 1)
        request_route {
            if (is_method("REGISTER")) { if (!save("location")) { sl_reply_error(); } exit; }
            if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
            if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
            if ($hdr(X-Lookup) == "branches") {
                append_branch("sip:frank@example.com");
                if (!lookup_branches("location")) { sl_send_reply("404", "Not Found"); exit; }
            } else if (!lookup("location")) {
                sl_send_reply("404", "Not Found");
                exit;
            }
            t_on_branch("loc");
            if (!t_relay()) { sl_reply_error(); }
        }
        branch_route[loc] {
            append_hf("X-Location: ruid=$ruid ua=$location_ua du=$du\\r\\n");
        }
        """
    }

    /// Registers the contacts and runs the calls against the server on `port`: what the edges
    /// and the caller saw, per scenario, with the ports, branches and ruids replaced by names.
    func exchange(port: Int) throws -> [String: [String]] {
        let edge1 = SIPSocketParty(user: "edge1", address: "127.0.0.2")
        let edge2 = SIPSocketParty(user: "edge2", address: "127.0.0.3")
        let client = SIPSocketParty(user: "client")
        let caller = SIPSocketParty(user: "caller")
        let hop1 = "<sip:127.0.0.2:\(edge1.port);lr;received=sip:10.1.1.1:5062>"
        let hop2 = "<sip:127.0.0.3:\(edge2.port);lr>"
        let me = "<sip:127.0.0.1:\(port);lr>"
        let instance = ";+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-000000000001>\";reg-id=1"
        var cseq = 0
        func register(_ user: String, _ contact: String, _ paths: [String]) throws {
            cseq += 1
            client.send(
                [
                    "REGISTER sip:example.com SIP/2.0",
                    "Via: SIP/2.0/UDP 127.0.0.1:\(client.port);branch=z9hG4bK-reg\(cseq);rport",
                    "Max-Forwards: 70", "From: <sip:\(user)@example.com>;tag=r\(cseq)", "To: <sip:\(user)@example.com>",
                    "Call-ID: reg-\(user)-\(cseq)", "CSeq: \(cseq) REGISTER", "Contact: \(contact)",
                    "User-Agent: Phone of \(user)/1.0", "Supported: path",
                ] + paths.map { "Path: \($0)" } + ["Expires: 600", "Content-Length: 0"], to: port)
            let reply = try client.expect("SIP/2.0 200 ")
            #expect(reply.headers("Path").count == 1, "\(reply)")
        }
        try register("bob", "<sip:bob@10.0.0.9:5070>" + instance, [hop1, hop2])
        try register("alice", "<sip:alice@10.0.0.8>", ["\(me),\(hop1)"])
        // Only this server, without a port: any port of our host is this server (check_self(host, 0)).
        try register("carol", "<sip:carol@127.0.0.2:\(edge1.port)>", ["<sip:127.0.0.1;lr>"])
        try register("dave", "<sip:dave@10.0.0.1>", [hop1])
        try register("dave", "<sip:dave@10.0.0.2>", [hop2])
        try register("erin", "<sip:erin@10.0.0.3>", [hop1])
        try register("frank", "<sip:frank@10.0.0.4>", [hop2])

        let names: [(Int, String)] = [
            (port, "SERVER"), (edge1.port, "EDGE1"), (edge2.port, "EDGE2"), (client.port, "CLIENT"),
            (caller.port, "CALLER"),
        ]
        func normalized(_ m: ReceivedSIP, _ at: String) -> String {
            var t = m.text
            t = t.replacingOccurrences(
                of: #"uloc-[0-9a-f]+-[0-9a-f]+-[0-9]+"#, with: "RUID", options: .regularExpression)
            t = t.replacingOccurrences(of: #"branch=z9hG4bK[^;,\r\n]*"#, with: "branch=B", options: .regularExpression)
            for (p, name) in names {
                t = t.replacingOccurrences(of: #"(?<![0-9])\#(p)(?![0-9])"#, with: name, options: .regularExpression)
            }
            let from = names.first { $0.0 == m.sourcePort }?.1 ?? "?"
            return "\(at) from \(from):\n\(t)"
        }
        var seen: [String: [String]] = [:]
        var call = 0
        func invite(_ user: String, extra: [String] = []) -> (callID: String, branch: String) {
            call += 1
            let callID = "call-\(call)-\(user)"
            caller.send(
                [
                    "INVITE sip:\(user)@example.com SIP/2.0",
                    "Via: SIP/2.0/UDP 127.0.0.1:\(caller.port);branch=z9hG4bK-inv\(call);rport", "Max-Forwards: 70",
                    "From: <sip:caller@example.com>;tag=c\(call)", "To: <sip:\(user)@example.com>",
                    "Call-ID: \(callID)",
                    "CSeq: 1 INVITE", "Contact: <\(caller.contact)>",
                ] + extra + ["Content-Length: 0"], to: port)
            return (callID, "z9hG4bK-inv\(call)")
        }
        /// The edge's INVITE, answered with 486; the server's ACK to it; the caller's 486.
        func busy(_ name: String, _ edges: [SIPSocketParty]) throws {
            for edge in edges {
                let inv = try edge.expect("INVITE ")
                seen[name, default: []].append(normalized(inv, edge.user))
                edge.reply(inv, "486 Busy Here", toTag: "e-\(edge.user)")
                let ack = try edge.expect("ACK ")
                seen[name, default: []].append(normalized(ack, edge.user))
            }
            let final = try caller.expect("SIP/2.0 486 ")
            seen[name, default: []].append(normalized(final, "caller"))
            caller.send(
                [
                    "ACK sip:x@example.com SIP/2.0", final.headers("Via").map { "Via: \($0)" }.first ?? "",
                    "Max-Forwards: 70", "From: \(final.headers("From")[0])", "To: \(final.headers("To")[0])",
                    "Call-ID: \(final.headers("Call-ID")[0])", "CSeq: 1 ACK", "Content-Length: 0",
                ], to: port)
        }

        // Two hops: to the first, both as Route (the `received` parameter kept).
        _ = invite("bob")
        try busy("bob: two Path hops", [edge1])
        // One contact per edge, forked in parallel.
        _ = invite("dave")
        try busy("dave: forked", [edge1, edge2])
        // lookup_branches(): the R-URI erin through edge1, the branch frank through edge2.
        _ = invite("erin", extra: ["X-Lookup: branches"])
        try busy("erin+frank: lookup_branches", [edge1, edge2])
        // Only this server in the Path: no Route, straight to the contact.
        _ = invite("carol")
        try busy("carol: only this server in the Path", [edge1])
        // This server, then edge1: the first hop skipped; then the call is cancelled.
        let (callID, branch) = invite("alice")
        let inv = try edge1.expect("INVITE ")
        seen["alice: CANCEL", default: []].append(normalized(inv, "edge1"))
        edge1.reply(inv, "180 Ringing", toTag: "e-alice")
        _ = try caller.expect("SIP/2.0 180 ")
        caller.send(
            [
                "CANCEL sip:alice@example.com SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:\(caller.port);branch=\(branch);rport",
                "Max-Forwards: 70", "From: <sip:caller@example.com>;tag=c\(call)", "To: <sip:alice@example.com>",
                "Call-ID: \(callID)", "CSeq: 1 CANCEL", "Content-Length: 0",
            ], to: port)
        _ = try caller.expect("SIP/2.0 200 ")
        let cancel = try edge1.expect("CANCEL ")
        seen["alice: CANCEL", default: []].append(normalized(cancel, "edge1"))
        edge1.reply(cancel, "200 OK", toTag: "e-alice")
        edge1.reply(inv, "487 Request Terminated", toTag: "e-alice")
        let ack = try edge1.expect("ACK ")
        seen["alice: CANCEL", default: []].append(normalized(ack, "edge1"))
        _ = try caller.expect("SIP/2.0 487 ")
        return seen
    }

    @Test(.enabled(if: kamailioPath != nil, "needs Debian's kamailio package"))
    func requestsToPathContactsMatchKamailios() throws {
        let kamailio = try KamailioTestServer(config: Self.config(mpath: kamailioModules))
        defer { kamailio.stop() }
        let theirs = try exchange(port: kamailio.port)
        let server = try TestServer(config: Self.config(mpath: nil))
        defer { _ = server.stop() }
        let ours = try exchange(port: server.port)
        #expect(ours.keys.sorted() == theirs.keys.sorted())
        for key in theirs.keys.sorted() {
            var mine = ours[key] ?? []
            var kams = theirs[key] ?? []
            if key.hasPrefix("erin+frank") {
                // lookup_branches(): Kamailio gives a looked-up branch no ruid or User-Agent
                // (it copies only URI, destination, path, q, socket and flags); Swiftlet keeps them.
                let frank = mine.first { $0.contains("INVITE sip:frank@") } ?? ""
                #expect(frank.contains("X-Location: ruid=RUID ua=Phone of frank/1.0 du=sip:127.0.0.3:EDGE2;lr\r\n"))
                let noLocation = { (s: String) in
                    s.replacingOccurrences(of: #"X-Location: ruid=[^\r]*\r\n"#, with: "", options: .regularExpression)
                }
                mine = mine.map(noLocation)
                kams = kams.map(noLocation)
            }
            // Forked branches may arrive in either order at different edges: compare as sets.
            #expect(mine.sorted() == kams.sorted(), "\(key)")
            if mine.sorted() != kams.sorted() {
                for (a, b) in zip(mine.sorted(), kams.sorted()) where a != b { print("OURS:\n\(a)\nKAMAILIO:\n\(b)") }
            }
        }
        // What Kamailio sent, as a check that the comparison compares something.
        let bob = theirs["bob: two Path hops"]?.first ?? ""
        #expect(
            bob.contains(
                "\r\nRoute: <sip:127.0.0.2:EDGE1;lr;received=sip:10.1.1.1:5062>,<sip:127.0.0.3:EDGE2;lr>\r\n"),
            "\(bob)")
        #expect(bob.hasPrefix("edge1 from SERVER:\nINVITE sip:bob@10.0.0.9:5070 SIP/2.0\r\n"), "\(bob)")
        #expect(bob.contains("X-Location: ruid=RUID ua=Phone of bob/1.0"), "\(bob)")
        let alice = theirs["alice: CANCEL"] ?? []
        #expect(alice.count == 3 && alice.allSatisfy { $0.contains("\r\nRoute: <sip:127.0.0.2:EDGE1;lr;") }, "\(alice)")
        let carol = theirs["carol: only this server in the Path"]?.first ?? ""
        #expect(carol.contains("INVITE sip:carol@127.0.0.2:EDGE1 SIP/2.0") && !carol.contains("Route:"), "\(carol)")
    }
}

import Foundation
import Testing

/// `dlg_bridge` and `dlg.bridge_dlg` in the running binary, with a UDP socket as the party
/// called: the INVITE on hold from the bridge controller, the 200 it answers, the ACK, the
/// REFER to the other address and the BYE after the REFER's reply; a party that does not
/// answer gets nothing more.
@Suite(.serialized) struct DialogBridgeServerTests {
    static func config(socket: String) -> String {
        #"""
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=2
        listen=udp:127.0.0.1:PORT
        loadmodule "pv.so"
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "textops.so"
        loadmodule "xlog.so"
        loadmodule "jsonrpcs.so"
        loadmodule "dialog.so"
        modparam("jsonrpcs", "dgram_socket", "SOCKET")
        modparam("jsonrpcs", "transport", 4)
        modparam("tm", "fr_timer", 500)
        modparam("dialog", "bridge_controller", "sip:ctl@example.net")
        modparam("dialog", "bridge_contact", "sip:ctl@127.0.0.1:PORT")
        request_route {
            if (is_method("MESSAGE")) {
                dlg_bridge("$hdr(X-From)", "$hdr(X-To)", "");
                $var(rc) = $rc;
                sl_send_reply("200", "bridge $var(rc)");
                exit;
            }
            sl_send_reply("404", "Not here");
        }
        """#.replacingOccurrences(of: "SOCKET", with: socket)
    }

    static func start() throws -> (TestServer, ([String]) throws -> [String: Any]) {
        let dir = TemporaryDirectory()
        let socket = dir.path + "/rpc.sock"
        let server = try TestServer(config: config(socket: socket))
        let call = { (args: [String]) throws -> [String: Any] in
            _ = dir
            return try CountersRPCTests.call(socket, args)
        }
        for _ in 0..<50 where (try call(["core.version"]))["result"] == nil { usleep(50_000) }
        return (server, call)
    }

    static func header(_ name: String, _ text: String) -> String? {
        text.components(separatedBy: "\r\n").first { $0.hasPrefix(name + ": ") }.map {
            String($0.dropFirst(name.count + 2))
        }
    }

    /// The reply of `party` to `request`: its Vias, From, To (with `tag` when it has none),
    /// Call-ID, CSeq and a Contact of `party`.
    static func answer(_ request: String, _ code: Int, _ reason: String, party: UDPClient) -> String {
        var lines = ["SIP/2.0 \(code) \(reason)"]
        for line in request.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n") {
            let name = line.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            if name == "To" {
                lines.append(line.contains(";tag=") ? line : line + ";tag=carol9")
            } else if ["Via", "From", "Call-ID", "CSeq"].contains(name) {
                lines.append(line)
            }
        }
        lines += ["Contact: <sip:carol@127.0.0.1:\(party.port)>", "Content-Length: 0"]
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// The next request `party` receives that is not a retransmission of `skip`'s method.
    static func next(_ party: UDPClient, skipping method: String? = nil) -> String? {
        while let m = party.receive(timeout: 3) {
            if let method, m.hasPrefix(method + " ") { continue }
            return m
        }
        return nil
    }

    /// Plays the party `from`: checks the INVITE, answers 200, then expects the ACK, the
    /// REFER (answered 202) and the BYE (answered 200).
    static func playBridgedParty(_ carol: UDPClient, server: TestServer) throws {
        let invite = try #require(carol.receive(timeout: 3))
        #expect(invite.hasPrefix("INVITE sip:carol@127.0.0.1:\(carol.port) SIP/2.0\r\n"))
        #expect(header("From", invite)?.hasPrefix("<sip:ctl@example.net>;tag=") == true)
        #expect(header("To", invite) == "<sip:carol@127.0.0.1:\(carol.port)>")
        #expect(header("Contact", invite) == "<sip:ctl@127.0.0.1:\(server.port)>")
        #expect(header("Content-Type", invite) == "application/sdp")
        #expect(header("CSeq", invite) == "10 INVITE")
        let sdp = invite.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        #expect(
            sdp
                == "v=0\r\no=kamailio-bridge 0 0 IN IP4 0.0.0.0\r\ns=kamailio\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                + "m=audio 9 RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n")
        let callID = try #require(header("Call-ID", invite))
        carol.send(answer(invite, 200, "OK", party: carol), to: server.port)

        let ack = try #require(next(carol, skipping: "INVITE"))
        #expect(ack.hasPrefix("ACK sip:carol@127.0.0.1:\(carol.port) SIP/2.0\r\n"))
        #expect(header("CSeq", ack) == "10 ACK")
        let refer = try #require(next(carol, skipping: "ACK"))
        #expect(refer.hasPrefix("REFER sip:carol@127.0.0.1:\(carol.port) SIP/2.0\r\n"))
        #expect(header("Refer-To", refer) == "sip:dave@example.org")
        #expect(header("Referred-By", refer) == "sip:ctl@example.net")
        #expect(header("Contact", refer) == "<sip:ctl@127.0.0.1:\(server.port)>")
        #expect(header("Call-ID", refer) == callID)
        #expect(header("From", refer) == header("From", invite))
        #expect(header("To", refer) == "<sip:carol@127.0.0.1:\(carol.port)>;tag=carol9")
        #expect(header("CSeq", refer) == "11 REFER")
        carol.send(answer(refer, 202, "Accepted", party: carol), to: server.port)

        let bye = try #require(next(carol, skipping: "REFER"))
        #expect(bye.hasPrefix("BYE sip:carol@127.0.0.1:\(carol.port) SIP/2.0\r\n"))
        #expect(header("CSeq", bye) == "12 BYE")
        #expect(header("Call-ID", bye) == callID)
        #expect(header("To", bye) == "<sip:carol@127.0.0.1:\(carol.port)>;tag=carol9")
        carol.send(answer(bye, 200, "OK", party: carol), to: server.port)
    }

    @Test func dlgBridgeFromTheScript() throws {
        let (server, _) = try Self.start()
        let carol = UDPClient()
        let admin = UDPClient()
        let message =
            [
                "MESSAGE sip:ctl@127.0.0.1:\(server.port) SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:\(admin.port);branch=z9hG4bK-bridge1;rport",
                "From: <sip:admin@127.0.0.1>;tag=m1", "To: <sip:ctl@127.0.0.1>", "Call-ID: bridge-msg-1",
                "CSeq: 1 MESSAGE", "Max-Forwards: 70", "X-From: sip:carol@127.0.0.1:\(carol.port)",
                "X-To: sip:dave@example.org", "Content-Length: 0",
            ].joined(separator: "\r\n") + "\r\n\r\n"
        admin.send(message, to: server.port)
        #expect(admin.receive(timeout: 3)?.hasPrefix("SIP/2.0 200 bridge 1\r\n") == true)
        try Self.playBridgedParty(carol, server: server)
        // Unresolvable: -1 at once, nothing sent.
        admin.send(
            message.replacingOccurrences(of: "sip:carol@127.0.0.1:\(carol.port)", with: "sip:carol@nowhere.invalid")
                .replacingOccurrences(of: "bridge1", with: "bridge2"), to: server.port)
        #expect(admin.receive(timeout: 3)?.hasPrefix("SIP/2.0 200 bridge -1\r\n") == true)
        #expect(carol.receive(timeout: 0.5) == nil)
        _ = server.stop()
    }

    /// tm's own Call-IDs (and the From tags made from them) differ after a restart, as
    /// Kamailio's random Call-ID prefix makes them: the first local request of each run.
    @Test func localCallIDsDifferAcrossRestarts() throws {
        var seen: [(callID: String, from: String)] = []
        for _ in 0..<2 {
            let (server, call) = try Self.start()
            let party = UDPClient()
            let r = try call(["dlg.bridge_dlg", "sip:carol@127.0.0.1:\(party.port)", "sip:dave@example.org"])
            #expect(r["error"] == nil)
            let invite = try #require(party.receive(timeout: 3))
            let callID = try #require(Self.header("Call-ID", invite))
            #expect(callID.hasSuffix("@swiftlet"))
            seen.append((callID, try #require(Self.header("From", invite))))
            _ = server.stop()
        }
        #expect(seen[0].callID != seen[1].callID)
        #expect(seen[0].from != seen[1].from)
    }

    @Test func dlgBridgeOverRPCAndAPartyThatDoesNotAnswer() throws {
        let (server, call) = try Self.start()
        // Nobody answers: the INVITE (and its retransmissions) until fr_timer, then nothing.
        let silent = UDPClient()
        let r = try call(["dlg.bridge_dlg", "sip:carol@127.0.0.1:\(silent.port)", "sip:dave@example.org"])
        #expect(r["error"] == nil)
        var seen: [String] = []
        while let m = silent.receive(timeout: 1.5) { seen.append(String(m.prefix { $0 != "\r" })) }
        #expect(!seen.isEmpty)
        #expect(seen.allSatisfy { $0.hasPrefix("INVITE ") })
        // The server goes on: the next bridge over RPC, with "." for no proxy, works.
        let carol = UDPClient()
        let r2 = try call(["dlg.bridge_dlg", "sip:carol@127.0.0.1:\(carol.port)", "sip:dave@example.org", "."])
        #expect(r2["error"] == nil)
        try Self.playBridgedParty(carol, server: server)
        // Too few parameters: a fault.
        let bad = try call(["dlg.bridge_dlg", "sip:carol@127.0.0.1"])
        #expect((bad["error"] as? [String: Any])?["code"] as? Int == 500)
        _ = server.stop()
    }
}

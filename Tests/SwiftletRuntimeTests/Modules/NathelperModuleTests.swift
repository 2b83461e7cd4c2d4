import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// nathelper on crafted messages: every `nat_uac_test` flag, the Contact and SDP fixes as
/// they leave the server, the alias parameter there and back, and `received` for registrar.
@Suite(.serialized) struct NathelperModuleTests {
    static let natted = "203.0.113.7"

    /// An INVITE from a phone behind NAT (private Contact, Via and SDP addresses).
    static func invite(
        uri: String = "sip:bob@127.0.0.1", via: String = "SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK-n1;rport",
        contact: String = "<sip:alice@192.168.1.10:5060;transport=udp>", sdpAddress: String? = "10.0.0.5",
        extra: [String] = []
    ) -> String {
        var lines =
            [
                "INVITE \(uri) SIP/2.0", "Via: \(via)", "From: <sip:alice@example.com>;tag=a1",
                "To: <sip:bob@example.com>", "Call-ID: nat-1@test", "CSeq: 1 INVITE", "Max-Forwards: 70",
                "Contact: \(contact)",
            ] + extra
        guard let sdpAddress else { return (lines + ["Content-Length: 0"]).joined(separator: "\r\n") + "\r\n\r\n" }
        let sdp =
            [
                "v=0", "o=- 1 1 IN IP4 \(sdpAddress)", "s=-", "c=IN IP4 \(sdpAddress)", "t=0 0",
                "m=audio 4000 RTP/AVP 0", "a=rtcp:4001 IN IP4 \(sdpAddress)",
            ].joined(separator: "\r\n") + "\r\n"
        lines += ["Content-Type: application/sdp", "Content-Length: \(sdp.utf8.count)"]
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + sdp
    }

    /// The return code of `call` run on `message` from `source`.
    func code(
        _ call: String, _ message: String, from source: String = natted, port: Int = 40000,
        params: String = ""
    ) throws -> Int {
        let (ctx, _) = try ScriptHarness.run(
            "loadmodule \"nathelper.so\"\n\(params)request_route {\n\(call); $avp(r) = $rc;\n}\n", message,
            sourceIP: source, sourcePort: port)
        if case .int(let i) = ctx.avps["r"]?.first { return i }
        return 99
    }

    @Test func everyNATTestFlagDetectsItsCase() throws {
        let t = "nat_uac_test"
        let publicContact = "<sip:alice@203.0.113.7:40000>"
        let publicVia = "SIP/2.0/UDP 203.0.113.7:40000;branch=z9hG4bK-p"
        // 1: RFC 1918 (and RFC 6598) address in the Contact.
        #expect(try code("\(t)(\"1\")", Self.invite()) == 1)
        #expect(try code("\(t)(\"1\")", Self.invite(contact: "<sip:a@100.64.1.1>")) == 1)
        #expect(try code("\(t)(\"1\")", Self.invite(contact: publicContact)) == -1)
        // 2: the Via address is not the source address.
        #expect(try code("\(t)(\"2\")", Self.invite()) == 1)
        #expect(try code("\(t)(\"2\")", Self.invite(via: publicVia)) == -1)
        // 4: a private address in the top Via.
        #expect(try code("\(t)(\"4\")", Self.invite()) == 1)
        #expect(try code("\(t)(\"4\")", Self.invite(via: publicVia)) == -1)
        // 8: a private address in the SDP.
        #expect(try code("\(t)(\"8\")", Self.invite()) == 1)
        #expect(try code("\(t)(\"8\")", Self.invite(sdpAddress: "198.51.100.9")) == -1)
        #expect(try code("\(t)(\"8\")", Self.invite(sdpAddress: nil)) == -1)
        // 16: the source port is not the Via port.
        #expect(try code("\(t)(\"16\")", Self.invite()) == 1)
        #expect(try code("\(t)(\"16\")", Self.invite(via: publicVia)) == -1)
        // 32: the source address itself is private.
        #expect(try code("\(t)(\"32\")", Self.invite(), from: "192.168.1.10") == 1)
        #expect(try code("\(t)(\"32\")", Self.invite()) == -1)
        // 128: the Contact port is not the source port.
        #expect(try code("\(t)(\"128\")", Self.invite()) == 1)
        #expect(try code("\(t)(\"128\")", Self.invite(contact: publicContact)) == -1)
        // 256: the SDP connection address is not the source address.
        #expect(try code("\(t)(\"256\")", Self.invite()) == 1)
        #expect(try code("\(t)(\"256\")", Self.invite(sdpAddress: Self.natted)) == -1)
        // 512: $du goes elsewhere than the Request-URI.
        #expect(try code("$du = \"sip:198.51.100.1:5080\"; \(t)(\"512\")", Self.invite()) == 1)
        #expect(try code("$du = \"sip:127.0.0.1\"; \(t)(\"512\")", Self.invite()) == -1)
        // The stock configuration's 19 (1, 2, 16): any one is enough; a clean request passes.
        #expect(try code("\(t)(\"19\")", Self.invite()) == 1)
        #expect(try code("\(t)(\"19\")", Self.invite(via: publicVia, contact: publicContact)) == -1)
        // A flags variable.
        #expect(try code("$var(f) = 4; \(t)(\"$var(f)\")", Self.invite()) == 1)
    }

    @Test func webSocketFlagLooksAtTheTransport() throws {
        let loaded = try ScriptHarness.load(
            ScriptHarness.prelude
                + "loadmodule \"nathelper.so\"\nrequest_route {\nnat_uac_test(\"64\"); $avp(r) = $rc;\n}\n")
        func run(_ proto: TransportProtocol) throws -> PVValue? {
            let m = try SIPMessage(parsing: Array(Self.invite().utf8))
            let receive = ReceiveInfo(
                proto: proto, sourceIP: Self.natted, sourcePort: 40000, localIP: "127.0.0.1", localPort: 5060)
            let ctx = MessageContext(message: m, receive: receive, core: loaded.context)
            loaded.script.runRequestRoute(ctx)
            return ctx.avps["r"]?.first
        }
        #expect(try run(.ws) == .int(1))
        #expect(try run(.wss) == .int(1))
        #expect(try run(.udp) == .int(-1))
    }

    @Test func destinationFlagOnRepliesLooksAtTheSecondVia() throws {
        let loaded = try ScriptHarness.load(
            ScriptHarness.prelude
                + "loadmodule \"nathelper.so\"\nonreply_route {\nnat_uac_test(\"512\"); $avp(r) = $rc;\n}\n")
        func run(_ via2: String) throws -> PVValue? {
            let reply = ScriptHarness.reply().replacingOccurrences(
                of: "branch=z9hG4bK-1\r\n", with: "branch=z9hG4bK-1\r\nVia: \(via2)\r\n")
            let ctx = try ScriptHarness.context(reply, sourceIP: "198.51.100.2", sourcePort: 5060, core: loaded.context)
            loaded.script.runReplyRoute(ctx)
            return ctx.avps["r"]?.first
        }
        // rport differs from the sent-by port, received differs from the host, or WebSocket.
        #expect(try run("SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK-u;rport=40000;received=203.0.113.7") == .int(1))
        #expect(try run("SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK-u;received=203.0.113.7") == .int(1))
        #expect(try run("SIP/2.0/WS abc.invalid;branch=z9hG4bK-u") == .int(1))
        #expect(try run("SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK-u;rport=5060;received=203.0.113.7") == .int(-1))
        #expect(try run("SIP/2.0/UDP 203.0.113.7;branch=z9hG4bK-u") == .int(-1))
    }

    @Test func isRFC1918() throws {
        #expect(try code("is_rfc1918(\"10.1.2.3\")", Self.invite()) == 1)
        #expect(try code("is_rfc1918(\"172.31.0.1\")", Self.invite()) == 1)
        #expect(try code("is_rfc1918(\"192.0.0.200\")", Self.invite()) == 1)
        #expect(
            try code(
                "is_rfc1918(\"192.0.0.200\")", Self.invite(), params: "modparam(\"nathelper\", \"nat_addr_mode\", 0)\n")
                == -1)
        #expect(try code("is_rfc1918(\"8.8.8.8\")", Self.invite()) == -1)
        #expect(try code("is_rfc1918(\"$si\")", Self.invite(), from: "192.168.7.7") == 1)
    }

    // MARK: edits as they leave the server

    static let config = """
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "nathelper.so"
        modparam("nathelper", "received_avp", "$avp(RECEIVED)")
        request_route {
            $var(case) = $hdr(X-Case);
            if ($var(case) == "fix") { fix_nated_contact(); }
            else if ($var(case) == "set") { set_contact_alias(); }
            else if ($var(case) == "settrim") { set_contact_alias("1"); }
            else if ($var(case) == "add") { $var(rc) = add_contact_alias(); if ($var(rc) == 2) { sl_send_reply("200", "rc=2"); exit; } }
            else if ($var(case) == "add3") { add_contact_alias("198.51.100.1", "5070", "tcp"); }
            else if ($var(case) == "twice") { fix_nated_contact(); if (!set_contact_alias()) { sl_send_reply("500", "twice"); exit; } }
            else if ($var(case) == "rcv") { add_rcv_param(); }
            else if ($var(case) == "rcvuri") { add_rcv_param("1"); }
            else if ($var(case) == "sdp") { fix_nated_sdp("3"); }
            else if ($var(case) == "sdpip") { fix_nated_sdp("10", "198.51.100.77"); }
            else if ($var(case) == "register") { fix_nated_register(); sl_send_reply("200", "r=$avp(RECEIVED)"); exit; }
            else if ($var(case) == "alias") {
                $var(rc) = handle_ruri_alias();
                sl_send_reply("200", "rc=$var(rc) du=$du ru=$ru");
                exit;
            }
            else if ($var(case) == "aliaslast") { handle_ruri_alias("1"); sl_send_reply("200", "du=$du ru=$ru"); exit; }
            else if ($var(case) == "aliaspv") { set_alias_to_pv("$avp(a)"); sl_send_reply("200", "a=$avp(a)"); exit; }
            else if ($var(case) == "rr") { sl_send_reply("200", "rr=$rr_count top=$rr_top_count"); exit; }
            forward("127.0.0.1", 5090);
        }
        """

    func send(_ text: String, case name: String, from source: String = "203.0.113.7:40000") throws
        -> [MemoryTransport.Sent]
    {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        let withCase = text.replacingOccurrences(of: "Max-Forwards: 70", with: "Max-Forwards: 70\r\nX-Case: \(name)")
        core.receive(withCase, from: source)
        return core.takeSent()
    }

    func forwarded(_ text: String, case name: String) throws -> ReceivedSIP {
        let sent = try send(text, case: name)
        #expect(sent.count == 1)
        return ReceivedSIP(text: sent.first?.text ?? "", sourcePort: 5060)
    }

    @Test func fixNatedContactPutsTheSourceAddressInTheContact() throws {
        let out = try forwarded(Self.invite(), case: "fix")
        #expect(out.headers("Contact") == ["<sip:alice@203.0.113.7:40000;transport=udp>"])
        let maddr = try forwarded(Self.invite(contact: "<sip:alice@192.168.1.10;maddr=10.1.1.1;lr>"), case: "fix")
        #expect(maddr.headers("Contact") == ["<sip:alice@203.0.113.7:40000;lr>"])
        // A second Contact edit in the same message is refused.
        let twice = try send(Self.invite(), case: "twice")
        #expect(twice.map(\.firstLine) == ["SIP/2.0 500 twice"])
    }

    @Test func contactAliasesAreAddedAndUsedToReachTheSourceAgain() throws {
        let set = try forwarded(Self.invite(), case: "set")
        let aliased = "sip:alice@192.168.1.10:5060;transport=udp;alias=203.0.113.7~40000~1"
        #expect(set.headers("Contact") == ["<\(aliased)>"])
        // A Contact without <> gets them.
        let bare = try forwarded(Self.invite(contact: "sip:alice@192.168.1.10:5060"), case: "set")
        #expect(bare.headers("Contact") == ["<sip:alice@192.168.1.10:5060;alias=203.0.113.7~40000~1>"])
        // Trimming replaces an alias already there.
        let old = "<sip:alice@192.168.1.10:5060;alias=198.51.100.3~5999~1>"
        let trimmed = try forwarded(Self.invite(contact: old), case: "settrim")
        #expect(trimmed.headers("Contact") == ["<sip:alice@192.168.1.10:5060;alias=203.0.113.7~40000~1>"])

        // The alias back in a Request-URI: $du is the source, the Request-URI loses it.
        let back = try send(Self.invite(uri: aliased), case: "alias")
        #expect(
            back.map(\.firstLine) == [
                "SIP/2.0 200 rc=1 du=sip:203.0.113.7:40000 ru=sip:alice@192.168.1.10:5060;transport=udp"
            ])
        let tcp = try send(Self.invite(uri: "sip:a@10.0.0.1;alias=198.51.100.1~5070~2;lr"), case: "alias")
        #expect(
            tcp.map(\.firstLine) == ["SIP/2.0 200 rc=1 du=sip:198.51.100.1:5070;transport=tcp ru=sip:a@10.0.0.1;lr"])
        let none = try send(Self.invite(uri: "sip:a@10.0.0.1;lr"), case: "alias")
        #expect(none.map(\.firstLine) == ["SIP/2.0 200 rc=2 du=<null> ru=sip:a@10.0.0.1;lr"])
        let two = "sip:a@10.0.0.1;alias=1.1.1.1~1~1;alias=2.2.2.2~2~1"
        #expect(
            try send(Self.invite(uri: two), case: "aliaslast").map(\.firstLine) == [
                "SIP/2.0 200 du=sip:2.2.2.2:2 ru=sip:a@10.0.0.1;alias=1.1.1.1~1~1"
            ])
        // set_alias_to_pv reads it from the Contact.
        let pv = try send(Self.invite(contact: "<\(aliased)>"), case: "aliaspv")
        #expect(pv.map(\.firstLine) == ["SIP/2.0 200 a=sip:203.0.113.7:40000;transport=udp"])
    }

    @Test func addContactAliasOnlyWhenTheContactIsNotTheSource() throws {
        let add = try forwarded(Self.invite(), case: "add")
        #expect(add.headers("Contact") == ["<sip:alice@192.168.1.10:5060;alias=203.0.113.7~40000~1;transport=udp>"])
        let bare = try forwarded(Self.invite(contact: "sip:alice@192.168.1.10"), case: "add")
        #expect(bare.headers("Contact") == ["<sip:alice@192.168.1.10;alias=203.0.113.7~40000~1>"])
        let same = try send(Self.invite(contact: "<sip:alice@203.0.113.7:40000>"), case: "add")
        #expect(same.map(\.firstLine) == ["SIP/2.0 200 rc=2"])
        let given = try forwarded(Self.invite(), case: "add3")
        #expect(given.headers("Contact") == ["<sip:alice@192.168.1.10:5060;alias=198.51.100.1~5070~2;transport=udp>"])
    }

    @Test func receivedForRegistrarAndInContacts() throws {
        let reg = try send(Self.invite(), case: "register")
        #expect(reg.map(\.firstLine) == ["SIP/2.0 200 r=sip:203.0.113.7:40000"])
        let header = try forwarded(Self.invite(), case: "rcv")
        #expect(
            header.headers("Contact") == [
                "<sip:alice@192.168.1.10:5060;transport=udp>;received=\"sip:203.0.113.7:40000\""
            ])
        let uri = try forwarded(Self.invite(), case: "rcvuri")
        #expect(
            uri.headers("Contact") == ["<sip:alice@192.168.1.10:5060;transport=udp;received=sip:203.0.113.7:40000>"])
    }

    @Test func fixNatedSDPRewritesAddressesAndAddsLines() throws {
        let out = try forwarded(Self.invite(), case: "sdp")
        let body = out.text.components(separatedBy: "\r\n\r\n")[1]
        #expect(
            body == [
                "v=0", "o=- 1 1 IN IP4 10.0.0.5", "s=-", "c=IN IP4 203.0.113.7", "t=0 0", "m=audio 4000 RTP/AVP 0",
                "a=rtcp:4001 IN IP4 203.0.113.7", "a=direction:active", "a=oldmediaip:10.0.0.5",
                "a=oldmediaip:10.0.0.5",
            ].joined(separator: "\r\n") + "\r\n")
        #expect(out.headers("Content-Length") == ["\(body.utf8.count)"])
        // Flags 2|8 with an address: c= and o= (and a=rtcp) take it.
        let ip = try forwarded(Self.invite(), case: "sdpip")
        let ipBody = ip.text.components(separatedBy: "\r\n\r\n")[1]
        #expect(ipBody.contains("o=- 1 1 IN IP4 198.51.100.77\r\n"))
        #expect(ipBody.contains("c=IN IP4 198.51.100.77\r\n"))
        #expect(!ipBody.contains("a=direction"))
    }

    @Test func recordRouteCounts() throws {
        let rr = ["Record-Route: <sip:10.0.0.1;lr;r2=on>, <sip:10.0.0.2;lr;r2=on>", "Record-Route: <sip:10.0.0.3;lr>"]
        #expect(try send(Self.invite(extra: rr), case: "rr").map(\.firstLine) == ["SIP/2.0 200 rr=3 top=2"])
        #expect(try send(Self.invite(), case: "rr").map(\.firstLine) == ["SIP/2.0 200 rr=0 top=0"])
    }

    @Test func misconfigurationsAreRefusedAtStartUp() {
        let noAVP = ScriptHarness.errors(
            ScriptHarness.prelude + "loadmodule \"nathelper.so\"\nrequest_route { fix_nated_register(); }\n")
        #expect(noAVP.contains { $0.contains("you must set 'received_avp' parameter") }, "\(noAVP)")
    }
}

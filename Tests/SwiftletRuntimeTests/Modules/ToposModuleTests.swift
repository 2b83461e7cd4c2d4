import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// topos on the embedded core: a call through tm with record_route(), between a caller
/// behind an upstream proxy (127.0.0.3:35090) and a callee behind a downstream proxy
/// (127.0.0.4:35095). Each side must see only this proxy: one Via, no Record-Route of the
/// other side, a generated Contact (`atpsh-...` towards the caller, `btpsh-...` towards
/// the callee), and the in-dialog requests of both sides must reach the other side's real
/// Contact through its own proxies.
@Suite struct ToposModuleTests {
    static let caller = "127.0.0.1:35070"
    static let upstreamProxy = "127.0.0.3:35090"
    static let downstreamProxy = "127.0.0.4:35095"

    static let config = """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:35060
        loadmodule "pv.so"
        loadmodule "sl.so"
        loadmodule "tm.so"
        loadmodule "siputils.so"
        loadmodule "textops.so"
        loadmodule "rr.so"
        loadmodule "topos.so"
        request_route {
            if (has_totag()) {
                if (loose_route()) { t_relay(); exit; }
                if (is_method("ACK")) { t_relay(); exit; }
                sl_send_reply("404", "Not here");
                exit;
            }
            if (is_method("CANCEL")) { t_relay(); exit; }
            record_route();
            $du = "sip:127.0.0.4:35095";
            t_relay();
        }

        """

    static func message(_ lines: [String]) -> String { lines.joined(separator: "\r\n") + "\r\n\r\n" }

    /// The values of the headers named `name`, in order.
    static func headers(_ text: String, _ name: String) -> [String] {
        text.components(separatedBy: "\r\n").filter { $0.lowercased().hasPrefix(name.lowercased() + ": ") }.map {
            String($0.dropFirst(name.count + 2))
        }
    }

    static func firstLine(_ text: String) -> String { text.components(separatedBy: "\r\n")[0] }

    /// The uid (`tpsh-...`) in a generated Contact `<sip:<side>tpsh-...@127.0.0.1:35060>`.
    static func uid(_ contact: String, side: String) -> String? {
        let prefix = "<sip:\(side)"
        guard contact.hasPrefix(prefix), contact.hasSuffix("@127.0.0.1:35060>") else { return nil }
        return String(contact.dropFirst(prefix.count).dropLast("@127.0.0.1:35060>".count))
    }

    static let invite = message([
        "INVITE sip:bob@example.com SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p1",
        "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport",
        "Record-Route: <sip:127.0.0.3:35090;lr>",
        "From: <sip:alice@example.com>;tag=a1", "To: <sip:bob@example.com>", "Call-ID: topos-1@127.0.0.1",
        "CSeq: 1 INVITE", "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:35070>", "Content-Length: 0",
    ])

    /// The callee's reply to `request` (as the downstream proxy relays it: its own Via on
    /// top was removed, its Record-Route added).
    static func calleeReply(_ status: String, to request: String) -> String {
        var r = ["SIP/2.0 " + status]
        r += headers(request, "Via").map { "Via: " + $0 }
        r.append("Record-Route: <sip:127.0.0.4:35095;lr>")
        for name in ["From", "Call-ID", "CSeq"] { r += headers(request, name).map { "\(name): " + $0 } }
        r += headers(request, "To").map { "To: " + $0 + ";tag=b1" }
        return message(r + ["Contact: <sip:bob@127.0.0.1:35080>", "Content-Length: 0"])
    }

    /// INVITE, 180, 200 through the proxy; returns the core, the INVITE the callee side got
    /// and the uid of the dialog.
    func establish() throws -> (EmbeddedCore, String, String) {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        core.receive(Self.invite, from: Self.upstreamProxy)
        let sent = core.takeSent()
        try #require(sent.count == 2)  // tm's 100, the INVITE
        let invite = sent[1].text
        #expect(sent[1].destination.address.description == Self.downstreamProxy)
        // The callee side sees one Via (ours), no Record-Route, our Contact.
        #expect(Self.firstLine(invite) == "INVITE sip:bob@example.com SIP/2.0")
        let vias = Self.headers(invite, "Via")
        #expect(vias.count == 1)
        #expect(vias.first?.hasPrefix("SIP/2.0/UDP 127.0.0.1:35060;branch=z9hG4bK") == true)
        #expect(Self.headers(invite, "Record-Route").isEmpty)
        #expect(Self.headers(invite, "Route").isEmpty)
        let contact = Self.headers(invite, "Contact")
        try #require(contact.count == 1)
        let uid = try #require(Self.uid(contact[0], side: "b"))
        #expect(uid.hasPrefix("tpsh-"))
        #expect(Self.headers(invite, "From") == ["<sip:alice@example.com>;tag=a1"])
        #expect(Self.headers(invite, "To") == ["<sip:bob@example.com>"])
        #expect(Self.headers(invite, "Call-ID") == ["topos-1@127.0.0.1"])
        #expect(Self.headers(invite, "CSeq") == ["1 INVITE"])
        #expect(Self.headers(invite, "Max-Forwards") == ["70"])
        #expect(!invite.contains("127.0.0.1:35070") && !invite.contains("127.0.0.3") && !invite.contains("P-SR-"))

        for status in ["180 Ringing", "200 OK"] {
            core.receive(Self.calleeReply(status, to: invite), from: Self.downstreamProxy)
            let relayed = core.takeSent()
            try #require(relayed.count == 1)
            let reply = relayed[0].text
            #expect(relayed[0].destination.address.description == Self.upstreamProxy)
            // The caller side sees its own Vias (in one header, as Kamailio puts them back)
            // and Record-Route, our Contact, nothing of the callee side.
            #expect(Self.firstLine(reply) == "SIP/2.0 " + status)
            #expect(
                Self.headers(reply, "Via") == [
                    "SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p1,SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport"
                ])
            #expect(Self.headers(reply, "Record-Route") == ["<sip:127.0.0.3:35090;lr>"])
            #expect(Self.headers(reply, "Contact") == ["<sip:a\(uid)@127.0.0.1:35060>"])
            #expect(Self.headers(reply, "To") == ["<sip:bob@example.com>;tag=b1"])
            #expect(Self.headers(reply, "Call-ID") == ["topos-1@127.0.0.1"])
            #expect(Self.headers(reply, "CSeq") == ["1 INVITE"])
            #expect(!reply.contains("35080") && !reply.contains("127.0.0.4") && !reply.contains("P-SR-"))
        }
        return (core, invite, uid)
    }

    @Test func aCallIsStrippedOnBothSidesAndRoutedBothWays() throws {
        let (core, _, uid) = try establish()
        // The caller's ACK (its upstream proxy removed its own Route) goes to the callee's
        // Contact through the downstream proxy.
        core.receive(
            Self.message([
                "ACK sip:a\(uid)@127.0.0.1:35060 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p2",
                "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c2;rport", "From: <sip:alice@example.com>;tag=a1",
                "To: <sip:bob@example.com>;tag=b1", "Call-ID: topos-1@127.0.0.1", "CSeq: 1 ACK", "Max-Forwards: 70",
                "Content-Length: 0",
            ]), from: Self.upstreamProxy)
        let ack = core.takeSent()
        try #require(ack.count == 1)
        #expect(ack[0].destination.address.description == Self.downstreamProxy)
        let ackText = ack[0].text
        #expect(Self.firstLine(ackText) == "ACK sip:bob@127.0.0.1:35080 SIP/2.0")
        #expect(Self.headers(ackText, "Via").count == 1)
        #expect(Self.headers(ackText, "Via").first?.hasPrefix("SIP/2.0/UDP 127.0.0.1:35060;branch=") == true)
        #expect(Self.headers(ackText, "Route") == ["<sip:127.0.0.4:35095;lr>"])
        #expect(Self.headers(ackText, "Contact") == ["<sip:b\(uid)@127.0.0.1:35060>"])
        #expect(!ackText.contains("127.0.0.1:35070") && !ackText.contains("127.0.0.3") && !ackText.contains("P-SR-"))

        // The callee's BYE (through its proxy) goes to the caller's Contact through the
        // upstream proxy.
        let bye = Self.message([
            "BYE sip:b\(uid)@127.0.0.1:35060 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.4:35095;branch=z9hG4bK-q1",
            "Via: SIP/2.0/UDP 127.0.0.1:35080;branch=z9hG4bK-b1;rport", "From: <sip:bob@example.com>;tag=b1",
            "To: <sip:alice@example.com>;tag=a1", "Call-ID: topos-1@127.0.0.1", "CSeq: 1 BYE", "Max-Forwards: 70",
            "Content-Length: 0",
        ])
        core.receive(bye, from: Self.downstreamProxy)
        let out = core.takeSent()
        try #require(out.count == 1)
        #expect(out[0].destination.address.description == Self.upstreamProxy)
        let byeText = out[0].text
        #expect(Self.firstLine(byeText) == "BYE sip:alice@127.0.0.1:35070 SIP/2.0")
        let vias = Self.headers(byeText, "Via")
        #expect(vias.count == 1)
        #expect(Self.headers(byeText, "Route") == ["<sip:127.0.0.3:35090;lr>"])
        #expect(Self.headers(byeText, "Contact").isEmpty)
        #expect(Self.headers(byeText, "From") == ["<sip:bob@example.com>;tag=b1"])
        #expect(Self.headers(byeText, "CSeq") == ["1 BYE"])
        #expect(!byeText.contains("35080") && !byeText.contains("127.0.0.4") && !byeText.contains("P-SR-"))

        // The caller's 200 for the BYE goes back to the callee side with its Vias restored.
        let ok = Self.message(
            ["SIP/2.0 200 OK"] + vias.map { "Via: " + $0 } + [
                "From: <sip:bob@example.com>;tag=b1", "To: <sip:alice@example.com>;tag=a1",
                "Call-ID: topos-1@127.0.0.1", "CSeq: 1 BYE", "Contact: <sip:alice@127.0.0.1:35070>",
                "Content-Length: 0",
            ])
        core.receive(ok, from: Self.upstreamProxy)
        let relayed = core.takeSent()
        try #require(relayed.count == 1)
        #expect(relayed[0].destination.address.description == Self.downstreamProxy)
        let okText = relayed[0].text
        #expect(
            Self.headers(okText, "Via") == [
                "SIP/2.0/UDP 127.0.0.4:35095;branch=z9hG4bK-q1,SIP/2.0/UDP 127.0.0.1:35080;branch=z9hG4bK-b1;rport"
            ])
        #expect(Self.headers(okText, "Contact").isEmpty)
        #expect(Self.headers(okText, "Record-Route").isEmpty)
        #expect(!okText.contains("35070") && !okText.contains("127.0.0.3") && !okText.contains("P-SR-"))
    }
}

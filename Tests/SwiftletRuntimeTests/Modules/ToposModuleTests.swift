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
        modparam("topos", "storage", "memory")
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
    func establish(config: String = Self.config) throws -> (EmbeddedCore, String, String) {
        let core = try EmbeddedCore(config: config, modulePath: productsDirectory)
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
        try ackAndCalleeBye(core, uid)
    }

    /// The caller's ACK and the callee's BYE with its 200, after `establish`.
    func ackAndCalleeBye(_ core: EmbeddedCore, _ uid: String) throws {
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

    /// A re-INVITE from the callee (new Contact) goes upstream stripped; the caller's 200
    /// comes back stripped; the caller's BYE then reaches the callee's new Contact (the same
    /// fields as Kamailio 5.6.3 sent for these messages).
    @Test func aReInviteFromTheCalleeAndAByeFromTheCaller() throws {
        let (core, _, uid) = try establish()
        core.receive(
            Self.message([
                "INVITE sip:b\(uid)@127.0.0.1:35060 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.4:35095;branch=z9hG4bK-q2",
                "Via: SIP/2.0/UDP 127.0.0.1:35080;branch=z9hG4bK-b2;rport", "From: <sip:bob@example.com>;tag=b1",
                "To: <sip:alice@example.com>;tag=a1", "Call-ID: topos-1@127.0.0.1", "CSeq: 2 INVITE",
                "Max-Forwards: 70", "Contact: <sip:bob@127.0.0.1:35081>", "Content-Length: 0",
            ]), from: Self.downstreamProxy)
        let sent = core.takeSent()
        try #require(sent.count == 2)  // tm's 100, the re-INVITE
        let reinvite = sent[1].text
        #expect(sent[1].destination.address.description == Self.upstreamProxy)
        #expect(Self.firstLine(reinvite) == "INVITE sip:alice@127.0.0.1:35070 SIP/2.0")
        #expect(Self.headers(reinvite, "Via").count == 1)
        #expect(Self.headers(reinvite, "Route") == ["<sip:127.0.0.3:35090;lr>"])
        #expect(Self.headers(reinvite, "Record-Route").isEmpty)
        #expect(Self.headers(reinvite, "Contact") == ["<sip:a\(uid)@127.0.0.1:35060>"])
        #expect(!reinvite.contains("3508") && !reinvite.contains("127.0.0.4") && !reinvite.contains("P-SR-"))

        core.receive(
            Self.message(
                ["SIP/2.0 200 OK"] + Self.headers(reinvite, "Via").map { "Via: " + $0 } + [
                    "From: <sip:bob@example.com>;tag=b1", "To: <sip:alice@example.com>;tag=a1",
                    "Call-ID: topos-1@127.0.0.1", "CSeq: 2 INVITE", "Contact: <sip:alice@127.0.0.1:35071>",
                    "Content-Length: 0",
                ]), from: Self.upstreamProxy)
        let ok = core.takeSent()
        try #require(ok.count == 1)
        #expect(ok[0].destination.address.description == Self.downstreamProxy)
        #expect(
            Self.headers(ok[0].text, "Via") == [
                "SIP/2.0/UDP 127.0.0.4:35095;branch=z9hG4bK-q2,SIP/2.0/UDP 127.0.0.1:35080;branch=z9hG4bK-b2;rport"
            ])
        #expect(Self.headers(ok[0].text, "Contact") == ["<sip:b\(uid)@127.0.0.1:35060>"])
        #expect(!ok[0].text.contains("3507") && !ok[0].text.contains("127.0.0.3") && !ok[0].text.contains("P-SR-"))

        // The caller's BYE goes to the callee's new Contact through its proxy, without a
        // Contact.
        core.receive(
            Self.message([
                "BYE sip:a\(uid)@127.0.0.1:35060 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p3",
                "Via: SIP/2.0/UDP 127.0.0.1:35071;branch=z9hG4bK-c3;rport", "From: <sip:alice@example.com>;tag=a1",
                "To: <sip:bob@example.com>;tag=b1", "Call-ID: topos-1@127.0.0.1", "CSeq: 2 BYE", "Max-Forwards: 70",
                "Content-Length: 0",
            ]), from: Self.upstreamProxy)
        let bye = core.takeSent()
        try #require(bye.count == 1)
        #expect(bye[0].destination.address.description == Self.downstreamProxy)
        #expect(Self.firstLine(bye[0].text) == "BYE sip:bob@127.0.0.1:35081 SIP/2.0")
        #expect(Self.headers(bye[0].text, "Route") == ["<sip:127.0.0.4:35095;lr>"])
        #expect(Self.headers(bye[0].text, "Via").count == 1)
        #expect(Self.headers(bye[0].text, "Contact").isEmpty)
        #expect(!bye[0].text.contains("3507") && !bye[0].text.contains("127.0.0.3") && !bye[0].text.contains("P-SR-"))
    }

    /// A cancelled call: tm's CANCEL and the 487 relayed upstream carry nothing of the
    /// other side (the same fields as Kamailio 5.6.3 sent for these messages).
    @Test func aCancelledCall() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        core.receive(Self.invite, from: Self.upstreamProxy)
        let sent = core.takeSent()
        try #require(sent.count == 2)
        let invite = sent[1].text
        core.receive(Self.calleeReply("180 Ringing", to: invite), from: Self.downstreamProxy)
        #expect(core.takeSent().count == 1)
        core.receive(
            Self.message([
                "CANCEL sip:bob@example.com SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p1",
                "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport", "From: <sip:alice@example.com>;tag=a1",
                "To: <sip:bob@example.com>", "Call-ID: topos-1@127.0.0.1", "CSeq: 1 CANCEL", "Max-Forwards: 70",
                "Content-Length: 0",
            ]), from: Self.upstreamProxy)
        let cancel = core.takeSent()
        let toCallee = try #require(cancel.first { Self.firstLine($0.text).hasPrefix("CANCEL ") })
        #expect(toCallee.destination.address.description == Self.downstreamProxy)
        #expect(Self.headers(toCallee.text, "Via") == Self.headers(invite, "Via"))
        #expect(!toCallee.text.contains("3507") && !toCallee.text.contains("127.0.0.3"))
        let cancelOK = try #require(cancel.first { Self.firstLine($0.text).hasPrefix("SIP/2.0 200") })
        #expect(cancelOK.destination.address.description == Self.upstreamProxy)

        var terminated = Self.calleeReply("487 Request Terminated", to: invite)
        terminated = terminated.replacingOccurrences(of: "Contact: <sip:bob@127.0.0.1:35080>\r\n", with: "")
        core.receive(terminated, from: Self.downstreamProxy)
        let out = core.takeSent()
        let upstream = try #require(out.first { Self.firstLine($0.text) == "SIP/2.0 487 Request Terminated" })
        #expect(upstream.destination.address.description == Self.upstreamProxy)
        #expect(
            Self.headers(upstream.text, "Via") == [
                "SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p1,SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport"
            ])
        #expect(Self.headers(upstream.text, "Record-Route") == ["<sip:127.0.0.3:35090;lr>"])
        #expect(Self.headers(upstream.text, "Contact").isEmpty)
        #expect(!upstream.text.contains("127.0.0.4") && !upstream.text.contains("P-SR-"))
        let ack = try #require(out.first { Self.firstLine($0.text).hasPrefix("ACK ") })
        #expect(ack.destination.address.description == Self.downstreamProxy)
        #expect(!ack.text.contains("3507") && !ack.text.contains("127.0.0.3"))
    }

    /// `header_mode` 1 puts each restored Via in its own header; `drop` in
    /// `event_route[topos:msg-sending]` sends a message unstripped.
    @Test func headerModeAndTheSendingEventRoute() throws {
        let config =
            Self.config.replacingOccurrences(
                of: "loadmodule \"topos.so\"", with: "loadmodule \"topos.so\"\nmodparam(\"topos\", \"header_mode\", 1)")
                + """
                event_route[topos:msg-sending] {
                    if ($sndto(port) == 35096) { drop; }
                }

                """
        let core = try EmbeddedCore(config: config, modulePath: productsDirectory)
        core.receive(Self.invite, from: Self.upstreamProxy)
        let sent = core.takeSent()
        try #require(sent.count == 2)
        core.receive(Self.calleeReply("180 Ringing", to: sent[1].text), from: Self.downstreamProxy)
        let reply = try #require(core.takeSent().first)
        #expect(
            Self.headers(reply.text, "Via") == [
                "SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p1", "SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport",
            ])

        let clear = try EmbeddedCore(
            config: config.replacingOccurrences(of: "127.0.0.4:35095", with: "127.0.0.4:35096"),
            modulePath: productsDirectory)
        clear.receive(Self.invite, from: Self.upstreamProxy)
        let unstripped = clear.takeSent()
        try #require(unstripped.count == 2)
        #expect(Self.headers(unstripped[1].text, "Via").count == 3)
        #expect(Self.headers(unstripped[1].text, "Contact") == ["<sip:alice@127.0.0.1:35070>"])
        #expect(Self.headers(unstripped[1].text, "Record-Route").count == 2)
    }

    /// An UPDATE from the caller after the 180, before the 200: the dialog has no callee
    /// Contact yet, so the INVITE's branch record (updated by the 180) routes it.
    @Test func anUpdateInTheEarlyDialogUsesTheInviteBranch() throws {
        try earlyUpdate(config: Self.config)
    }

    func earlyUpdate(config: String) throws {
        let core = try EmbeddedCore(config: config, modulePath: productsDirectory)
        core.receive(Self.invite, from: Self.upstreamProxy)
        let sent = core.takeSent()
        try #require(sent.count == 2)
        core.receive(Self.calleeReply("180 Ringing", to: sent[1].text), from: Self.downstreamProxy)
        let ringing = try #require(core.takeSent().first)
        let contact = try #require(Self.headers(ringing.text, "Contact").first)
        let uid = try #require(Self.uid(contact, side: "a"))
        core.receive(
            Self.message([
                "UPDATE sip:a\(uid)@127.0.0.1:35060 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p4",
                "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c4;rport", "From: <sip:alice@example.com>;tag=a1",
                "To: <sip:bob@example.com>;tag=b1", "Call-ID: topos-1@127.0.0.1", "CSeq: 2 UPDATE", "Max-Forwards: 70",
                "Contact: <sip:alice@127.0.0.1:35070>", "Content-Length: 0",
            ]), from: Self.upstreamProxy)
        let update = try #require(core.takeSent().first { Self.firstLine($0.text).hasPrefix("UPDATE ") })
        #expect(update.destination.address.description == Self.downstreamProxy)
        #expect(Self.firstLine(update.text) == "UPDATE sip:bob@127.0.0.1:35080 SIP/2.0")
        #expect(Self.headers(update.text, "Route") == ["<sip:127.0.0.4:35095;lr>"])
        #expect(Self.headers(update.text, "Via").count == 1)
        #expect(Self.headers(update.text, "Contact") == ["<sip:b\(uid)@127.0.0.1:35060>"])
        #expect(!update.text.contains("3507") && !update.text.contains("127.0.0.3") && !update.text.contains("P-SR-"))
    }

    // MARK: compared with Kamailio 5.6.3

    /// The text with this proxy's own Via branch replaced by `*` and the dialog's uid by `UID`.
    static func normalized(_ text: String, uid: String) -> String {
        var lines = text.replacingOccurrences(of: uid, with: "UID").components(separatedBy: "\r\n")
        if let i = lines.firstIndex(where: { $0.hasPrefix("Via: SIP/2.0/UDP 127.0.0.1:35060;branch=") }) {
            lines[i] = "Via: SIP/2.0/UDP 127.0.0.1:35060;branch=*"
        }
        return lines.joined(separator: "\r\n")
    }

    /// The same call on Kamailio 5.6.3 (topos with db_text, the same script and messages over
    /// UDP, other ports): every message sent compared byte for byte, but for the branch of
    /// the proxy's own Via and the uid (`tpsh-<time>-<pid>-1` on both).
    @Test func aCallAsKamailio() throws {
        let (core, invite, uid) = try establish()
        #expect(
            Self.normalized(invite, uid: uid)
                == Self.message([
                    "INVITE sip:bob@example.com SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:35060;branch=*",
                    "From: <sip:alice@example.com>;tag=a1", "To: <sip:bob@example.com>", "Call-ID: topos-1@127.0.0.1",
                    "CSeq: 1 INVITE", "Max-Forwards: 70", "Content-Length: 0", "Contact: <sip:bUID@127.0.0.1:35060>",
                ]))
        // The 180 and 200 as the caller side gets them (`establish` checked them field by
        // field; here byte for byte, on a second call).
        let core2 = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        core2.receive(Self.invite, from: Self.upstreamProxy)
        let invite2 = core2.takeSent()[1].text
        let uid2 = try #require(Self.uid(Self.headers(invite2, "Contact")[0], side: "b"))
        for status in ["180 Ringing", "200 OK"] {
            core2.receive(Self.calleeReply(status, to: invite2), from: Self.downstreamProxy)
            #expect(
                Self.normalized(core2.takeSent()[0].text, uid: uid2)
                    == Self.message([
                        "SIP/2.0 " + status, "From: <sip:alice@example.com>;tag=a1", "Call-ID: topos-1@127.0.0.1",
                        "CSeq: 1 INVITE", "To: <sip:bob@example.com>;tag=b1", "Content-Length: 0",
                        "Via: SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p1,SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport",
                        "Contact: <sip:aUID@127.0.0.1:35060>", "Record-Route: <sip:127.0.0.3:35090;lr>",
                    ]))
        }
        core.receive(
            Self.message([
                "ACK sip:a\(uid)@127.0.0.1:35060 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p2",
                "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c2;rport", "From: <sip:alice@example.com>;tag=a1",
                "To: <sip:bob@example.com>;tag=b1", "Call-ID: topos-1@127.0.0.1", "CSeq: 1 ACK", "Max-Forwards: 70",
                "Content-Length: 0",
            ]), from: Self.upstreamProxy)
        #expect(
            Self.normalized(core.takeSent()[0].text, uid: uid)
                == Self.message([
                    "ACK sip:bob@127.0.0.1:35080 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:35060;branch=*",
                    "From: <sip:alice@example.com>;tag=a1", "To: <sip:bob@example.com>;tag=b1",
                    "Call-ID: topos-1@127.0.0.1", "CSeq: 1 ACK", "Max-Forwards: 70", "Content-Length: 0",
                    "Route: <sip:127.0.0.4:35095;lr>", "Contact: <sip:bUID@127.0.0.1:35060>",
                ]))
        core.receive(
            Self.message([
                "BYE sip:b\(uid)@127.0.0.1:35060 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.4:35095;branch=z9hG4bK-q1",
                "Via: SIP/2.0/UDP 127.0.0.1:35080;branch=z9hG4bK-b1;rport", "From: <sip:bob@example.com>;tag=b1",
                "To: <sip:alice@example.com>;tag=a1", "Call-ID: topos-1@127.0.0.1", "CSeq: 1 BYE", "Max-Forwards: 70",
                "Content-Length: 0",
            ]), from: Self.downstreamProxy)
        let bye = core.takeSent()[0].text
        #expect(
            Self.normalized(bye, uid: uid)
                == Self.message([
                    "BYE sip:alice@127.0.0.1:35070 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:35060;branch=*",
                    "From: <sip:bob@example.com>;tag=b1", "To: <sip:alice@example.com>;tag=a1",
                    "Call-ID: topos-1@127.0.0.1", "CSeq: 1 BYE", "Max-Forwards: 70", "Content-Length: 0",
                    "Route: <sip:127.0.0.3:35090;lr>",
                ]))
        core.receive(
            Self.message(
                ["SIP/2.0 200 OK"] + Self.headers(bye, "Via").map { "Via: " + $0 } + [
                    "From: <sip:bob@example.com>;tag=b1", "To: <sip:alice@example.com>;tag=a1",
                    "Call-ID: topos-1@127.0.0.1", "CSeq: 1 BYE", "Contact: <sip:alice@127.0.0.1:35070>",
                    "Content-Length: 0",
                ]), from: Self.upstreamProxy)
        #expect(
            core.takeSent()[0].text
                == Self.message([
                    "SIP/2.0 200 OK", "From: <sip:bob@example.com>;tag=b1", "To: <sip:alice@example.com>;tag=a1",
                    "Call-ID: topos-1@127.0.0.1", "CSeq: 1 BYE", "Content-Length: 0",
                    "Via: SIP/2.0/UDP 127.0.0.4:35095;branch=z9hG4bK-q1,SIP/2.0/UDP 127.0.0.1:35080;branch=z9hG4bK-b1;rport",
                ]))
    }
}

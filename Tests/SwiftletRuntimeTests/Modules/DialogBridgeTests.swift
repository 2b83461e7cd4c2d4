import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// `dlg_bridge(from, to, op)`, `dlg.bridge_dlg` and `$dlg_ctx(timeout_route_id)` on the
/// embedded core: the INVITE on hold to `from`, then after its 2xx the ACK, the REFER with
/// `Refer-To: to` and, after the REFER's final reply, the BYE. In `DialogModuleTests`,
/// serialized with its tests (they read the process-wide statistics).
extension DialogModuleTests {
    static let bridgeRequest = #"""
        if (is_method("MESSAGE")) {
            dlg_bridge("$hdr(X-From)", "$hdr(X-To)", "$hdr(X-Proxy)");
            $sht(ev=>bridge) = $rc;
            sl_send_reply("200", "OK");
            exit;
        }
        dlg_manage();
        """#

    static func message(_ from: String, _ to: String, proxy: String = "") -> String {
        [
            "MESSAGE sip:ctl@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-msg;rport",
            "From: <sip:admin@127.0.0.1>;tag=m1", "To: <sip:ctl@127.0.0.1>", "Call-ID: msg-1", "CSeq: 1 MESSAGE",
            "Max-Forwards: 70", "X-From: \(from)", "X-To: \(to)", "X-Proxy: \(proxy)", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// The answer of the party called to `request`: its Via, From, To with `toTag`, Call-ID,
    /// CSeq, a Contact and the Record-Route entries given.
    static func answer(
        to request: MemoryTransport.Sent, _ code: Int, _ reason: String, toTag: String = "c9",
        recordRoutes: [String] = []
    ) -> String {
        var lines = ["SIP/2.0 \(code) \(reason)"]
        for line in request.text.components(separatedBy: "\r\n") {
            let name = line.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            if name == "To" {
                lines.append(line.contains(";tag=") ? line : line + ";tag=\(toTag)")
            } else if ["Via", "From", "Call-ID", "CSeq"].contains(name) {
                lines.append(line)
            }
        }
        for rr in recordRoutes { lines.append("Record-Route: \(rr)") }
        lines += ["Contact: <sip:carol@127.0.0.3:5091;transport=udp>", "Content-Length: 0"]
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    static func body(_ sent: MemoryTransport.Sent) -> String {
        guard let r = sent.text.range(of: "\r\n\r\n") else { return "" }
        return String(sent.text[r.upperBound...])
    }

    @Test func bridgeInvitesOnHoldThenAcksRefersAndByes() throws {
        let core = try Self.core(
            #"modparam("dialog", "bridge_controller", "sip:ctl@example.net")"#
                + "\n" + #"modparam("dialog", "bridge_contact", "sip:ctl@127.0.0.1:5060")"#,
            request: Self.bridgeRequest)
        core.receive(Self.message("sip:carol@127.0.0.3:5090", "sip:dave@example.org"), from: Self.caller)
        #expect(Self.sht(core, "bridge") == .int(1))
        let sent = core.takeSent()
        let invite = try #require(sent.first { $0.firstLine.hasPrefix("INVITE") })
        #expect(invite.firstLine == "INVITE sip:carol@127.0.0.3:5090 SIP/2.0")
        #expect(invite.destination.address.description == "127.0.0.3:5090")
        #expect(Self.header("From", invite.text)?.hasPrefix("<sip:ctl@example.net>;tag=") == true)
        #expect(Self.header("To", invite.text) == "<sip:carol@127.0.0.3:5090>")
        #expect(Self.header("Contact", invite.text) == "<sip:ctl@127.0.0.1:5060>")
        #expect(Self.header("Content-Type", invite.text) == "application/sdp")
        #expect(Self.header("CSeq", invite.text) == "10 INVITE")
        #expect(
            Self.body(invite)
                == "v=0\r\no=kamailio-bridge 0 0 IN IP4 0.0.0.0\r\ns=kamailio\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                + "m=audio 9 RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n")
        let fromTag = try #require(Self.header("From", invite.text)?.components(separatedBy: ";tag=").last)
        let callID = try #require(Self.header("Call-ID", invite.text))

        // carol answers: the ACK, then the REFER in the new call, to its Contact through the
        // Record-Route entries reversed.
        core.receive(
            Self.answer(to: invite, 200, "OK", recordRoutes: ["<sip:127.0.0.7:5097;lr>", "<sip:127.0.0.6:5096;lr>"]),
            from: "127.0.0.3:5090")
        let after = core.takeSent()
        let ack = try #require(after.first { $0.firstLine.hasPrefix("ACK") })
        let refer = try #require(after.first { $0.firstLine.hasPrefix("REFER") })
        #expect(
            after.firstIndex { $0.firstLine.hasPrefix("ACK") }! < after.firstIndex { $0.firstLine.hasPrefix("REFER") }!)
        #expect(Self.header("CSeq", ack.text) == "10 ACK")
        #expect(refer.firstLine == "REFER sip:carol@127.0.0.3:5091;transport=udp SIP/2.0")
        let routes = refer.text.components(separatedBy: "\r\n").filter { $0.hasPrefix("Route: ") }
        #expect(routes == ["Route: <sip:127.0.0.6:5096;lr>", "Route: <sip:127.0.0.7:5097;lr>"])
        #expect(refer.destination.address.description == "127.0.0.6:5096")
        #expect(Self.header("Refer-To", refer.text) == "sip:dave@example.org")
        #expect(Self.header("Referred-By", refer.text) == "sip:ctl@example.net")
        #expect(Self.header("Contact", refer.text) == "<sip:ctl@127.0.0.1:5060>")
        #expect(Self.header("Call-ID", refer.text) == callID)
        #expect(Self.header("From", refer.text) == "<sip:ctl@example.net>;tag=\(fromTag)")
        #expect(Self.header("To", refer.text) == "<sip:carol@127.0.0.3:5090>;tag=c9")
        #expect(Self.header("CSeq", refer.text) == "11 REFER")
        #expect(!after.contains { $0.firstLine.hasPrefix("BYE") })

        // The REFER's final reply (whatever it is): the BYE, CSeq after the REFER's.
        core.receive(Self.answer(to: refer, 202, "Accepted"), from: "127.0.0.6:5096")
        let bye = try #require(core.takeSent().first { $0.firstLine.hasPrefix("BYE") })
        #expect(bye.firstLine == "BYE sip:carol@127.0.0.3:5091;transport=udp SIP/2.0")
        #expect(bye.destination.address.description == "127.0.0.6:5096")
        #expect(Self.header("CSeq", bye.text) == "12 BYE")
        #expect(Self.header("From", bye.text) == "<sip:ctl@example.net>;tag=\(fromTag)")
        #expect(Self.header("To", bye.text) == "<sip:carol@127.0.0.3:5090>;tag=c9")
        #expect(Self.header("Refer-To", bye.text) == nil)
        core.receive(Self.answer(to: bye, 200, "OK"), from: "127.0.0.6:5096")
        _ = core.takeSent()
        // The bridged call is not a tracked dialog.
        #expect(try Self.dialogs(core).isEmpty)
    }

    @Test func bridgeThroughTheOutboundProxyAndARefusedInviteSendsNothingMore() throws {
        let core = try Self.core(request: Self.bridgeRequest)
        core.receive(
            Self.message("sip:carol@example.org", "sip:dave@example.org", proxy: "sip:127.0.0.5:5095"),
            from: Self.caller)
        #expect(Self.sht(core, "bridge") == .int(1))
        let invite = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") })
        #expect(invite.firstLine == "INVITE sip:carol@example.org SIP/2.0")
        #expect(invite.destination.address.description == "127.0.0.5:5095")
        #expect(Self.header("From", invite.text)?.hasPrefix("<sip:controller@kamailio.org>;tag=") == true)
        #expect(Self.header("Contact", invite.text) == "<sip:controller@kamailio.org:5060>")
        // A refusal: tm ACKs it; no REFER, no BYE.
        core.receive(Self.answer(to: invite, 486, "Busy Here"), from: "127.0.0.5:5095")
        let after = core.takeSent()
        #expect(after.map(\.firstLine) == ["ACK sip:carol@example.org SIP/2.0"])
    }

    @Test func bridgeToAnUnresolvableOrEmptyPartyFails() throws {
        let core = try Self.core(request: Self.bridgeRequest)
        core.receive(Self.message("sip:carol@unresolvable.invalid", "sip:dave@example.org"), from: Self.caller)
        #expect(Self.sht(core, "bridge") == .int(-1))
        #expect(!core.takeSent().contains { $0.firstLine.hasPrefix("INVITE") })
        core.receive(Self.message("", "sip:dave@example.org"), from: Self.caller)
        #expect(Self.sht(core, "bridge") == .int(-1))
        core.receive(Self.message("sip:carol@127.0.0.3:5090", ""), from: Self.caller)
        #expect(Self.sht(core, "bridge") == .int(-1))
        #expect(!core.takeSent().contains { $0.firstLine.hasPrefix("INVITE") })
    }

    @Test func bridgeRPCWithProxyAndBodyOptions() throws {
        let core = try Self.core(request: Self.bridgeRequest)
        #expect(
            try Self.rpc(core, "dlg.bridge_dlg", .string("sip:carol@127.0.0.3:5090"), .string("sip:dave@example.org"))
                == .object([]))
        let plain = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") })
        #expect(plain.destination.address.description == "127.0.0.3:5090")
        #expect(Self.body(plain).hasPrefix("v=0\r\no=kamailio-bridge 0 0 IN IP4 0.0.0.0\r\n"))
        // "." for no proxy, then a body of our own.
        _ = try Self.rpc(
            core, "dlg.bridge_dlg", .string("sip:carol@127.0.0.3:5090"), .string("sip:dave@example.org"),
            .string("."), .string("v=0\r\n"))
        let own = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") })
        #expect(own.destination.address.description == "127.0.0.3:5090")
        #expect(Self.body(own) == "v=0\r\n")
        // A proxy, and "_" for an empty body.
        _ = try Self.rpc(
            core, "dlg.bridge_dlg", .string("sip:carol@example.org"), .string("sip:dave@example.org"),
            .string("sip:127.0.0.5:5095"), .string("_"))
        let empty = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") })
        #expect(empty.destination.address.description == "127.0.0.5:5095")
        #expect(Self.body(empty) == "")
        #expect(Self.header("Content-Length", empty.text) == "0")
        // Too few parameters.
        #expect(throws: (any Error).self) { try Self.rpc(core, "dlg.bridge_dlg", .string("sip:carol@example.org")) }
    }

    @Test func timeoutRouteIdIsTheIndexInDefinitionOrder() throws {
        // Kamailio 5.6.3 numbers route[NAME] blocks from 1 as they are defined (here AAA 1,
        // BBB 2, INFO 3, whatever the order of calls); unknown or unset: 0.
        let core = try Self.core(
            "route[AAA] { $var(a) = 1; }\nroute[BBB] { $var(b) = 1; }",
            request: #"""
                $sht(ev=>none) = $dlg_ctx(timeout_route_id);
                $dlg_ctx(timeout_route) = "BBB";
                $sht(ev=>bbb) = $dlg_ctx(timeout_route_id);
                $dlg_ctx(timeout_route) = "INFO";
                $sht(ev=>info) = $dlg_ctx(timeout_route_id);
                $dlg_ctx(timeout_route) = "AAA";
                $sht(ev=>aaa) = $dlg_ctx(timeout_route_id);
                $dlg_ctx(timeout_route) = "ZZZ";
                $sht(ev=>zzz) = $dlg_ctx(timeout_route_id);
                $dlg_ctx(timeout_route_id) = 7;
                $sht(ev=>on) = $dlg_ctx(on);
                dlg_manage();
                """#)
        core.receive(Self.invite(callID: "trid-1"), from: Self.caller)
        _ = core.takeSent()
        #expect(Self.sht(core, "none") == .int(0))
        #expect(Self.sht(core, "bbb") == .int(2))
        #expect(Self.sht(core, "info") == .int(3))
        #expect(Self.sht(core, "aaa") == .int(1))
        #expect(Self.sht(core, "zzz") == .int(0))
        // As Kamailio 5.6.3: assigning timeout_route_id sets `on`.
        #expect(Self.sht(core, "on") == .int(7))
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// topos' `contact_mode` 2 with the `xavu_*` parameters.
extension ToposModuleTests {
    static let xavuConfig = config.replacingOccurrences(
        of: "loadmodule \"topos.so\"",
        with: """
            loadmodule "topos.so"
            modparam("topos", "contact_mode", 2)
            modparam("topos", "xavu_cfg", "_tps_")
            modparam("topos", "xavu_field_a_contact", "a_contact")
            modparam("topos", "xavu_field_b_contact", "b_contact")
            modparam("topos", "xavu_field_contact_host", "contact_host")
            """
    ).replacingOccurrences(
        of: "request_route {",
        with: """
            request_route {
                $xavu(_tps_=>a_contact) = "gw-in";
                $xavu(_tps_=>b_contact) = "gw-out";
                if ($si == "127.0.0.3") { $xavu(_tps_=>contact_host) = "edge.example.com"; }
            """)

    /// `contact_mode` 2: the users of the generated Contacts come from the xavu fields set
    /// in the script while the INVITE is routed (`a_contact` for the one sent to the
    /// callee, `b_contact` for the one the caller gets), the uid goes into the `tps` param,
    /// the host from the `contact_host` field when set; in-dialog requests are found by the
    /// param.
    @Test func contactModeTwoTakesTheUsersFromTheXavuFields() throws {
        let core = try EmbeddedCore(config: Self.xavuConfig, modulePath: productsDirectory)
        core.receive(Self.invite, from: Self.upstreamProxy)
        let invite = core.takeSent()[1].text
        let contact = try #require(Self.headers(invite, "Contact").first)
        let prefix = "<sip:gw-in@edge.example.com:35060;tps=btpsh-"
        #expect(contact.hasPrefix(prefix) && contact.hasSuffix(">"), "\(contact)")
        let uid = "tpsh-" + contact.dropFirst(prefix.count).dropLast()
        core.receive(Self.calleeReply("200 OK", to: invite), from: Self.downstreamProxy)
        let ok = core.takeSent()[0].text
        #expect(Self.headers(ok, "Contact") == ["<sip:gw-out@edge.example.com:35060;tps=a\(uid)>"])
        #expect(!ok.contains("35080") && !ok.contains("127.0.0.4"))
        core.receive(
            Self.message([
                "ACK sip:gw-out@edge.example.com:35060;tps=a\(uid) SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p2", "From: <sip:alice@example.com>;tag=a1",
                "To: <sip:bob@example.com>;tag=b1", "Call-ID: topos-1@127.0.0.1", "CSeq: 1 ACK", "Max-Forwards: 70",
                "Content-Length: 0",
            ]), from: Self.upstreamProxy)
        let ack = try #require(core.takeSent().first)
        #expect(Self.firstLine(ack.text) == "ACK sip:bob@127.0.0.1:35080 SIP/2.0")
        #expect(Self.headers(ack.text, "Route") == ["<sip:127.0.0.4:35095;lr>"])
        #expect(Self.headers(ack.text, "Contact") == ["<sip:gw-in@edge.example.com:35060;tps=b\(uid)>"])
        // From the callee's side no contact_host field is set: our Record-Route's host.
        core.receive(
            Self.message([
                "BYE sip:gw-in@127.0.0.1:35060;tps=b\(uid) SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.4:35095;branch=z9hG4bK-q1", "From: <sip:bob@example.com>;tag=b1",
                "To: <sip:alice@example.com>;tag=a1", "Call-ID: topos-1@127.0.0.1", "CSeq: 1 BYE", "Max-Forwards: 70",
                "Content-Length: 0",
            ]), from: Self.downstreamProxy)
        let bye = try #require(core.takeSent().first)
        #expect(Self.firstLine(bye.text) == "BYE sip:alice@127.0.0.1:35070 SIP/2.0")
        #expect(Self.headers(bye.text, "Route") == ["<sip:127.0.0.3:35090;lr>"])
        #expect(Self.headers(bye.text, "Via").count == 1)
    }

    /// Without the a_contact field set, the INVITE cannot be recorded (`could not evaluate
    /// a_contact xavu`): as in Kamailio it goes out as it came.
    @Test func contactModeTwoWithoutTheFieldRecordsNothing() throws {
        let config = Self.xavuConfig.replacingOccurrences(of: "$xavu(_tps_=>a_contact) = \"gw-in\";", with: "")
        let core = try EmbeddedCore(config: config, modulePath: productsDirectory)
        core.receive(Self.invite, from: Self.upstreamProxy)
        let invite = core.takeSent()[1].text
        #expect(Self.headers(invite, "Contact") == ["<sip:alice@127.0.0.1:35070>"])
        #expect(Self.headers(invite, "Via").count == 3)
    }

    /// `contact_mode` 2 needs `xavu_cfg` and both contact fields (Kamailio's mod_init check).
    @Test(arguments: ["xavu_cfg", "xavu_field_a_contact", "xavu_field_b_contact"])
    func contactModeTwoWithoutItsParametersStopsStartUp(missing: String) {
        let config = Self.xavuConfig.components(separatedBy: "\n").filter { !$0.contains("\"\(missing)\"") }
            .joined(separator: "\n")
        #expect(throws: (any Error).self) { _ = try EmbeddedCore(config: config, modulePath: productsDirectory) }
    }
}

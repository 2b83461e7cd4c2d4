import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// topos' parameters and event routes on the call of `ToposModuleTests`.
extension ToposModuleTests {
    /// The `clean_interval` timer removes records older than `dialog_expire` and
    /// `branch_expire`: with both 0 the dialog is gone at the next run and the callee's BYE
    /// to the `btpsh-` Contact is no longer routed; with the defaults it still is.
    @Test(arguments: [true, false])
    func theCleanTimerRemovesExpiredRecords(expired: Bool) throws {
        let params =
            expired
            ? "modparam(\"topos\", \"dialog_expire\", 0)\nmodparam(\"topos\", \"branch_expire\", 0)\n" : ""
        let config = Self.config.replacingOccurrences(
            of: "loadmodule \"topos.so\"",
            with: "loadmodule \"topos.so\"\n\(params)modparam(\"topos\", \"clean_interval\", 5)")
        let (core, _, uid) = try establish(config: config)
        core.advance(milliseconds: 6000)
        core.receive(
            Self.message([
                "BYE sip:b\(uid)@127.0.0.1:35060 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.4:35095;branch=z9hG4bK-q1",
                "From: <sip:bob@example.com>;tag=b1", "To: <sip:alice@example.com>;tag=a1",
                "Call-ID: topos-1@127.0.0.1", "CSeq: 1 BYE", "Max-Forwards: 70", "Content-Length: 0",
            ]), from: Self.downstreamProxy)
        let out = core.takeSent()
        try #require(out.count == 1)
        if expired {
            #expect(Self.firstLine(out[0].text) == "SIP/2.0 404 Not here")
        } else {
            #expect(Self.firstLine(out[0].text) == "BYE sip:alice@127.0.0.1:35070 SIP/2.0")
        }
    }

    /// `contact_mode` 1: the uid goes into the `tps` URI param, the user of the caller's
    /// Contact (towards the callee) and of the Request-URI (towards the caller) is kept; the
    /// in-dialog requests are found by the param (as Kamailio 5.6.3 does for these messages).
    @Test func contactModeOneKeepsTheUserAndPutsTheUidInAParam() throws {
        let config = Self.config.replacingOccurrences(
            of: "loadmodule \"topos.so\"", with: "loadmodule \"topos.so\"\nmodparam(\"topos\", \"contact_mode\", 1)")
        let core = try EmbeddedCore(config: config, modulePath: productsDirectory)
        core.receive(Self.invite, from: Self.upstreamProxy)
        let invite = core.takeSent()[1].text
        let contact = try #require(Self.headers(invite, "Contact").first)
        let prefix = "<sip:alice@127.0.0.1:35060;tps=btpsh-"
        #expect(contact.hasPrefix(prefix) && contact.hasSuffix(">"))
        let uid = "tpsh-" + contact.dropFirst(prefix.count).dropLast()
        core.receive(Self.calleeReply("200 OK", to: invite), from: Self.downstreamProxy)
        let ok = core.takeSent()[0].text
        #expect(Self.headers(ok, "Contact") == ["<sip:bob@127.0.0.1:35060;tps=a\(uid)>"])
        core.receive(
            Self.message([
                "ACK sip:bob@127.0.0.1:35060;tps=a\(uid) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p2",
                "From: <sip:alice@example.com>;tag=a1", "To: <sip:bob@example.com>;tag=b1",
                "Call-ID: topos-1@127.0.0.1", "CSeq: 1 ACK", "Max-Forwards: 70", "Content-Length: 0",
            ]), from: Self.upstreamProxy)
        let ack = try #require(core.takeSent().first)
        #expect(Self.firstLine(ack.text) == "ACK sip:bob@127.0.0.1:35080 SIP/2.0")
        #expect(Self.headers(ack.text, "Contact") == ["<sip:alice@127.0.0.1:35060;tps=b\(uid)>"])
        core.receive(
            Self.message([
                "BYE sip:alice@127.0.0.1:35060;tps=b\(uid) SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.4:35095;branch=z9hG4bK-q1",
                "From: <sip:bob@example.com>;tag=b1", "To: <sip:alice@example.com>;tag=a1",
                "Call-ID: topos-1@127.0.0.1", "CSeq: 1 BYE", "Max-Forwards: 70", "Content-Length: 0",
            ]), from: Self.downstreamProxy)
        let bye = try #require(core.takeSent().first)
        #expect(Self.firstLine(bye.text) == "BYE sip:alice@127.0.0.1:35070 SIP/2.0")
        #expect(Self.headers(bye.text, "Route") == ["<sip:127.0.0.3:35090;lr>"])
    }

    /// `drop` in `event_route[topos:msg-receiving]` leaves a received message as it came:
    /// the callee's BYE to the `btpsh-` Contact then gets no Request-URI or Route back and
    /// is answered 404 by the script.
    @Test(arguments: [true, false])
    func theReceivingEventRouteCanSkipAMessage(dropping: Bool) throws {
        let config =
            Self.config + """
                event_route[topos:msg-receiving] {
                    if (\(dropping ? "is_method(\"BYE\")" : "false")) { drop; }
                }

                """
        let (core, _, uid) = try establish(config: config)
        core.receive(
            Self.message([
                "BYE sip:b\(uid)@127.0.0.1:35060 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.4:35095;branch=z9hG4bK-q1",
                "From: <sip:bob@example.com>;tag=b1", "To: <sip:alice@example.com>;tag=a1",
                "Call-ID: topos-1@127.0.0.1", "CSeq: 1 BYE", "Max-Forwards: 70", "Content-Length: 0",
            ]), from: Self.downstreamProxy)
        let out = try #require(core.takeSent().first)
        #expect(
            Self.firstLine(out.text) == (dropping ? "SIP/2.0 404 Not here" : "BYE sip:alice@127.0.0.1:35070 SIP/2.0"))
    }

    /// `tps_set_context()` in the request route: the new uid ends with the context, which is
    /// stored with the records. The value is emptied when a message comes; set again in
    /// `event_route[topos:msg-receiving]`, the built-in (database) storage finds the dialog
    /// of an in-dialog request only under the same context (none set: any).
    @Test(arguments: ["blue", "red", ""])
    func tpsSetContextNamesTheRecords(onReceipt: String) throws {
        let config =
            Self.config.replacingOccurrences(of: "record_route();", with: "tps_set_context(\"blue\"); record_route();")
                + """
                event_route[topos:msg-receiving] {
                    if (is_method("BYE")) { tps_set_context("\(onReceipt)"); }
                }

                """
        let (core, _, uid) = try establish(config: config)
        #expect(uid.hasSuffix("-blue"))
        core.receive(
            Self.message([
                "BYE sip:b\(uid)@127.0.0.1:35060 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.4:35095;branch=z9hG4bK-q1",
                "From: <sip:bob@example.com>;tag=b1", "To: <sip:alice@example.com>;tag=a1",
                "Call-ID: topos-1@127.0.0.1", "CSeq: 1 BYE", "Max-Forwards: 70", "Content-Length: 0",
            ]), from: Self.downstreamProxy)
        let out = try #require(core.takeSent().first)
        #expect(
            Self.firstLine(out.text)
                == (onReceipt == "red" ? "SIP/2.0 404 Not here" : "BYE sip:alice@127.0.0.1:35070 SIP/2.0"))
    }
}

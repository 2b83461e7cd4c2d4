import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// `event_route[tm:local-request]` for requests tm originates (`t_uac_send()`,
/// `tm.t_uac_start`, the `TransactionUACAPI`) on the embedded core: it sees the request
/// (`$ru`, `$rm`, `$du`, headers), its changes go out, `drop` keeps it from being sent.
@Suite struct TMLocalRequestRouteTests {
    static let config = """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "textops.so"
        loadmodule "pv.so"
        request_route {
            if (t_uac_send("OPTIONS", "sip:alice@127.0.0.2:5080", "", "",
                    "From: <sip:s@127.0.0.1>;tag=f1\\r\\nTo: <sip:alice@127.0.0.2>\\r\\nX-In: $rU\\r\\n", "")) {
                sl_send_reply("200", "sent");
            } else {
                sl_send_reply("500", "not sent");
            }
            exit;
        }
        event_route[tm:local-request] {
            if ($hdr(X-In) == "drop") { drop; }
            append_hf("X-Local: $rm $ru $du $hdr(X-In)\\r\\n");
            if ($hdr(X-In) == "rewrite") { $ru = "sip:carol@127.0.0.2:5080"; }
        }

        """

    @Test func theRouteSeesTheRequestAndChangesIt() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        core.receive(TMModuleTests.invite("plain", callID: "lr-1"), from: TMModuleTests.caller)
        let sent = core.takeSent()
        #expect(sent.map(\.firstLine) == ["OPTIONS sip:alice@127.0.0.2:5080 SIP/2.0", "SIP/2.0 200 sent"])
        #expect(sent[0].text.contains("X-Local: OPTIONS sip:alice@127.0.0.2:5080 sip:alice@127.0.0.2:5080 plain\r\n"))
        // A new Request-URI changes the request line; the request still goes to the next hop.
        core.receive(TMModuleTests.invite("rewrite", callID: "lr-2", branch: "z9hG4bK-lr2"), from: TMModuleTests.caller)
        let rewritten = core.takeSent()
        #expect(rewritten.first?.firstLine == "OPTIONS sip:carol@127.0.0.2:5080 SIP/2.0")
        #expect(rewritten.first?.destination.address.description == "127.0.0.2:5080")
    }

    @Test func theRouteRunsForTheAckOfA2xxToALocalInvite() throws {
        let core = try EmbeddedCore(
            config: Self.config.replacingOccurrences(of: "t_uac_send(\"OPTIONS\"", with: "t_uac_send(\"INVITE\""),
            modulePath: productsDirectory)
        core.receive(TMModuleTests.invite("plain", callID: "lr-4"), from: TMModuleTests.caller)
        let invite = try #require(core.takeSent().first)
        #expect(invite.firstLine == "INVITE sip:alice@127.0.0.2:5080 SIP/2.0")
        #expect(invite.text.contains("X-Local: INVITE sip:alice@127.0.0.2:5080"))
        core.receive(TMModuleTests.reply(to: invite, 200, "OK", toTag: "a1"), from: "127.0.0.2:5080")
        let ack = try #require(core.takeSent().first)
        #expect(ack.firstLine == "ACK sip:alice@127.0.0.2:5080 SIP/2.0")
        #expect(ack.text.contains("X-Local: ACK sip:alice@127.0.0.2:5080 sip:alice@127.0.0.2:5080 "))
    }

    @Test func dropKeepsTheRequestFromBeingSent() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        core.receive(TMModuleTests.invite("drop", callID: "lr-3"), from: TMModuleTests.caller)
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 500 not sent"])
        // The RPC reports the drop as Kamailio's E_DROP fault.
        let r = core.context.rpcs.call(
            RPCRequest(
                method: "tm.t_uac_start",
                params: [
                    .string("OPTIONS"), .string("sip:alice@127.0.0.2:5080"), .string("."), .string("."),
                    .string("From: <sip:s@127.0.0.1>\r\nTo: <sip:alice@127.0.0.2>\r\nX-In: drop\r\n"),
                ]))
        #expect(r == .failure(RPCError(500, "I'm terribly sorry, server error occurred (19/RPC/UAC)")))
        #expect(core.takeSent().isEmpty)
    }
}

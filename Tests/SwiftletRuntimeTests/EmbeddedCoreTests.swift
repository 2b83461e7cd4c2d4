import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// A SIP message with CRLF line ends; `extra` lines go before Content-Length.
private func sip(
    _ first: String, via: [String] = ["SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-e1;rport"],
    callID: String = "embedded-1", cseq: String = "1 INVITE", extra: [String] = []
) -> String {
    (([first] + via.map { "Via: \($0)" } + [
        "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>", "Call-ID: \(callID)", "CSeq: \(cseq)",
        "Max-Forwards: 70",
    ] + extra + ["Content-Length: 0"]).joined(separator: "\r\n")) + "\r\n\r\n"
}

private let prelude = """
    log_stderror=yes
    debug=-1
    listen=udp:127.0.0.1:5060
    loadmodule "sl.so"
    loadmodule "textops.so"

    """

/// The core's stateless paths on the embedded harness: bytes in, the script, the one send
/// path, bytes out, with no sockets and no sleeps.
@Suite struct EmbeddedCoreTests {
    func core(_ routes: String, modules: String = "") throws -> EmbeddedCore {
        try EmbeddedCore(config: prelude + modules + routes, modulePath: productsDirectory)
    }

    @Test func optionsIsAnsweredToTheSourceThroughTheSendPath() throws {
        let core = try core("request_route { if (method == \"OPTIONS\") { sl_send_reply(\"200\", \"OK\"); } }\n")
        core.receive(sip("OPTIONS sip:ping@127.0.0.1 SIP/2.0", cseq: "1 OPTIONS"), from: "127.0.0.1:5099")
        let sent = core.takeSent()
        #expect(sent.map(\.firstLine) == ["SIP/2.0 200 OK"])
        // rport: to the source port; from the receiving socket.
        #expect(sent.first?.destination.description == "udp:127.0.0.1:5099")
        #expect(sent.first?.socket.description == "udp:127.0.0.1:5060")
        #expect(sent.first?.text.contains("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-e1;rport=5099") == true)
    }

    @Test func aReplyWithoutRportGoesToTheViaPort() throws {
        let core = try core("request_route { sl_send_reply(\"404\", \"Not Here\"); }\n")
        core.receive(
            sip("MESSAGE sip:x@127.0.0.1 SIP/2.0", via: ["SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bK-e2"]),
            from: "127.0.0.1:5099")
        #expect(core.takeSent().map(\.destination.description) == ["udp:127.0.0.1:5071"])
    }

    @Test func forwardedRequestAndItsReplyBothLeaveThroughTheSendPath() throws {
        let core = try core("request_route { $du = \"sip:127.0.0.2:5080\"; forward(); }\n")
        core.receive(sip("INVITE sip:bob@127.0.0.1 SIP/2.0"), from: "127.0.0.1:5070")
        let out = try #require(core.takeSent().first)
        #expect(out.firstLine == "INVITE sip:bob@127.0.0.1 SIP/2.0")
        #expect(out.destination.description == "udp:127.0.0.2:5080")
        let lines = out.text.components(separatedBy: "\r\n")
        let vias = lines.filter { $0.hasPrefix("Via: ") }
        #expect(vias.count == 2)
        #expect(vias.first?.hasPrefix("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK") == true)
        // Kamailio adds received= when the Via asks for rport, and fills the empty rport.
        #expect(vias.last == "Via: SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;branch=z9hG4bK-e1;rport=5070")
        // The callee's 180 comes back with both Vias and goes on to the caller's.
        let branch = vias[0].dropFirst("Via: ".count)
        core.receive(
            sip(
                "SIP/2.0 180 Ringing", via: [String(branch), "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-e1;rport=5070"]),
            from: "127.0.0.2:5080")
        let reply = try #require(core.takeSent().first)
        #expect(reply.firstLine == "SIP/2.0 180 Ringing")
        #expect(reply.destination.description == "udp:127.0.0.1:5070")
        #expect(reply.text.components(separatedBy: "\r\n").filter { $0.hasPrefix("Via: ") }.count == 1)
    }

    @Test func onsendRouteRunsOnTheSendPathAndItsDropCancelsTheSend() throws {
        let core = try core(
            """
            request_route { $du = "sip:" + $rd + ":5080"; forward(); }
            onsend_route { if ($snd(ip) == "127.0.0.3") drop; }

            """)
        core.receive(sip("INVITE sip:bob@127.0.0.3 SIP/2.0"), from: "127.0.0.1:5070")
        #expect(core.takeSent().isEmpty)
        core.receive(sip("INVITE sip:bob@127.0.0.2 SIP/2.0", callID: "embedded-2"), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.destination.description) == ["udp:127.0.0.2:5080"])
    }

    @Test func malformedInputIsDroppedAndTheCoreKeepsServing() throws {
        let core = try core("request_route { sl_send_reply(\"200\", \"OK\"); }\n")
        core.receive("INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP ,\r\n\r\n", from: "127.0.0.1:5070")
        core.receive([0xff, 0x00, 0x13], from: "127.0.0.1:5070")
        core.receive(sip("OPTIONS sip:ping@127.0.0.1 SIP/2.0", cseq: "1 OPTIONS"), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 OK"])
    }

    /// A reply is sent later, from another thread, by a timer on the virtual clock: the
    /// request's source address is data in its context, not the receiving worker's state.
    @Test func aReplyCanBeSentLaterFromATimerOnAnotherThread() throws {
        let core = try core("request_route { exit; }\n")
        let message = try SIPMessage(parsing: Array(sip("MESSAGE sip:x@127.0.0.1 SIP/2.0").utf8))
        let receive = ReceiveInfo(
            proto: .udp, source: SocketAddress(numericHost: "127.0.0.1", port: 5077)!,
            local: core.transport.sockets[0].address, socket: core.transport.sockets[0])
        let ctx = MessageContext(message: message, receive: receive, core: core.context)
        let reply = Array("SIP/2.0 408 Request Timeout\r\nContent-Length: 0\r\n\r\n".utf8)
        core.context.timers.after(milliseconds: 30_000, name: "fr") { _ = ctx.sendReply(reply) }
        let other = Thread { core.advance(milliseconds: 30_000) }
        other.start()
        while !other.isFinished { usleep(1000) }
        #expect(core.takeSent().map(\.destination.description) == ["udp:127.0.0.1:5077"])
    }
}

/// Every message-path hook, through the example out-of-tree module (examples/hello-module
/// with `modparam("hello", "hooks", 1)`) on the embedded harness.
@Suite struct MessageHookPathTests {
    func core(_ routes: String) throws -> EmbeddedCore {
        try EmbeddedCore(
            config: prelude + "loadmodule \"\(exampleModulePath)\"\nmodparam(\"hello\", \"hooks\", 1)\n" + routes,
            modulePath: productsDirectory)
    }

    static var built: Bool { FileManager.default.fileExists(atPath: exampleModulePath) }

    @Test(.enabled(if: built, "build examples/hello-module first (scripts/test.sh does)"))
    func bytesAreDecodedOnTheWayInAndEncodedOnTheWayOut() throws {
        let core = try core(
            """
            request_route {
                if ($hdr(X-Hello) == "secret") { append_hf("X-Seen: decoded\\r\\n"); }
                $du = "sip:127.0.0.2:5080"; forward();
            }

            """)
        core.receive(sip("INVITE sip:bob@127.0.0.1 SIP/2.0", extra: ["X-Hello-Enc: secret"]), from: "127.0.0.1:5070")
        let out = try #require(core.takeSent().first).text
        #expect(out.contains("\r\nX-Seen: decoded\r\n"))  // the script saw the decoded header
        #expect(out.contains("\r\nX-Hello-Enc: secret\r\n"))  // encoded again on the wire
        #expect(!out.contains("\r\nX-Hello: "))
    }

    @Test(.enabled(if: built, "build examples/hello-module first (scripts/test.sh does)"))
    func anInHookAndARequestInHookCanDrop() throws {
        let core = try core("request_route { sl_send_reply(\"200\", \"OK\"); }\n")
        core.receive(sip("OPTIONS sip:a@127.0.0.1 SIP/2.0", extra: ["X-Hello-Drop: 1"]), from: "127.0.0.1:5070")
        core.receive(sip("OPTIONS sip:a@127.0.0.1 SIP/2.0", extra: ["X-Hello-Block: 1"]), from: "127.0.0.1:5070")
        #expect(core.takeSent().isEmpty)
        core.receive(sip("OPTIONS sip:a@127.0.0.1 SIP/2.0"), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 OK"])
    }

    @Test(.enabled(if: built, "build examples/hello-module first (scripts/test.sh does)"))
    func aReplyHandlerConsumesItsRepliesAfterTheReplyRoute() throws {
        let core = try core(
            """
            request_route { exit; }
            reply_route { append_hf("X-Reply-Route: ran\\r\\n"); }

            """)
        let vias = ["SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-top", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-e1"]
        core.receive(sip("SIP/2.0 200 OK", via: vias, callID: "hello-1"), from: "127.0.0.2:5080")
        #expect(core.takeSent().isEmpty)  // consumed by the module
        core.receive(sip("SIP/2.0 200 OK", via: vias, callID: "other-1"), from: "127.0.0.2:5080")
        let forwarded = core.takeSent()
        #expect(forwarded.map(\.destination.description) == ["udp:127.0.0.1:5070"])
        #expect(forwarded.first?.text.contains("X-Reply-Route: ran") == true)
    }

    @Test(.enabled(if: built, "build examples/hello-module first (scripts/test.sh does)"))
    func aModuleRunsItsEventRouteAndSeesDrop() throws {
        let core = try core(
            """
            request_route {
                if (hello_event()) { sl_send_reply("200", "Allowed"); } else { sl_send_reply("403", "Vetoed"); }
            }
            event_route[hello:ask] { if ($rU == "deny") drop; }

            """)
        core.receive(sip("MESSAGE sip:deny@127.0.0.1 SIP/2.0"), from: "127.0.0.1:5070")
        core.receive(sip("MESSAGE sip:ok@127.0.0.1 SIP/2.0", callID: "embedded-3"), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 403 Vetoed", "SIP/2.0 200 Allowed"])
    }

    /// A forced socket of another protocol than the destination's: the socket of the same
    /// address for the destination's protocol is used (Kamailio's get_send_socket2).
    @Test func aForcedSocketOfAnotherProtocolGivesWayToTheSameAddress() throws {
        let core = try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                listen=tcp:127.0.0.1:5060
                request_route { force_send_socket(tcp:127.0.0.1:5060); $du = "sip:127.0.0.2:5080"; forward(); }

                """, modulePath: productsDirectory)
        core.receive(sip("MESSAGE sip:x@127.0.0.1 SIP/2.0"), from: "127.0.0.1:5070")
        let sent = core.takeSent()
        #expect(sent.map(\.socket.description) == ["udp:127.0.0.1:5060"])
        #expect(sent.map(\.destination.description) == ["udp:127.0.0.2:5080"])
    }
}

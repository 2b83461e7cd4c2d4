import Foundation
import Synchronization
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// tm's client side for other modules and the script (`TransactionUACAPI`, `t_uac_send`,
/// `tm.t_uac_start`, `tm.reply`) on the embedded core and its virtual clock.
@Suite struct TMUACTests {
    static let callee = "127.0.0.2:5080"

    static func config(_ route: String = "", extra: String = "") -> String {
        """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "tm.so"
        loadmodule "sl.so"
        modparam("tm", "fr_timer", 2000)
        \(extra)
        request_route {
        \(route)
        }

        """
    }

    func core(_ route: String = "", extra: String = "") throws -> EmbeddedCore {
        try EmbeddedCore(config: Self.config(route, extra: extra), modulePath: productsDirectory)
    }

    /// The header lines of a message, without the first line.
    static func headers(_ text: String) -> [String] {
        Array(text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n").dropFirst())
    }

    /// Collects what a completion receives (called on the test thread under the virtual clock).
    final class Replies: @unchecked Sendable {
        private let lock = Mutex<[String]>([])
        func add(_ r: LocalReply) { lock.withLock { $0.append("\(r.code) \(r.reason)") } }
        var all: [String] { lock.withLock { $0 } }
    }

    @Test func theAPISendsARequestRetransmitsItAndDeliversTheFinalReply() throws {
        let core = try core()
        let api = try #require(core.context.apis.lookup(TransactionUACAPI.self))
        let replies = Replies()
        let request = LocalRequest(
            method: "OPTIONS", requestURI: "sip:bob@127.0.0.2:5080", from: "sip:alice@example.com",
            fromTag: "ft1", callID: "uac-1", headers: "X-Test: 1\r\n", wantsProvisionals: true)
        let sent = api.sendRequest(request) { replies.add($0) }
        let ids = try sent.get()
        let out = core.takeSent()
        #expect(out.map(\.firstLine) == ["OPTIONS sip:bob@127.0.0.2:5080 SIP/2.0"])
        #expect(out.first?.destination.address.description == "127.0.0.2:5080")
        let h = Self.headers(out[0].text)
        #expect(h[0].hasPrefix("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK"))
        #expect(
            Array(h.dropFirst()) == [
                "To: <sip:bob@127.0.0.2:5080>", "From: <sip:alice@example.com>;tag=ft1", "CSeq: 10 OPTIONS",
                "Call-ID: uac-1", "Max-Forwards: 70", "Content-Length: 0",
                "User-Agent: Swiftlet (\(SWIFTLET_CORE_VERSION) (\(Core.architecture)/linux))", "X-Test: 1",
            ])
        core.advance(milliseconds: 500)  // T1: retransmitted
        #expect(core.takeSent().map(\.text) == [out[0].text])
        core.receive(TMModuleTests.reply(to: out[0], 180, "Ringing"), from: Self.callee)
        #expect(replies.all == ["180 Ringing"])
        core.receive(TMModuleTests.reply(to: out[0], 200, "OK"), from: Self.callee)
        #expect(replies.all == ["180 Ringing", "200 OK"])
        #expect(core.takeSent().isEmpty)  // nothing goes "upstream" for a local request
        core.advance(milliseconds: 10_000)
        #expect(core.takeSent().isEmpty)  // no retransmissions after the final reply
        #expect(!ids.index.isEmpty && !ids.label.isEmpty)
    }

    @Test func noReplyGives408AtFrTimer() throws {
        let core = try core()
        let api = try #require(core.context.apis.lookup(TransactionUACAPI.self))
        let replies = Replies()
        _ = try api.sendRequest(LocalRequest(method: "MESSAGE", requestURI: "sip:bob@127.0.0.2:5080")) {
            replies.add($0)
        }.get()
        #expect(core.takeSent().count == 1)
        core.advance(milliseconds: 1999)
        #expect(replies.all.isEmpty)
        #expect(core.takeSent().count == 2)  // retransmitted at 500 and 1500 ms
        core.advance(milliseconds: 1)
        #expect(replies.all == ["408 Request Timeout"])
    }

    @Test func aLocalInviteGetsItsTwoHundredAcked() throws {
        let core = try core()
        let api = try #require(core.context.apis.lookup(TransactionUACAPI.self))
        let replies = Replies()
        _ = try api.sendRequest(
            LocalRequest(method: "INVITE", requestURI: "sip:bob@127.0.0.2:5080", nextHop: "sip:127.0.0.3:5090")
        ) { replies.add($0) }.get()
        let invite = core.takeSent()
        #expect(
            invite.map { "\($0.firstLine) -> \($0.destination.address)" } == [
                "INVITE sip:bob@127.0.0.2:5080 SIP/2.0 -> 127.0.0.3:5090"
            ])
        var ok = TMModuleTests.reply(to: invite[0], 200, "OK")
        ok = ok.replacingOccurrences(
            of: "Content-Length: 0", with: "Contact: <sip:bob@127.0.0.4:5070>\r\nContent-Length: 0")
        core.receive(ok, from: "127.0.0.3:5090")
        #expect(replies.all == ["200 OK"])
        let ack = core.takeSent()
        #expect(
            ack.map { "\($0.firstLine) -> \($0.destination.address)" } == [
                "ACK sip:bob@127.0.0.4:5070 SIP/2.0 -> 127.0.0.3:5090"
            ])
        #expect(ack.first?.text.contains("CSeq: 10 ACK\r\n") == true)
        #expect(ack.first?.text.contains(";tag=b1") == true)
    }

    @Test func localRequestsRunNoOnsendRouteAndADottedInviteGetsNoAck() throws {
        let core = try core(
            """
            t_uac_send("INVITE.", "sip:bob@127.0.0.2:5080", "", "", "From: <sip:a@example.com>\\r\\nTo: <sip:bob@example.com>\\r\\n", "");
            exit;
            """, extra: "onsend_route { drop; }")
        core.receive(TMModuleTests.invite("go", callID: "trigger"), from: "127.0.0.1:5070")
        let sent = core.takeSent()
        #expect(sent.map(\.firstLine) == ["INVITE sip:bob@127.0.0.2:5080 SIP/2.0"])  // not dropped
        core.receive(TMModuleTests.reply(to: sent[0], 200, "OK"), from: Self.callee)
        #expect(core.takeSent().isEmpty)  // no ACK: the method ended in '.'
    }

    @Test func tUACSendBuildsTheRequestFromItsHeaders() throws {
        let core = try core(
            """
            t_uac_send("OPTIONS", "sip:bob@127.0.0.2:5080", "", "",
                "From: <sip:alice@example.com>;tag=f1\\r\\nTo: <sip:bob@example.com>\\r\\nCall-ID: c-1\\r\\nCSeq: 5 OPTIONS\\r\\nX-Extra: yes\\r\\n", "");
            if (!t_uac_send("OPTIONS", "sip:bob@127.0.0.2:5080", "", "", "To: <sip:bob@example.com>\\r\\n", "")) {
                sl_send_reply("500", "no from");
                exit;
            }
            sl_send_reply("200", "sent");
            """)
        core.receive(TMModuleTests.invite("go", callID: "trigger"), from: "127.0.0.1:5070")
        let sent = core.takeSent()
        #expect(sent.map(\.firstLine) == ["OPTIONS sip:bob@127.0.0.2:5080 SIP/2.0", "SIP/2.0 500 no from"])
        let h = Self.headers(sent[0].text)
        #expect(h.contains("To: <sip:bob@example.com>"))
        #expect(h.contains("From: <sip:alice@example.com>;tag=f1"))
        #expect(h.contains("CSeq: 5 OPTIONS"))
        #expect(h.contains("Call-ID: c-1"))
        #expect(h.contains("X-Extra: yes"))
        #expect(h.filter { $0.hasPrefix("From:") || $0.hasPrefix("To:") || $0.hasPrefix("Call-ID:") }.count == 3)
    }

    /// Kamailio 5.6.3 sent, for the same `t_uac_send()` (Call-ID, branch and User-Agent
    /// aside, which are its own):
    /// `OPTIONS sip:bob@127.0.0.1:36280`, Via, `To: <sip:bob@example.com>`,
    /// `From: <sip:alice@example.com>;tag=f1`, `CSeq: 10 OPTIONS`, Call-ID,
    /// `Max-Forwards: 70`, `Content-Length: 2`, User-Agent, `Route: <sip:127.0.0.1:36280;lr>`,
    /// `X-Extra: yes`, `Content-Type: text/plain`, body `hi`.
    @Test func tUACSendLaysTheRequestOutAsKamailio() throws {
        let core = try core(
            """
            t_uac_send("OPTIONS", "sip:bob@127.0.0.1:36280", "", "", "From: <sip:alice@example.com>;tag=f1\\r\\nTo: <sip:bob@example.com>\\r\\nRoute: <sip:127.0.0.3:36280;lr>\\r\\nX-Extra: yes\\r\\nContent-Type: text/plain\\r\\n", "hi");
            sl_send_reply("200", "sent");
            """)
        core.receive(TMModuleTests.invite("go", callID: "trigger"), from: "127.0.0.1:5070")
        let sent = core.takeSent()
        #expect(sent.map(\.firstLine) == ["OPTIONS sip:bob@127.0.0.1:36280 SIP/2.0", "SIP/2.0 200 sent"])
        // The first Route is a loose router: the request goes there.
        #expect(sent.first?.destination.address.description == "127.0.0.3:36280")
        let h = Self.headers(sent[0].text).filter {
            !$0.hasPrefix("Via:") && !$0.hasPrefix("Call-ID:") && !$0.hasPrefix("User-Agent:")
        }
        #expect(
            h == [
                "To: <sip:bob@example.com>", "From: <sip:alice@example.com>;tag=f1", "CSeq: 10 OPTIONS",
                "Max-Forwards: 70", "Content-Length: 2", "Route: <sip:127.0.0.3:36280;lr>", "X-Extra: yes",
                "Content-Type: text/plain",
            ])
        #expect(sent.first?.text.hasSuffix("\r\n\r\nhi") == true)
    }

    @Test func tmTUACStartSendsAndChecksItsParameters() throws {
        let core = try core()
        let rpcs = core.context.rpcs
        let ok = rpcs.call(
            RPCRequest(
                method: "tm.t_uac_start",
                params: [
                    .string("MESSAGE"), .string("sip:bob@127.0.0.2:5080"), .string("."), .string("."),
                    .string("From: <sip:rpc@example.com>\r\nTo: <sip:bob@example.com>\r\nContent-Type: text/plain\r\n"),
                    .string("hello"),
                ]))
        #expect(ok == .success(.null))
        let sent = core.takeSent()
        #expect(sent.map(\.firstLine) == ["MESSAGE sip:bob@127.0.0.2:5080 SIP/2.0"])
        #expect(
            sent.first?.text.hasSuffix("Content-Type: text/plain\r\n\r\nhello") == true, "\(sent.first?.text ?? "")")
        #expect(sent.first?.text.contains("Content-Length: 5\r\n") == true)
        let noType = rpcs.call(
            RPCRequest(
                method: "tm.t_uac_start",
                params: [
                    .string("MESSAGE"), .string("sip:bob@127.0.0.2:5080"), .string(""), .string(""),
                    .string("From: <sip:rpc@example.com>\r\nTo: <sip:bob@example.com>\r\n"), .string("hello"),
                ]))
        #expect(noType == .failure(RPCError(400, "Content-Type missing")))
        let few = rpcs.call(RPCRequest(method: "tm.t_uac_start", params: [.string("MESSAGE")]))
        #expect(few == .failure(RPCError(400, "too few parameters (1/5)")))
    }

    @Test func tmReplyAnswersAWaitingTransaction() throws {
        let core = try core("t_newtran(); exit;")
        core.receive(TMModuleTests.invite(), from: "127.0.0.1:5070")
        #expect(core.takeSent().isEmpty)
        let rpcs = core.context.rpcs
        guard case .success(.array(let list)) = rpcs.call(RPCRequest(method: "tm.list", params: [])),
            let tx = list.first, case .string(let index)? = tx["tindex"], case .string(let label)? = tx["tlabel"]
        else {
            Issue.record("no transaction listed")
            return
        }
        let missing = rpcs.call(
            RPCRequest(method: "tm.reply", params: [.int(404), .string("Nope"), .string("0:0"), .string("t")]))
        #expect(missing == .failure(RPCError(481, "No such transaction")))
        let bad = rpcs.call(
            RPCRequest(method: "tm.reply", params: [.int(404), .string("Nope"), .string("xyz"), .string("t")]))
        #expect(bad == .failure(RPCError(400, "Invalid transaction ID")))
        let r = rpcs.call(
            RPCRequest(
                method: "tm.reply",
                params: [
                    .int(486), .string("Busy Here"), .string("\(index):\(label)"), .string("rpc-tag"),
                    .string("X-Why: rpc\r\n"),
                ]))
        #expect(r == .success(.null))
        let sent = core.takeSent()
        #expect(sent.map(\.firstLine) == ["SIP/2.0 486 Busy Here"])
        #expect(sent.first?.text.contains("To: <sip:bob@127.0.0.1>;tag=rpc-tag\r\n") == true)
        #expect(sent.first?.text.contains("X-Why: rpc\r\n") == true)
        let again = rpcs.call(
            RPCRequest(
                method: "tm.reply", params: [.int(200), .string("OK"), .string("\(index):\(label)"), .string("")]))
        #expect(again == .failure(RPCError(500, "Reply failed")))
    }
}

/// `tm.t_uac_wait_block`: the RPC returns when the final reply came (here from another
/// thread, as the RPC socket's thread waits).
@Suite struct TMUACWaitTests {
    @Test func tUACWaitBlockReturnsTheFinalReply() async throws {
        let core = try EmbeddedCore(config: TMUACTests.config(), modulePath: productsDirectory)
        let rpcs = core.context.rpcs
        let call = Task {
            await onOwnThread {
                rpcs.call(
                    RPCRequest(
                        method: "tm.t_uac_wait_block",
                        params: [
                            .string("OPTIONS"), .string("sip:bob@127.0.0.2:5080"), .string(""), .string(""),
                            .string("From: <sip:rpc@example.com>\r\nTo: <sip:bob@example.com>\r\n"),
                        ]))
            }
        }
        var sent: [MemoryTransport.Sent] = []
        for _ in 0..<200 where sent.isEmpty {
            try await Task.sleep(nanoseconds: 10_000_000)
            sent = core.takeSent()
        }
        let options = try #require(sent.first)
        #expect(options.firstLine == "OPTIONS sip:bob@127.0.0.2:5080 SIP/2.0")
        core.receive(TMModuleTests.reply(to: options, 486, "Busy Here"), from: TMUACTests.callee)
        let result = await call.value
        #expect(result == .success(.object([("code", .int(486)), ("text", .string("Busy Here"))])))
    }
}

import Foundation
import Synchronization
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// The `_noack` and `_hex` variants of `tm.t_uac_start`, `tm.t_uac_wait` and
/// `tm.t_uac_wait_block` (Kamailio's `rpc_uac.c`) on the embedded core.
@Suite struct TMUACRPCVariantTests {
    static let headers = "From: <sip:rpc@example.com>\r\nTo: <sip:bob@example.com>\r\nContent-Type: text/plain\r\n"

    static func params(_ method: String, body: String? = nil) -> [RPCValue] {
        [.string(method), .string("sip:bob@127.0.0.2:5080"), .string("."), .string("."), .string(headers)]
            + (body.map { [.string($0)] } ?? [])
    }

    /// A 200 for `request` with a Contact (the ACK's target).
    static func ok(_ request: MemoryTransport.Sent) -> String {
        TMModuleTests.reply(to: request, 200, "OK").replacingOccurrences(
            of: "Content-Length: 0", with: "Contact: <sip:bob@127.0.0.2:5080>\r\nContent-Length: 0")
    }

    @Test func allTwelveAreExported() throws {
        let core = try EmbeddedCore(config: TMUACTests.config(), modulePath: productsDirectory)
        for name in [
            "tm.t_uac_start", "tm.t_uac_start_hex", "tm.t_uac_start_noack", "tm.t_uac_start_noack_hex",
            "tm.t_uac_wait", "tm.t_uac_wait_hex", "tm.t_uac_wait_noack", "tm.t_uac_wait_noack_hex",
            "tm.t_uac_wait_block", "tm.t_uac_wait_block_hex", "tm.t_uac_wait_block_noack",
            "tm.t_uac_wait_block_noack_hex",
        ] {
            // Too few parameters: each one checks them as Kamailio's rpc_t_uac (through a
            // transport that can wait, which the `tm.t_uac_wait*` ones need first).
            let box = TMUACWaitRPCTests.Box()
            core.context.rpcs.call(RPCRequest(method: name, params: [.string("OPTIONS")])) { box.add($0) }
            #expect(box.all == [.failure(RPCError(400, "too few parameters (1/5)"))], "\(name)")
        }
    }

    @Test func hexDecodesTheBodyAndRefusesBadHex() throws {
        let core = try EmbeddedCore(config: TMUACTests.config(), modulePath: productsDirectory)
        let rpcs = core.context.rpcs
        let ok = rpcs.call(
            RPCRequest(method: "tm.t_uac_start_hex", params: Self.params("MESSAGE", body: "68 65\t6c6C 6f0d0a")))
        #expect(ok == .success(.null))
        let sent = core.takeSent()
        #expect(sent.map(\.firstLine) == ["MESSAGE sip:bob@127.0.0.2:5080 SIP/2.0"])
        #expect(sent.first?.text.hasSuffix("\r\n\r\nhello\r\n") == true, "\(sent.first?.text ?? "")")
        #expect(sent.first?.text.contains("Content-Length: 7\r\n") == true)
        for bad in ["6g", "686", "6 8", "  "] {
            let r = rpcs.call(RPCRequest(method: "tm.t_uac_start_hex", params: Self.params("MESSAGE", body: bad)))
            #expect(r == .failure(RPCError(400, "Invalid hexa body")), "\(bad)")
        }
        // The plain variant takes the same text as it is.
        _ = rpcs.call(RPCRequest(method: "tm.t_uac_start", params: Self.params("MESSAGE", body: "6865")))
        #expect(core.takeSent().first?.text.hasSuffix("\r\n\r\n6865") == true)
        #expect(core.takeSent().isEmpty)
    }

    @Test func noackLeavesTheACKOfA2xxToTheCaller() throws {
        let core = try EmbeddedCore(config: TMUACTests.config(), modulePath: productsDirectory)
        let rpcs = core.context.rpcs
        #expect(rpcs.call(RPCRequest(method: "tm.t_uac_start", params: Self.params("INVITE"))) == .success(.null))
        let acked = core.takeSent()
        core.receive(Self.ok(acked[0]), from: TMUACTests.callee)
        #expect(core.takeSent().map(\.firstLine) == ["ACK sip:bob@127.0.0.2:5080 SIP/2.0"])
        #expect(
            rpcs.call(RPCRequest(method: "tm.t_uac_start_noack", params: Self.params("INVITE"))) == .success(.null))
        let invite = core.takeSent()
        #expect(invite.map(\.firstLine) == ["INVITE sip:bob@127.0.0.2:5080 SIP/2.0"])
        core.receive(Self.ok(invite[0]), from: TMUACTests.callee)
        #expect(core.takeSent().isEmpty)
    }

    @Test func waitNoackHexAnswersWithTheReplyAndSendsNoACK() throws {
        let core = try EmbeddedCore(config: TMUACTests.config(), modulePath: productsDirectory)
        let box = TMUACWaitRPCTests.Box()
        core.context.rpcs.call(
            RPCRequest(method: "tm.t_uac_wait_noack_hex", params: Self.params("INVITE", body: "7630"))
        ) { box.add($0) }
        let invite = core.takeSent()
        #expect(invite.first?.text.hasSuffix("\r\n\r\nv0") == true)
        core.receive(Self.ok(invite[0]), from: TMUACTests.callee)
        #expect(core.takeSent().isEmpty)
        guard case .success(.array(let result))? = box.all.first else {
            Issue.record("no delayed reply: \(box.all)")
            return
        }
        #expect(Array(result.prefix(3)) == [.int(200), .string("OK"), .string("sip:bob@127.0.0.2:5080")])
    }

    @Test func waitBlockNoackReturnsTheFinalReplyWithoutACK() async throws {
        let core = try EmbeddedCore(config: TMUACTests.config(), modulePath: productsDirectory)
        let rpcs = core.context.rpcs
        let call = Task {
            await onOwnThread {
                rpcs.call(RPCRequest(method: "tm.t_uac_wait_block_noack", params: Self.params("INVITE")))
            }
        }
        var sent: [MemoryTransport.Sent] = []
        for _ in 0..<200 where sent.isEmpty {
            try await Task.sleep(nanoseconds: 10_000_000)
            sent = core.takeSent()
        }
        let invite = try #require(sent.first)
        core.receive(Self.ok(invite), from: TMUACTests.callee)
        let result = await call.value
        #expect(result == .success(.object([("code", .int(200)), ("text", .string("OK"))])))
        #expect(core.takeSent().isEmpty)
    }
}

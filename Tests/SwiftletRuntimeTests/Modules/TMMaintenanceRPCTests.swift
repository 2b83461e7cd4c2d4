import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// `tm.reply_callid`, `tm.hash_stats`, `tm.clean` and `t_clean()` on the embedded core.
@Suite struct TMMaintenanceRPCTests {
    static func core() throws -> EmbeddedCore {
        try EmbeddedCore(
            config: TMUACTests.config(
                """
                if ($rm == "OPTIONS") {
                    t_clean();
                    sl_send_reply("200", "cleaned");
                    exit;
                }
                t_newtran();
                exit;
                """, extra: "modparam(\"tm\", \"max_inv_lifetime\", 1000)"), modulePath: productsDirectory)
    }

    static func transactions(_ core: EmbeddedCore) -> Int {
        guard case .success(.array(let list)) = core.context.rpcs.call(RPCRequest(method: "tm.list", params: []))
        else { return -1 }
        return list.count
    }

    @Test func replyCallIDAnswersTheInviteTransaction() throws {
        let core = try Self.core()
        core.receive(TMModuleTests.invite(callID: "rc-1"), from: "127.0.0.1:5070")
        #expect(core.takeSent().isEmpty)
        let rpcs = core.context.rpcs
        func call(_ params: [RPCValue]) -> Result<RPCValue, RPCError> {
            rpcs.call(RPCRequest(method: "tm.reply_callid", params: params))
        }
        #expect(call([.int(486), .string("Busy"), .string("rc-1")]) == .failure(RPCError(400, "CSeq expected")))
        #expect(
            call([.int(486), .string("Busy"), .string("rc-1"), .string("1")])
                == .failure(RPCError(400, "To tag expected")))
        #expect(
            call([.int(486), .string("Busy"), .string("rc-2"), .string("1"), .string("t1")])
                == .failure(RPCError(404, "Transaction not found")))
        #expect(
            call([.int(486), .string("Busy"), .string("rc-1"), .string("2"), .string("t1")])
                == .failure(RPCError(404, "Transaction not found")))
        let ok = call([
            .int(486), .string("Busy Here"), .string("rc-1"), .string("1"), .string("t1"), .string("X-Why: rpc\r\n"),
        ])
        #expect(ok == .success(.null))
        let sent = core.takeSent()
        #expect(sent.map(\.firstLine) == ["SIP/2.0 486 Busy Here"])
        #expect(sent.first?.text.contains("To: <sip:bob@127.0.0.1>;tag=t1\r\n") == true)
        #expect(sent.first?.text.contains("X-Why: rpc\r\n") == true)
        #expect(
            call([.int(200), .string("OK"), .string("rc-1"), .string("1"), .string("t1")])
                == .failure(RPCError(500, "Reply failed")))
    }

    @Test func hashStatsAnswersAsKamailiosPackages() throws {
        let core = try Self.core()
        #expect(
            core.context.rpcs.call(RPCRequest(method: "tm.hash_stats", params: []))
                == .failure(RPCError(500, "Hash statistics not supported (tryrecompiling with -DTM_HASH_STATS)")))
    }

    @Test func cleanRemovesTransactionsNinetySecondsPastTheirLifetime() throws {
        let core = try Self.core()
        core.receive(TMModuleTests.invite(callID: "old-1"), from: "127.0.0.1:5070")
        #expect(Self.transactions(core) == 1)
        // The lifetime (1 s) ended, but not 90 s ago: it stays.
        core.advance(milliseconds: 1_000 + 89_000)
        #expect(core.context.rpcs.call(RPCRequest(method: "tm.clean", params: [])) == .success(.null))
        #expect(Self.transactions(core) == 1)
        core.advance(milliseconds: 1_500)
        #expect(core.context.rpcs.call(RPCRequest(method: "tm.clean", params: [])) == .success(.null))
        #expect(Self.transactions(core) == 0)
        // The INVITE again is a new request now (a new transaction, no reply).
        core.receive(TMModuleTests.invite(callID: "old-1"), from: "127.0.0.1:5070")
        #expect(Self.transactions(core) == 1)
        #expect(core.takeSent().isEmpty)
        // t_clean() from the script does the same.
        core.advance(milliseconds: 92_000)
        var options = TMModuleTests.invite(callID: "clean-1").replacingOccurrences(of: "INVITE", with: "OPTIONS")
        options = options.replacingOccurrences(of: "z9hG4bK-c1", with: "z9hG4bK-o1")
        core.receive(options, from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 cleaned"])
        #expect(Self.transactions(core) == 0)
    }
}

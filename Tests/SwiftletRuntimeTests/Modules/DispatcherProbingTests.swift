import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// Probing with OPTIONS through tm on the virtual clock: a silent target goes down (408),
/// comes back up on a 200, garbage answers count for nothing, `ds_ping_reply_codes` and
/// `dispatcher.ping_active`.
@Suite struct DispatcherProbingTests {
    let base = DispatcherModuleTests()
    static let list = "1 sip:127.0.0.2:5081\n1 sip:127.0.0.2:5082\n"

    func core(_ extra: String = "") throws -> EmbeddedCore {
        try base.core(
            DispatcherModuleTests.report + "\nexit;\n}\n" + DispatcherModuleTests.eventRoutes + "\nroute[UNUSED] {",
            list: Self.list,
            extra: """
                modparam("tm", "fr_timer", 2000)
                modparam("dispatcher", "ds_ping_interval", 5)
                modparam("dispatcher", "ds_probing_mode", 1)
                \(extra)
                """)
    }

    /// The probes sent since the last call, by target (retransmissions left out).
    func probes(_ core: EmbeddedCore) -> [String: MemoryTransport.Sent] {
        var out: [String: MemoryTransport.Sent] = [:]
        for s in core.takeSent() where s.firstLine.hasPrefix("OPTIONS") {
            let key = "\(s.destination.address)"
            if out[key] == nil { out[key] = s }
        }
        return out
    }

    func flags(_ core: EmbeddedCore) throws -> [RPCValue?] {
        let list = try base.rpc(core, "dispatcher.list").get()
        guard case .array(let records)? = list["RECORDS"], case .array(let t)? = records[0]["SET"]?["TARGETS"] else {
            return []
        }
        return t.map { $0["DEST"]?["FLAGS"] }
    }

    @Test func aSilentTargetGoesDownAndComesBackUp() throws {
        let core = try core()
        core.advance(milliseconds: 4900)
        #expect(probes(core).isEmpty)
        core.advance(milliseconds: 100)
        let first = probes(core)
        #expect(first.keys.sorted() == ["127.0.0.2:5081", "127.0.0.2:5082"])
        let probe = try #require(first["127.0.0.2:5081"])
        #expect(probe.firstLine == "OPTIONS sip:127.0.0.2:5081 SIP/2.0")
        #expect(probe.text.contains("\r\nFrom: <sip:dispatcher@localhost>;tag="))
        #expect(probe.text.contains("\r\nTo: <sip:127.0.0.2:5081>\r\n"))
        core.receive(TMModuleTests.reply(to: first["127.0.0.2:5082"]!, 200, "OK"), from: "127.0.0.2:5082")
        core.advance(milliseconds: 2000)  // 5081's probe times out
        _ = core.takeSent()
        #expect(try flags(core) == [.string("AP"), .string("IP")])
        #expect(base.report(core) == "down=[sip:127.0.0.2:5081 408 0] up=")
        // Traffic avoids the inactive target.
        // The next round: 5081 answers.
        core.advance(milliseconds: 3000)
        let second = probes(core)
        core.receive(TMModuleTests.reply(to: second["127.0.0.2:5081"]!, 200, "OK"), from: "127.0.0.2:5081")
        #expect(try flags(core) == [.string("AP"), .string("AP")])
        #expect(base.report(core) == "down=[sip:127.0.0.2:5081 408 0] up=[sip:127.0.0.2:5081 200 OK]")
    }

    @Test func garbageAnswersDoNotCountAndANonAcceptedCodeTakesTheTargetDown() throws {
        let core = try core()
        core.advance(milliseconds: 5000)
        let first = probes(core)
        core.receive("this is not SIP\r\n\r\n", from: "127.0.0.2:5081")
        core.receive(TMModuleTests.reply(to: first["127.0.0.2:5082"]!, 404, "Not Found"), from: "127.0.0.2:5082")
        let after404 = try flags(core)
        // 5081 has not answered yet: still as loaded.
        #expect(after404 == [.string("IP"), .string("AX")], "\(after404)")
        #expect(base.report(core) == "down=[sip:127.0.0.2:5082 404 1] up=")
        core.advance(milliseconds: 2000)
        #expect(try flags(core) == [.string("IP"), .string("IP")])
    }

    @Test func acceptedReplyCodesKeepTheTargetUp() throws {
        let core = try core("modparam(\"dispatcher\", \"ds_ping_reply_codes\", \"class=4;code=501\")")
        core.advance(milliseconds: 5000)
        let first = probes(core)
        core.receive(TMModuleTests.reply(to: first["127.0.0.2:5082"]!, 404, "Not Found"), from: "127.0.0.2:5082")
        core.receive(TMModuleTests.reply(to: first["127.0.0.2:5081"]!, 501, "Not Implemented"), from: "127.0.0.2:5081")
        #expect(try flags(core) == [.string("AP"), .string("AP")])
    }

    @Test func pingActiveStopsAndRestartsTheProbes() throws {
        let core = try core()
        #expect(try base.rpc(core, "dispatcher.ping_active").get() == .object([("OldPingState", .int(1))]))
        #expect(
            try base.rpc(core, "dispatcher.ping_active", [.int(0)]).get()
                == .object([("NewPingState", .int(0)), ("OldPingState", .int(1))]))
        core.advance(milliseconds: 5000)
        #expect(probes(core).isEmpty)
        _ = try base.rpc(core, "dispatcher.ping_active", [.int(1)]).get()
        core.advance(milliseconds: 5000)
        #expect(probes(core).count == 2)
    }

    @Test func latencyStatisticsFollowTheProbes() throws {
        let core = try core("modparam(\"dispatcher\", \"ds_ping_latency_stats\", 1)")
        func latency() throws -> [RPCValue?] {
            let list = try base.rpc(core, "dispatcher.list").get()
            guard case .array(let r)? = list["RECORDS"], case .array(let t)? = r[0]["SET"]?["TARGETS"] else {
                return []
            }
            return t.map { $0["DEST"]?["LATENCY"] }
        }
        // As in Kamailio, only destinations with the probing flag are measured: the first
        // round's answers set it.
        core.advance(milliseconds: 5000)
        var probes = probes(core)
        for (target, probe) in probes { core.receive(TMModuleTests.reply(to: probe, 200, "OK"), from: target) }
        let none = RPCValue.object([
            ("AVG", .double(0)), ("STD", .double(0)), ("EST", .double(0)), ("MAX", .int(0)), ("TIMEOUT", .int(0)),
        ])
        #expect(try latency() == [none, none])
        core.advance(milliseconds: 5000)
        probes = self.probes(core)
        core.advance(milliseconds: 500)
        core.receive(TMModuleTests.reply(to: probes["127.0.0.2:5082"]!, 200, "OK"), from: "127.0.0.2:5082")
        core.receive(TMModuleTests.reply(to: probes["127.0.0.2:5081"]!, 200, "OK"), from: "127.0.0.2:5081")
        let first = RPCValue.object([
            ("AVG", .double(500)), ("STD", .double(0)), ("EST", .double(500)), ("MAX", .int(500)), ("TIMEOUT", .int(0)),
        ])
        #expect(try latency() == [first, first])
        _ = core.takeSent()  // the retransmissions sent at 500 ms
        // The next round: 5082 answers after 1 s, 5081 not at all.
        core.advance(milliseconds: 4500)
        probes = self.probes(core)
        core.advance(milliseconds: 1000)
        core.receive(TMModuleTests.reply(to: probes["127.0.0.2:5082"]!, 200, "OK"), from: "127.0.0.2:5082")
        core.advance(milliseconds: 1000)
        let l = try latency()
        #expect(l[0]?["AVG"] == .double(750) && l[0]?["MAX"] == .int(1000) && l[0]?["EST"] == .double(750), "\(l)")
        #expect(l[1]?["TIMEOUT"] == .int(1) && l[1]?["AVG"] == .double(500))
    }
}

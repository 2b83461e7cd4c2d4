import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// Many worker threads writing one table at once while the expiry sweep runs, as in a
/// server: every write lands, the atomic counter counts each, and every item later expires
/// (the expired event route is tested in HTableModuleTests).
@Suite struct HTableConcurrencyTests {
    static let config = HTableModuleTests.config(
        """
        request_route {
            $var(i) = $var(i) + 1;
            $sht(big=>$ci-$var(i)) = $rU;
            $var(n) = $shtinc(cnt=>written);
        }
        """, tables: ["big=>size=14;autoexpire=30", "cnt=>size=1;initval=0"],
        extra: "modparam(\"htable\", \"timer_interval\", 5)")

    static func request(_ callID: String) -> String {
        [
            "OPTIONS sip:w@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-\(callID)",
            "From: <sip:a@127.0.0.1>;tag=a", "To: <sip:w@127.0.0.1>", "Call-ID: \(callID)", "CSeq: 1 OPTIONS",
            "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    static func value(_ core: EmbeddedCore, _ table: String, _ key: String) -> RPCValue? {
        try? core.context.rpcs.call(RPCRequest(method: "htable.get", params: [.string(table), .string(key)])).get()[
            "item"]?["value"]
    }

    static func items(_ core: EmbeddedCore) -> RPCValue? {
        guard case .success(.array(let tables)) = core.context.rpcs.call(RPCRequest(method: "htable.stats", params: []))
        else { return nil }
        return tables.first { $0["name"] == .string("big") }?["all"]
    }

    @Test func hundredThousandItemsFromFourThreadsThenExpire() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        let threads = 4
        let perThread = 25_000
        // Worker threads of their own, as a server's (not GCD's pool, which other suites share).
        let writing = DispatchGroup()
        for t in 0..<threads {
            writing.enter()
            Thread {
                // One message per thread, its route run for every write ($var(i) counts on
                // the thread: keys c-T-1 ... c-T-25000).
                let ctx = try! ScriptHarness.context(Self.request("c-\(t)"), sourceIP: "127.0.0.1", core: core.context)
                for _ in 0..<perThread { core.loaded.script.runRequestRoute(ctx) }
                writing.leave()
            }.start()
        }
        // The expiry sweep runs meanwhile (every 5 s of the clock; nothing is due yet).
        for _ in 0..<10 { core.advance(milliseconds: 1000) }
        writing.wait()
        #expect(Self.items(core) == .int(threads * perThread))
        #expect(Self.value(core, "cnt", "written") == .int(threads * perThread))
        #expect(Self.value(core, "big", "c-3-25000") == .string("w"))
        // Written between 0 and 10 s, due at 30 to 40 s: the sweep at 45 s has removed all.
        core.advance(milliseconds: 35_000)
        #expect(Self.items(core) == .int(0))
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// sworker on the embedded core: `sworker_task(gname)` in `event_route[core:pre-routing]`
/// hands the message to a worker of the core's async task group, which runs it through the
/// receive path again (without the pre-routing route) with the `xdata` variable passed along.
@Suite struct SWorkerModuleTests {
    static let caller = "127.0.0.1:5070"

    static let config = """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        async_workers_group="name=sw;workers=2"
        loadmodule "sl.so"
        loadmodule "sworker.so"
        modparam("sworker", "xdata", "$var(xdata)")
        event_route[core:pre-routing] {
            $var(xdata) = "from-" + $rU;
            if ($rU == "local" || $rU == "inroute") { return; }
            if ($rU == "nogroup") {
                if (!sworker_task("none")) { sl_send_reply("500", "no group"); }
                drop;
            }
            if (sworker_task("sw")) { drop; }
            sl_send_reply("500", "not delegated");
            drop;
        }
        request_route {
            if ($rU == "inroute") {
                if (!sworker_task("sw")) { sl_send_reply("500", "not in pre-routing"); }
                exit;
            }
            if (sworker_active()) {
                sl_send_reply("200", "worker $var(xdata)");
                exit;
            }
            sl_send_reply("202", "local $var(xdata)");
        }

        """

    static func options(_ user: String, callID: String) -> String {
        [
            "OPTIONS sip:\(user)@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-\(callID);rport",
            "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:\(user)@127.0.0.1>", "Call-ID: \(callID)",
            "CSeq: 1 OPTIONS", "Max-Forwards: 70", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    func waitForSent(_ core: EmbeddedCore) -> [MemoryTransport.Sent] {
        var sent: [MemoryTransport.Sent] = []
        let deadline = Date().addingTimeInterval(5)
        while sent.isEmpty, Date() < deadline {
            sent += core.takeSent()
            if sent.isEmpty { usleep(5_000) }
        }
        return sent
    }

    @Test func delegatedMessagesAreProcessedByTheGroupWithTheirData() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        defer { core.shutdown() }
        for user in ["bob", "carol"] {
            core.receive(Self.options(user, callID: "sw-\(user)"), from: Self.caller)
            let sent = waitForSent(core)
            // The worker ran request_route (sworker_active) with $var(xdata) passed along; the
            // pre-routing route did not run again there (it would have delegated it again).
            #expect(sent.map(\.firstLine) == ["SIP/2.0 200 worker from-\(user)"])
        }
    }

    @Test func processingGoesOnLocallyWhenNotDelegated() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        defer { core.shutdown() }
        core.receive(Self.options("local", callID: "sw-local"), from: Self.caller)
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 202 local from-local"])
        // Outside the pre-routing route sworker_task refuses (-1).
        core.receive(Self.options("inroute", callID: "sw-inroute"), from: Self.caller)
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 500 not in pre-routing"])
        core.receive(Self.options("nogroup", callID: "sw-nogroup"), from: Self.caller)
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 500 no group"])
    }

    /// The running server: its UDP worker hands the request to the group's thread, which
    /// answers it.
    @Test func delegatesInTheRunningServer() throws {
        let server = try TestServer(
            config: Self.config.replacingOccurrences(of: "listen=udp:127.0.0.1:5060", with: "listen=udp:127.0.0.1:PORT")
                .replacingOccurrences(of: "debug=-1", with: "debug=1"))
        let client = UDPClient()
        for user in ["bob", "local"] {
            client.send(
                Self.options(user, callID: "srv-\(user)").replacingOccurrences(
                    of: "127.0.0.1:5070;branch", with: "127.0.0.1:\(client.port);branch"), to: server.port)
            let reply = client.receive(timeout: 5)?.split(separator: "\r\n").first.map(String.init)
            #expect(reply == (user == "bob" ? "SIP/2.0 200 worker from-bob" : "SIP/2.0 202 local from-local"))
        }
        #expect(server.stop() == 0)
    }

    @Test func needsTheAsyncWorkersAndAWritableXdata() throws {
        let without = try EmbeddedCore(
            config: Self.config.replacingOccurrences(of: "async_workers_group=\"name=sw;workers=2\"", with: ""),
            modulePath: productsDirectory)
        defer { without.shutdown() }
        without.receive(Self.options("bob", callID: "sw-none"), from: Self.caller)
        #expect(without.takeSent().map(\.firstLine) == ["SIP/2.0 500 not delegated"])
        #expect(throws: (any Error).self) {
            try EmbeddedCore(
                config: Self.config.replacingOccurrences(of: "\"$var(xdata)\"", with: "\"$si\""),
                modulePath: productsDirectory)
        }
    }
}

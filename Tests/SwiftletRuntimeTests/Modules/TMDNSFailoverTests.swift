import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// A resolver with a fixed table (host → every target), for the embedded core: DNS failover
/// walks the list as it walks SRV/A records.
final class TableResolver: SIPNameListResolver, @unchecked Sendable {
    let table: [String: [String]]
    init(_ table: [String: [String]]) { self.table = table }

    func resolveAll(host: String, port: Int?, proto: TransportProtocol?) -> [ResolvedTarget] {
        if let literal = SocketAddress(numericHost: host, port: port ?? 5060) {
            return [ResolvedTarget(address: literal, proto: proto ?? .udp)]
        }
        return (table[host] ?? []).compactMap { a in
            let parts = a.split(separator: ":")
            return SocketAddress(numericHost: String(parts[0]), port: Int(parts[1])!).map {
                ResolvedTarget(address: $0, proto: proto ?? .udp)
            }
        }
    }

    func resolve(host: String, port: Int?, proto: TransportProtocol?) -> ResolvedTarget? {
        resolveAll(host: host, port: port, proto: proto).first
    }
}

/// tm's DNS failover (`use_dns_failover`) and the destination blocklist (`use_dst_blocklist`,
/// `blst_503`, `blst_methods_add`): on the embedded core with a table resolver and a virtual
/// clock, and through the running binary with a fake DNS server.
@Suite struct TMDNSFailoverTests {
    typealias T = TMModuleTests

    func core(_ globals: String, params: String = "", route: String? = nil) throws -> EmbeddedCore {
        let core = try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                \(globals)
                loadmodule "tm.so"
                loadmodule "sl.so"
                loadmodule "pv.so"
                modparam("tm", "fr_timer", 1000)
                \(params)
                request_route {
                    if (method == "ACK") { t_check_trans(); exit; }
                    $du = "sip:pool.test";
                    \(route ?? "t_relay();")
                }

                """, modulePath: productsDirectory)
        core.context.install(
            resolver: TableResolver(["pool.test": ["127.0.0.2:5080", "127.0.0.3:5080", "127.0.0.4:5080"]]))
        return core
    }

    func lines(_ sent: [MemoryTransport.Sent]) -> [String] {
        sent.map { "\($0.firstLine) -> \($0.destination.address)" }
    }

    func branchIndex(_ request: MemoryTransport.Sent) -> String? {
        request.text.components(separatedBy: "\r\n").first { $0.hasPrefix("Via: ") }?
            .components(separatedBy: ".").last
    }

    @Test func a503AndATimeoutMoveTheBranchToTheNextAddress() throws {
        let core = try core("use_dns_failover=on")
        core.receive(T.invite(), from: T.caller)
        let first = core.takeSent()
        #expect(lines(first).last == "INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080")
        core.receive(T.reply(to: first[1], 503, "Service Unavailable"), from: "127.0.0.2:5080")
        let second = core.takeSent()
        #expect(
            lines(second) == [
                "ACK sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080", "INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.3:5080",
            ])
        #expect(branchIndex(second[1]) == "1")
        // The same request, with the new branch's Via.
        #expect(
            second[1].text.replacingOccurrences(of: ".1\r\n", with: ".0\r\n", options: [], range: nil) == first[1].text)
        // No reply from 127.0.0.3 (fr_timer 1 s): the third address.
        core.advance(milliseconds: 999)
        _ = core.takeSent()
        core.advance(milliseconds: 1)
        let third = core.takeSent()
        #expect(lines(third) == ["INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.4:5080"])
        core.receive(T.reply(to: third[0], 200, "OK"), from: "127.0.0.4:5080")
        #expect(lines(core.takeSent()) == ["SIP/2.0 200 OK -> 127.0.0.1:5070"])
    }

    @Test func withoutFailoverOrWithFlag4The503GoesUpAs500() throws {
        for (globals, route) in [("", "t_relay();"), ("use_dns_failover=on", "t_relay_to(\"0x04\");")] {
            let core = try core(globals, route: route)
            core.receive(T.invite(), from: T.caller)
            let invite = core.takeSent().last!
            #expect(invite.destination.address.description == "127.0.0.2:5080")
            core.receive(T.reply(to: invite, 503, "Service Unavailable"), from: "127.0.0.2:5080")
            #expect(
                lines(core.takeSent()) == [
                    "ACK sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080",
                    "SIP/2.0 500 Service Unavailable -> 127.0.0.1:5070",
                ], "\(globals) \(route)")
        }
    }

    @Test func aTimedOutDestinationIsSkippedUntilItsBlocklistEntryExpires() throws {
        let core = try core("use_dns_failover=on\nuse_dst_blocklist=on\ndst_blocklist_expire=10")
        core.receive(T.invite(callID: "b1", branch: "z9hG4bK-b1"), from: T.caller)
        _ = core.takeSent()
        core.advance(milliseconds: 1_000)  // 127.0.0.2 times out: blocklisted, next address
        let next = core.takeSent().filter { $0.firstLine.hasPrefix("INVITE") }.last!
        #expect(next.destination.address.description == "127.0.0.3:5080")
        core.receive(T.reply(to: next, 486, "Busy Here"), from: "127.0.0.3:5080")
        _ = core.takeSent()
        // The next call skips 127.0.0.2.
        core.receive(T.invite(callID: "b2", branch: "z9hG4bK-b2"), from: T.caller)
        let b2 = core.takeSent().last!
        #expect(b2.destination.address.description == "127.0.0.3:5080")
        core.receive(T.reply(to: b2, 486, "Busy Here"), from: "127.0.0.3:5080")
        // 10 s after the timeout the entry is gone.
        core.advance(milliseconds: 9_900)
        _ = core.takeSent()
        core.receive(T.invite(callID: "b3", branch: "z9hG4bK-b3"), from: T.caller)
        #expect(lines(core.takeSent()).last == "INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.3:5080")
        core.advance(milliseconds: 100)
        _ = core.takeSent()
        core.receive(T.invite(callID: "b4", branch: "z9hG4bK-b4"), from: T.caller)
        #expect(lines(core.takeSent()).last == "INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080")
    }

    @Test func blst503BlocklistsTheSourceForItsRetryAfterWithinTheBounds() throws {
        let core = try core(
            "use_dst_blocklist=on",
            params: "modparam(\"tm\", \"blst_503\", 1)\nmodparam(\"tm\", \"blst_503_max_timeout\", 20)")
        core.receive(T.invite(callID: "r1", branch: "z9hG4bK-r1"), from: T.caller)
        let invite = core.takeSent().last!
        let busy = T.reply(to: invite, 503, "Service Unavailable")
            .replacingOccurrences(of: "Content-Length: 0", with: "Retry-After: 60\r\nContent-Length: 0")
        core.receive(busy, from: "127.0.0.2:5080")
        _ = core.takeSent()
        // Blocklisted (for 20 s, the maximum): without failover nothing can be sent (E_SEND).
        core.receive(T.invite(callID: "r2", branch: "z9hG4bK-r2"), from: T.caller)
        #expect(
            lines(core.takeSent()) == [
                "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070",
                "SIP/2.0 477 Unfortunately error on sending to next hop occurred (477/TM) -> 127.0.0.1:5070",
            ])
        core.advance(milliseconds: 20_100)
        _ = core.takeSent()
        core.receive(T.invite(callID: "r3", branch: "z9hG4bK-r3"), from: T.caller)
        #expect(lines(core.takeSent()).last == "INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080")
    }

    @Test func aNonInviteTimeoutDoesNotBlocklistByDefault() throws {
        let core = try core("use_dns_failover=on\nuse_dst_blocklist=on")
        let message = TMCoreFunctionTests.register()
        core.receive(message, from: T.caller)
        core.advance(milliseconds: 1_000)
        #expect(
            core.takeSent().filter { $0.firstLine.hasPrefix("MESSAGE") }.last?.destination.address.description
                == "127.0.0.3:5080")
        core.receive(TMCoreFunctionTests.register(callID: "m2", branch: "z9hG4bK-m2"), from: T.caller)
        #expect(lines(core.takeSent()).last == "MESSAGE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080")
    }

    /// The running binary: SRV records from a fake DNS server; the first target answers
    /// 503, the request goes on to the second, whose 200 reaches the caller.
    @Test func theBinaryFailsOverAlongTheSRVRecords() throws {
        let busy = UDPClient()
        let good = UDPClient()
        let dns = FakeDNSServer([
            "_sip._udp.pool.test": [
                .srv(priority: 10, weight: 0, port: busy.port, target: "one.pool.test"),
                .srv(priority: 20, weight: 0, port: good.port, target: "two.pool.test"),
            ],
            "one.pool.test": [.a("127.0.0.1")], "two.pool.test": [.a("127.0.0.1")],
        ])
        let server = try TestServer(
            config: """
                #!KAMAILIO
                debug=2
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                use_dns_failover=on
                loadmodule "tm.so"
                loadmodule "sl.so"
                request_route {
                    if (method == "ACK") { t_check_trans(); exit; }
                    $du = "sip:pool.test";
                    t_relay();
                }
                """, environment: ["SWIFTLET_DNS_SERVER": dns.address])
        let uac = UDPClient()
        let invite = [
            "INVITE sip:bob@pool.test SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-f1",
            "From: <sip:alice@example.com>;tag=f1", "To: <sip:bob@pool.test>", "Call-ID: failover-1@test",
            "CSeq: 1 INVITE", "Max-Forwards: 70", "Content-Length: 0",
        ]
        uac.send(sipRequest(invite, clientPort: uac.port), to: server.port)
        func answer(_ request: String, _ code: Int, _ reason: String) -> String {
            var out = ["SIP/2.0 \(code) \(reason)"]
            for l in replyLines(request) {
                let name = l.split(separator: ":").first.map(String.init) ?? ""
                if ["Via", "From", "Call-ID", "CSeq"].contains(name) { out.append(l) }
                if name == "To" { out.append(l + ";tag=t1") }
            }
            return out.joined(separator: "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
        }
        let first = try #require(busy.receive(timeout: 5), "nothing at the first SRV target; log: \(server.log)")
        busy.send(answer(first, 503, "Service Unavailable"), to: server.port)
        let second = try #require(good.receive(timeout: 5), "no failover; log: \(server.log)")
        #expect(replyLines(second)[0] == "INVITE sip:bob@pool.test SIP/2.0")
        good.send(answer(second, 200, "OK"), to: server.port)
        var codes: [String] = []
        while let r = uac.receive(timeout: 3) {
            codes.append(replyLines(r)[0])
            if r.hasPrefix("SIP/2.0 2") { break }
        }
        #expect(codes.last == "SIP/2.0 200 OK", "log: \(server.log)")
    }
}

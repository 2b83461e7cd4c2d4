import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `udp_standby_workers`: at low load one worker of a UDP listener receives and the others
/// wait; load, or a worker stuck in one message, brings the others in; with
/// `udp_standby_workers=0` every worker receives, as Kamailio's children do. The worker that
/// handled a request is read from the rank at the start of its log line (` 3(pid) INFO: ...`).
@Suite(.serialized) struct UDPStandbyWorkerTests {
    let http: HTTPTestServer

    init() throws { http = try HTTPTestServer() }

    func config(standby: Bool) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=3
        \(standby ? "" : "udp_standby_workers=0")
        listen=udp:127.0.0.1:PORT
        loadmodule "sl.so"
        loadmodule "xlog.so"
        loadmodule "http_client.so"
        request_route {
            if ($rU =~ "^slow") {
                http_client_query("\(http.url)/slow/$(rU{s.select,1,-})", "$var(body)");
            }
            xlog("L_INFO", "handled $ci\\n");
            sl_send_reply("200", "OK");
        }
        """
    }

    func request(user: String, callID: String, port: Int) -> String {
        sipRequest(
            [
                "OPTIONS sip:\(user)@127.0.0.1 SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:CPORT;rport;branch=z9hG4bK-\(callID)",
                "From: <sip:t@example.com>;tag=1",
                "To: <sip:\(user)@example.com>",
                "Call-ID: \(callID)",
                "CSeq: 1 OPTIONS",
                "Max-Forwards: 70",
                "Content-Length: 0",
            ], clientPort: port)
    }

    /// The rank that logged `handled <callID>` for each call ID.
    func ranks(_ log: String) -> [String: Int] {
        var result: [String: Int] = [:]
        for line in log.split(separator: "\n") {
            guard let mark = line.range(of: "handled ") else { continue }
            let callID = String(line[mark.upperBound...])
            let head = line.drop { $0 == " " }
            guard let rank = Int(head.prefix { $0.isNumber }) else { continue }
            result[callID] = rank
        }
        return result
    }

    /// Sends each request and waits for its reply before the next.
    func sendInTurn(_ ids: [String], server: TestServer, client: UDPClient) throws {
        for id in ids {
            client.send(request(user: "fast", callID: id, port: client.port), to: server.port)
            _ = try #require(client.receive(timeout: 3), "no reply to \(id); log: \(server.log.suffix(600))")
            usleep(2_000)
        }
    }

    @Test func oneWorkerReceivesAtLowLoad() throws {
        let server = try TestServer(config: config(standby: true))
        let client = UDPClient()
        let ids = (0..<30).map { "low-\($0)" }
        try sendInTurn(ids, server: server, client: client)
        #expect(server.waitForLog("handled low-29"))
        let seen = ranks(server.log)
        let workers = Set(ids.compactMap { seen[$0] })
        #expect(workers.count == 1, "ranks: \(seen)")
        #expect(server.stop() == 0)
    }

    @Test func everyWorkerReceivesWithoutStandby() throws {
        let server = try TestServer(config: config(standby: false))
        let client = UDPClient()
        let ids = (0..<30).map { "all-\($0)" }
        try sendInTurn(ids, server: server, client: client)
        #expect(server.waitForLog("handled all-29"))
        let seen = ranks(server.log)
        // The kernel wakes the worker that has waited longest: the three take turns.
        #expect(Set(ids.compactMap { seen[$0] }).count == 3, "ranks: \(seen)")
        #expect(server.stop() == 0)
    }

    @Test func aStuckWorkerBringsInAStandby() throws {
        let server = try TestServer(config: config(standby: true))
        let client = UDPClient()
        try sendInTurn(["warm"], server: server, client: client)
        client.send(request(user: "slow-800", callID: "stuck", port: client.port), to: server.port)
        usleep(50_000)
        let sent = Date()
        client.send(request(user: "fast", callID: "behind", port: client.port), to: server.port)
        let first = try #require(client.receive(timeout: 3), "no reply; log: \(server.log.suffix(600))")
        let waited = Date().timeIntervalSince(sent)
        #expect(first.contains("Call-ID: behind"), "first reply: \(first)")
        #expect(waited < 0.4, "the request behind the stuck one waited \(waited) s")
        let second = try #require(client.receive(timeout: 3))
        #expect(second.contains("Call-ID: stuck"))
        let seen = ranks(server.log)
        #expect(seen["stuck"] != nil && seen["behind"] != nil && seen["stuck"] != seen["behind"], "ranks: \(seen)")
        #expect(server.stop() == 0)
    }

    @Test func loadBringsInStandbysAndTheyLeaveAfterIt() throws {
        let server = try TestServer(config: config(standby: true))
        let client = UDPClient()
        var size: Int32 = 4 << 20
        setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        try sendInTurn(["before"], server: server, client: client)
        // 4 ms of waiting per request, one every 2.5 ms: about 1.6 workers' worth of load,
        // under the 20 ms after which a worker counts as stuck.
        let busy = (0..<240).map { "busy-\($0)" }
        for id in busy {
            client.send(request(user: "slow-4", callID: id, port: client.port), to: server.port)
            usleep(2_500)
        }
        var replies = 0
        while replies < busy.count, client.receive(timeout: 5) != nil { replies += 1 }
        #expect(replies == busy.count)
        usleep(200_000)
        let after = (0..<20).map { "after-\($0)" }
        try sendInTurn(after, server: server, client: client)
        #expect(server.waitForLog("handled after-19"))
        let seen = ranks(server.log)
        let first = try #require(seen["before"], "log: \(server.log.suffix(600))")
        #expect(Set(busy.compactMap { seen[$0] }).count >= 2, "ranks under load: \(busy.compactMap { seen[$0] })")
        // A standby still blocked in recvfrom when the load fell takes one more request.
        let tail = after.suffix(12).compactMap { seen[$0] }
        #expect(tail.count == 12 && tail.allSatisfy { $0 == first }, "ranks after the load: \(tail), first \(first)")
        #expect(server.stop() == 0)
    }
}

import Foundation
import Testing

/// `tcp_standby_workers`: a new TCP connection goes to the first `tcp_children` loop that is
/// not busy, so at low load every connection lives on one loop, and a busy loop sends new
/// connections to the next one; with `tcp_standby_workers=0` the loops take connections in
/// turn. The loop that handled a request is read from the rank at the start of its log line
/// (` 5(pid) INFO: ...`).
@Suite(.serialized) struct TCPStandbyWorkerTests {
    let http: HTTPTestServer

    init() throws { http = try HTTPTestServer() }

    func config(standby: Bool) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        tcp_children=3
        \(standby ? "" : "tcp_standby_workers=0")
        listen=udp:127.0.0.1:PORT
        listen=tcp:127.0.0.1:PORT
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
                "Via: SIP/2.0/TCP 127.0.0.1:CPORT;branch=z9hG4bK-\(callID)",
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
            let head = line.drop { $0 == " " }
            guard let rank = Int(head.prefix { $0.isNumber }) else { continue }
            result[String(line[mark.upperBound...])] = rank
        }
        return result
    }

    /// Sends one request on `client` and waits for its reply.
    func ask(_ client: TCPClient, user: String = "fast", callID: String, server: TestServer) throws {
        client.send(request(user: user, callID: callID, port: client.localPort))
        let reply = try #require(
            client.receiveMessage(timeout: 5), "no reply to \(callID); log: \(server.log.suffix(600))")
        #expect(reply.hasPrefix("SIP/2.0 200 OK"))
    }

    /// Opens `count` connections one after another, each asking once.
    func connectInTurn(_ tag: String, count: Int, server: TestServer) throws -> [TCPClient] {
        var clients: [TCPClient] = []
        for i in 0..<count {
            let client = try TCPClient(port: server.port)
            try ask(client, callID: "\(tag)-\(i)", server: server)
            clients.append(client)
            // Far apart, so that even a slow machine keeps the loop well under half busy.
            usleep(30_000)
        }
        return clients
    }

    @Test func connectionsShareOneLoopAtLowLoad() throws {
        let server = try TestServer(config: config(standby: true))
        let clients = try connectInTurn("low", count: 6, server: server)
        let seen = ranks(server.log)
        #expect(Set((0..<6).compactMap { seen["low-\($0)"] }).count == 1, "ranks: \(seen)")
        // Later requests on every connection stay on that loop.
        for (i, c) in clients.enumerated() { try ask(c, callID: "again-\(i)", server: server) }
        let again = ranks(server.log)
        #expect(Set((0..<6).compactMap { again["again-\($0)"] }) == Set([seen["low-0"] ?? -1]))
        #expect(server.stop() == 0)
    }

    @Test func connectionsTakeTheLoopsInTurnWithoutStandby() throws {
        let server = try TestServer(config: config(standby: false))
        _ = try connectInTurn("turn", count: 6, server: server)
        let seen = ranks(server.log)
        #expect(Set((0..<6).compactMap { seen["turn-\($0)"] }).count == 3, "ranks: \(seen)")
        #expect(server.stop() == 0)
    }

    @Test func aBusyLoopSendsNewConnectionsToTheNext() throws {
        let server = try TestServer(config: config(standby: true))
        let busy = try TCPClient(port: server.port)
        try ask(busy, callID: "first", server: server)
        // Keep the first loop busy for ~250 ms: 5 requests of 50 ms in turn.
        for i in 0..<5 { try ask(busy, user: "slow-50", callID: "busy-\(i)", server: server) }
        let next = try TCPClient(port: server.port)
        try ask(next, callID: "next", server: server)
        // After a quiet while, the first loop is free again and takes the next connection.
        usleep(300_000)
        try ask(busy, callID: "quiet", server: server)
        usleep(50_000)
        let later = try TCPClient(port: server.port)
        try ask(later, callID: "later", server: server)
        let seen = ranks(server.log)
        let first = try #require(seen["first"], "log: \(server.log.suffix(600))")
        #expect(seen["busy-4"] == first)
        #expect(seen["next"] != nil && seen["next"] != first, "ranks: \(seen)")
        #expect(seen["later"] == first, "ranks: \(seen)")
        #expect(server.stop() == 0)
    }
}

import Foundation
import Testing

/// http_client in the running server, driven by SIPp: replies carrying what the HTTP server
/// answered, and a flood of requests whose HTTP peer never answers (the workers block up to
/// `connection_timeout`, as Kamailio's synchronous http_client; the server must go on).
@Suite(.serialized) struct HTTPClientServerTests {
    static let config = """
        debug=2
        log_stderror=yes
        children=4
        listen=udp:127.0.0.1:PORT
        listen=udp:127.0.0.1:OPTIONSP
        loadmodule "sl.so"
        loadmodule "textops.so"
        loadmodule "http_client.so"
        modparam("http_client", "connection_timeout", 1)
        request_route {
            if ($Rp == OPTIONSP) {
                sl_send_reply("200", "OK");
                exit;
            }
            if ($rU == "http") {
                $var(rc) = http_client_query("HTTPURL/user/$fU", "$var(r)");
                append_to_reply("X-HTTP: $var(r)\\r\\nX-RC: $var(rc)\\r\\n");
                sl_send_reply("200", "OK");
                exit;
            }
            $var(rc) = http_client_query("http://127.0.0.1:HOLE/", "$var(r)");
            append_to_reply("X-RC: $var(rc)\\r\\nX-Error: $curlerror(28)\\r\\n");
            sl_send_reply("503", "HTTP peer failed");
        }
        """

    func sipp(_ scenario: String, service: String, rate: Int, calls: Int, port: Int) throws -> (SpawnedProcess, Pipe) {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: sippPath!)
        p.arguments = [
            "-sf", scenariosDirectory + "/http/\(scenario).xml", "-s", service, "-m", String(calls), "-r",
            String(rate), "-i", "127.0.0.1", "-p", String(freeUDPPort()), "-timeout", "30s", "-nostdin",
            "127.0.0.1:\(port)",
        ]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        return (p, out)
    }

    func startServer(http: HTTPTestServer, hole: BlackHoleListener, optionsPort: Int) throws -> TestServer {
        try TestServer(
            config: Self.config.replacingOccurrences(of: "OPTIONSP", with: String(optionsPort))
                .replacingOccurrences(of: "HTTPURL", with: http.url).replacingOccurrences(
                    of: "HOLE", with: String(hole.port)))
    }

    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
    func repliesCarryTheHTTPServersAnswer() throws {
        let http = try HTTPTestServer()
        let hole = try BlackHoleListener()
        let server = try startServer(http: http, hole: hole, optionsPort: freeUDPPort())
        let (p, out) = try sipp("uac", service: "http", rate: 50, calls: 100, port: server.port)
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "sipp failed: \(output.suffix(1500))")
        #expect(output.range(of: #"Successful call\s+\|\s+0\s+\|\s+100"#, options: .regularExpression) != nil)
        #expect(http.requests.filter { $0.path.hasPrefix("/user/caller") }.count == 100)
        #expect(server.stop() == 0)
    }

    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
    func aFloodAgainstADeadPeerTimesOutAndTheServerGoesOn() throws {
        let http = try HTTPTestServer()
        let hole = try BlackHoleListener()
        let optionsPort = freeUDPPort()
        let server = try startServer(http: http, hole: hole, optionsPort: optionsPort)
        let client = UDPClient()
        func request(_ user: String, _ port: Int, _ n: Int) -> String {
            sipRequest(
                [
                    "OPTIONS sip:\(user)@127.0.0.1:\(port) SIP/2.0",
                    "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-flood-\(n)",
                    "From: <sip:t@127.0.0.1>;tag=\(n)", "To: <sip:\(user)@127.0.0.1>", "Call-ID: flood-\(n)",
                    "CSeq: 1 OPTIONS", "Content-Length: 0",
                ], clientPort: client.port)
        }
        // One request first: the clear timeout, its code and text.
        let start = Date()
        client.send(request("dead", server.port, 0), to: server.port)
        let reply = try #require(client.receive(timeout: 5))
        let elapsed = Date().timeIntervalSince(start)
        let lines = replyLines(reply)
        #expect(lines.first == "SIP/2.0 503 HTTP peer failed")
        #expect(lines.contains("X-RC: 28") && lines.contains("X-Error: Timeout was reached"))
        #expect(elapsed >= 0.9 && elapsed < 3, "connection_timeout 1 s: \(elapsed)")

        // 1,000 requests a second for two seconds, each blocking a worker for a second.
        let (p, out) = try sipp("flood", service: "dead", rate: 1000, calls: 2000, port: server.port)
        usleep(500_000)
        // The other listener's workers are free: OPTIONS there are answered at once.
        for n in 1...5 {
            let t = Date()
            client.send(request("options", optionsPort, n), to: optionsPort)
            let r = client.receive(timeout: 2)
            #expect(r.map(replyLines)?.first == "SIP/2.0 200 OK", "OPTIONS \(n) during the flood")
            #expect(Date().timeIntervalSince(t) < 1)
            usleep(200_000)
        }
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "sipp: \(output.suffix(800))")
        #expect(server.waitForLog("Curl library timed out on request"))
        client.send(request("options", optionsPort, 99), to: optionsPort)
        #expect(client.receive(timeout: 2).map(replyLines)?.first == "SIP/2.0 200 OK", "still answering")
        #expect(server.stop() == 0, "a clean shutdown, no crash")
    }
}

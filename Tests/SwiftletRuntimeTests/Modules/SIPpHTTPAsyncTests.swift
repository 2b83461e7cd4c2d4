import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// http_async_client in the running server, driven by SIPp: the reply code and text of an
/// INVITE and an OPTIONS come from the HTTP answer; under load (1,000 requests/s, each
/// suspended on a query to a slow or dead HTTP peer) every transaction resumes on the
/// query's timeout and gets its reply, while requests on another route are answered at once.
@Suite(
    .serialized, .enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"),
    .enabled(if: HTTPAsyncTestServer.isAvailable, "python3 is not installed"))
struct SIPpHTTPAsyncTests {
    static func config(httpPort: Int, deadPort: Int) -> String {
        """
        #!KAMAILIO
        debug=1
        log_stderror=yes
        children=4
        listen=udp:127.0.0.1:PORT
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "http_async_client.so"
        modparam("http_async_client", "workers", 2)
        request_route {
            if ($rU == "direct") { sl_send_reply("200", "Direct"); exit; }
            if ($rU == "stats") {
                sl_send_reply("200", "requests=$stat(requests) replies=$stat(replies) errors=$stat(errors) timeouts=$stat(timeouts)");
                exit;
            }
            if (t_check_trans()) { exit; }
            t_newtran();
            switch ($rU) {
                case "accept": $var(url) = "http://127.0.0.1:\(httpPort)/status/202/Accepted%20By%20HTTP"; break;
                case "busy": $var(url) = "http://127.0.0.1:\(httpPort)/status/486/Busy%20From%20HTTP"; break;
                case "slow":
                    $var(url) = "http://127.0.0.1:\(httpPort)/slow/2000";
                    $http_req(timeout) = 3000;
                    break;
                default: $var(url) = "http://127.0.0.1:\(deadPort)/never";
            }
            http_async_query("$var(url)", "HTTP_REPLY");
            t_reply("500", "not suspended");
        }
        route[HTTP_REPLY] {
            if ($http_ok) {
                t_reply("$http_rs", "$http_rr");
            } else {
                t_reply("503", "HTTP $http_err");
            }
        }
        """
    }

    /// A listening TCP socket that never accepts: connections wait in its backlog, then SYNs
    /// are dropped (a dead HTTP peer).
    final class DeadPeer {
        let fd: Int32
        let port: Int
        init() {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = self.fd
            withUnsafeMutablePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                    _ = bind(fd, sp, len)
                    _ = getsockname(fd, sp, &len)
                }
            }
            listen(fd, 4)
            port = Int(UInt16(bigEndian: addr.sin_port))
        }
        deinit { close(fd) }
    }

    /// Starts sipp with `arguments` (output to a file of `directory`).
    static func sipp(_ arguments: [String], _ name: String, in directory: TemporaryDirectory) throws -> (
        SpawnedProcess, String
    ) {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: sippPath!)
        p.currentDirectoryURL = URL(fileURLWithPath: directory.path)
        let output = directory.write("\(name).out", "")
        p.arguments = arguments + ["-nostdin", "-timeout", "40s"]
        let out = FileHandle(forWritingAtPath: output)
        p.standardOutput = out
        p.standardError = out
        try p.run()
        return (p, output)
    }

    static func successful(_ output: String, _ calls: Int) -> Bool {
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return text.range(of: #"Successful call\s+\|\s+\d+\s+\|\s+\#(calls)\b"#, options: .regularExpression) != nil
    }

    @Test(arguments: [("options-202", "accept"), ("invite-486", "busy")])
    func replyComesFromTheHTTPAnswer(_ scenario: String, _ service: String) throws {
        let http = try HTTPAsyncTestServer()
        let dead = DeadPeer()
        let server = try TestServer(config: Self.config(httpPort: http.port, deadPort: dead.port))
        let directory = TemporaryDirectory()
        let calls = 20
        let (p, output) = try Self.sipp(
            [
                "-sf", scenariosDirectory + "/http_async/\(scenario).xml", "-s", service, "-i", "127.0.0.1", "-p",
                String(freeUDPPort()), "-m", String(calls), "-r", "20", "127.0.0.1:\(server.port)",
            ], "uac", in: directory)
        let status = p.waitForExit(timeout: 60)
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(status == 0, "sipp: \(text.suffix(1500)) server: \(server.log.suffix(1500))")
        #expect(Self.successful(output, calls))
        #expect(server.stop() == 0)
    }

    /// 2,000 requests at 1,000/s, each suspended on a query to a peer that answers after 2 s
    /// (timeout 3 s: every one resumes with `200 Slow OK`; the peer closes the connections,
    /// so that the test leaves no TIME_WAIT ports that other tests could pick) or never
    /// accepts (every one resumes after the 500 ms timeout with `503 HTTP TIMEOUT`); OPTIONS
    /// to `direct` sent meanwhile are all answered; the module's statistics count every query;
    /// the server does not crash.
    @Test(arguments: [("slow", "options-200-slow"), ("dead", "options-503")])
    func loadAgainstASlowOrDeadPeer(_ service: String, _ scenario: String) throws {
        let http = try HTTPAsyncTestServer()
        let dead = DeadPeer()
        let server = try TestServer(config: Self.config(httpPort: http.port, deadPort: dead.port))
        let directory = TemporaryDirectory()
        let calls = 2000
        let direct = 200
        let (load, loadOutput) = try Self.sipp(
            [
                "-sf", scenariosDirectory + "/http_async/\(scenario).xml", "-s", service, "-i", "127.0.0.1", "-p",
                String(freeUDPPort()), "-m", String(calls), "-r", "1000", "-l", "5000", "127.0.0.1:\(server.port)",
            ], "load", in: directory)
        let (other, otherOutput) = try Self.sipp(
            [
                "-sf", scenariosDirectory + "/options/uac.xml", "-s", "direct", "-i", "127.0.0.1", "-p",
                String(freeUDPPort()), "-m", String(direct), "-r", "100", "127.0.0.1:\(server.port)",
            ], "direct", in: directory)
        let otherStatus = other.waitForExit(timeout: 60)
        let loadStatus = load.waitForExit(timeout: 90)
        let loadText = (try? String(contentsOfFile: loadOutput, encoding: .utf8)) ?? ""
        let otherText = (try? String(contentsOfFile: otherOutput, encoding: .utf8)) ?? ""
        #expect(otherStatus == 0, "direct: \(otherText.suffix(1500))")
        #expect(Self.successful(otherOutput, direct))
        #expect(loadStatus == 0, "load: \(loadText.suffix(1500)) server: \(server.log.suffix(1500))")
        #expect(Self.successful(loadOutput, calls), "load: \(loadText.suffix(1500))")
        let client = UDPClient()
        client.send(
            [
                "OPTIONS sip:stats@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:\(client.port);branch=z9hG4bK-stats",
                "From: <sip:t@127.0.0.1>;tag=s1", "To: <sip:stats@127.0.0.1>", "Call-ID: stats-\(service)",
                "CSeq: 1 OPTIONS", "Content-Length: 0", "", "",
            ].joined(separator: "\r\n"), to: server.port)
        let stats = client.receive(timeout: 5)?.split(separator: "\r\n").first.map(String.init)
        let (replies, timeouts) = service == "slow" ? (calls, 0) : (0, calls)
        #expect(stats == "SIP/2.0 200 requests=\(calls) replies=\(replies) errors=0 timeouts=\(timeouts)")
        #expect(server.stop() == 0)
    }
}

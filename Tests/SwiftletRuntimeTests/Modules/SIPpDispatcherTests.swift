import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Dispatcher against the running server with SIPp: round robin over three SIPp UASes, one
/// killed (the failure route moves its calls on with `ds_next_dst`, `ds_mark_dst` and the
/// probes keep it down, `dispatcher:dst-down` runs) and started again (a probe brings it
/// back, `dispatcher:dst-up` runs, it gets its share again); and a target that answers the
/// probes with garbage.
@Suite(.serialized) struct SIPpDispatcherTests {
    static func config(list: String) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=2
        listen=udp:127.0.0.1:PORT
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "siputils.so"
        loadmodule "textops.so"
        loadmodule "pv.so"
        loadmodule "xlog.so"
        loadmodule "dispatcher.so"
        modparam("tm", "fr_timer", 1000)
        modparam("dispatcher", "list_file", "\(list)")
        modparam("dispatcher", "flags", 2)
        modparam("dispatcher", "ds_ping_interval", 1)
        modparam("dispatcher", "ds_probing_mode", 1)
        request_route {
            if (has_totag()) {
                if (loose_route()) { t_relay(); exit; }
                if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
                sl_send_reply("404", "Not here");
                exit;
            }
            if (is_method("INVITE")) { record_route(); }
            if (!ds_select_dst("1", "4")) { sl_send_reply("503", "No destination"); exit; }
            xlog("L_INFO", "dispatched $ci to $du\\n");
            t_on_failure("NEXT");
            t_relay();
            exit;
        }
        failure_route[NEXT] {
            if (t_is_canceled()) { exit; }
            ds_mark_dst("ip");
            if (ds_next_dst()) {
                xlog("L_INFO", "failover $ci to $du\\n");
                t_on_failure("NEXT");
                t_relay();
                exit;
            }
        }
        event_route[dispatcher:dst-down] {
            xlog("L_INFO", "dst-down $ru $xavp(_dsdst_=>uri) code=$dsv(code)\\n");
        }
        event_route[dispatcher:dst-up] {
            xlog("L_INFO", "dst-up $ru code=$dsv(code) reason=$dsv(reason)\\n");
        }
        """
    }

    /// A SIPp UAS that also answers OPTIONS (`-aa`), running until stopped.
    final class UAS {
        let port: Int
        let process = SpawnedProcess()
        let directory = TemporaryDirectory()

        init(port: Int) throws {
            self.port = port
            process.executableURL = URL(fileURLWithPath: sippPath!)
            process.currentDirectoryURL = URL(fileURLWithPath: directory.path)
            process.arguments = [
                "-sf", scenariosDirectory + "/stateful/uas.xml", "-aa", "-i", "127.0.0.1", "-p", String(port),
                "-nostdin", "-timeout", "120s",
            ]
            let out = FileHandle(forWritingAtPath: directory.write("out", ""))
            process.standardOutput = out
            process.standardError = out
            try process.run()
        }

        func kill() {
            guard process.isRunning else { return }
            Glibc.kill(process.processIdentifier, SIGKILL)
            _ = process.waitForExit(timeout: 5)
        }

        deinit { kill() }
    }

    /// Runs `calls` calls from a SIPp UAC through the server; its exit status and output.
    func calls(_ calls: Int, server: TestServer) throws -> (status: Int32, text: String) {
        let r = try SIPpParties.run(
            uases: [],
            uac: [
                "-sf", scenariosDirectory + "/stateful/uac.xml", "-i", "127.0.0.1", "-p", String(freeUDPPort()), "-m",
                String(calls), "-r", "10", "127.0.0.1:\(server.port)",
            ], timeout: 60, trace: false)
        return (r.uac.status, r.uac.text)
    }

    func count(_ log: String, _ text: String) -> Int { log.components(separatedBy: text).count - 1 }

    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
    func roundRobinFailoverAndProbing() throws {
        let ports = [freeUDPPort(), freeUDPPort(), freeUDPPort()]
        let dir = TemporaryDirectory()
        let list = dir.write("dispatcher.list", ports.map { "1 sip:127.0.0.1:\($0)\n" }.joined())
        var uases = try ports.map { try UAS(port: $0) }
        usleep(300_000)
        let server = try TestServer(config: Self.config(list: list))
        // Three UASes up: ten calls each.
        var run = try calls(30, server: server)
        #expect(run.status == 0, "UAC: \(run.text.suffix(1500)) server: \(server.log.suffix(2000))")
        var log = server.log
        for p in ports { #expect(count(log, "to sip:127.0.0.1:\(p)\n") == 10, "\(p): \(log.suffix(3000))") }
        // The second one dies: its calls time out and move on; it is marked down.
        uases[1].kill()
        run = try calls(9, server: server)
        #expect(run.status == 0, "UAC: \(run.text.suffix(1500)) server: \(server.log.suffix(2000))")
        log = server.log
        #expect(count(log, "failover ") >= 1)
        // Down through the failure route's ds_mark_dst (820) or a probe that timed out (408).
        #expect(
            log.contains(" sip:127.0.0.1:\(ports[1]) code=820")
                || log.contains("dst-down sip:127.0.0.1:\(ports[1]) <null> code=408"), "\(log.suffix(3000))")
        let before = count(log, "to sip:127.0.0.1:\(ports[1])\n")
        run = try calls(6, server: server)
        #expect(run.status == 0)
        log = server.log
        #expect(count(log, "to sip:127.0.0.1:\(ports[1])\n") == before, "the down target got no calls")
        // It comes back: a probe finds it, dst-up runs, and it takes its share again.
        uases[1] = try UAS(port: ports[1])
        #expect(
            server.waitForLog("dst-up sip:127.0.0.1:\(ports[1]) code=200 reason=OK", timeout: 10),
            "\(server.log.suffix(3000))")
        let counts = ports.map { count(server.log, "to sip:127.0.0.1:\($0)\n") }
        run = try calls(9, server: server)
        #expect(run.status == 0)
        log = server.log
        for (i, p) in ports.enumerated() { #expect(count(log, "to sip:127.0.0.1:\(p)\n") - counts[i] == 3) }
        #expect(server.stop() == 0)
        for u in uases { u.kill() }
    }

    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
    func aTargetAnsweringProbesWithGarbageGoesDown() throws {
        let garbage = UDPClient()
        let fd = garbage.fd
        let stop = DSTestFlag(false)
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            var from = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            var tv = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            while !stop.load() {
                let n = withUnsafeMutablePointer(to: &from) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, &buffer, buffer.count, 0, $0, &len)
                    }
                }
                guard n > 0 else { continue }
                let junk = Array("SIP/2.0 2OO garbage\r\n\u{1}\u{2}\r\n\r\n".utf8)
                _ = withUnsafePointer(to: &from) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, junk, junk.count, 0, $0, len) }
                }
            }
        }
        thread.start()
        defer { stop.store(true) }
        let dir = TemporaryDirectory()
        let list = dir.write("dispatcher.list", "1 sip:127.0.0.1:\(garbage.port)\n")
        let server = try TestServer(config: Self.config(list: list))
        #expect(
            server.waitForLog("dst-down sip:127.0.0.1:\(garbage.port) <null> code=408", timeout: 10),
            "\(server.log.suffix(3000))")
        #expect(server.stop() == 0)
        withExtendedLifetime(garbage) {}
    }
}

/// A flag shared with a thread.
final class DSTestFlag<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func load() -> T { lock.withLock { value } }
    func store(_ v: T) { lock.withLock { value = v } }
}

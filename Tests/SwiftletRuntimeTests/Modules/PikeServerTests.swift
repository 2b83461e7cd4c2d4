import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The stock configuration's anti-flood block in the running server: a UDP flood from one
/// loopback address is cut off by pike and banned in htable while another address is still
/// answered, `event_route[htable:mod-init]` ran before the workers, and the RPCs answer over
/// jsonrpcs. The sampling interval is a minute so that the whole flood falls in the first
/// one however loaded the machine is (Kamailio 5.6.3 answers the same 21 of 40, and 5 of 5,
/// with the stock 2 s interval and four-second latency).
@Suite struct PikeServerTests {
    /// A UDP socket bound to `ip` (any 127.x.y.z) on an ephemeral port.
    final class Source {
        let fd: Int32
        let port: Int

        init(_ ip: String) {
            fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr(ip)
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = self.fd
            withUnsafeMutablePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                    _ = bind(fd, sp, len)
                    _ = getsockname(fd, sp, &len)
                }
            }
            port = Int(UInt16(bigEndian: addr.sin_port))
        }

        deinit { close(fd) }

        func send(_ text: String, to port: Int) {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { buf in
                withUnsafePointer(to: &addr) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }

        /// The next reply, nil after `timeout` seconds.
        func receive(timeout: Double) -> String? {
            var buf = [UInt8](repeating: 0, count: 65536)
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return nil }
            let n = recv(fd, &buf, buf.count, 0)
            return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : nil
        }

        /// Replies received until `timeout` passes with none.
        func drain(timeout: Double) -> [String] {
            var replies: [String] = []
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return replies }
                let n = recv(fd, &buf, buf.count, 0)
                if n > 0 { replies.append(String(decoding: buf[0..<n], as: UTF8.self)) }
            }
        }
    }

    static let config = """
        log_stderror=yes
        debug=2
        children=2
        listen=udp:127.0.0.1:PORT
        loadmodule "jsonrpcs.so"
        loadmodule "sl.so"
        loadmodule "xlog.so"
        loadmodule "htable.so"
        loadmodule "pike.so"
        modparam("jsonrpcs", "transport", 4)
        modparam("jsonrpcs", "dgram_socket", "rpc.sock")
        modparam("pike", "sampling_time_unit", 60)
        modparam("pike", "reqs_density_per_unit", 16)
        modparam("htable", "htable", "ipban=>size=8;autoexpire=300;")
        event_route[htable:mod-init] { xlog("L_NOTICE", "htable mod-init ran\\n"); }
        request_route {
            if(src_ip!=myself) {
                if($sht(ipban=>$si)!=$null) { exit; }
                if (!pike_check_req()) {
                    xlog("L_ALERT","ALERT: pike blocking $rm from $fu (IP:$si:$sp)\\n");
                    $sht(ipban=>$si) = 1;
                    exit;
                }
            }
            sl_send_reply("200", "OK");
        }
        """

    static func options(_ n: Int, _ port: Int) -> String {
        [
            "OPTIONS sip:x@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:\(port);branch=z9hG4bK-f\(n);rport",
            "From: <sip:flood@example.org>;tag=f\(n)", "To: <sip:x@127.0.0.1>", "Call-ID: flood-\(n)-\(port)",
            "CSeq: 1 OPTIONS", "Max-Forwards: 70", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    @Test func aUDPFloodIsBlockedWhileAnotherSourceIsServed() throws {
        let dir = TemporaryDirectory()
        let server = try TestServer(config: Self.config, extraArguments: ["-Y", dir.path])
        defer { server.stop() }
        #expect(server.log.contains("htable mod-init ran"))
        // Requests one at a time (each answered or given 50 ms).
        let flooder = Source("127.0.0.5")
        var answered = 0
        for i in 0..<30 {
            flooder.send(Self.options(i, flooder.port), to: server.port)
            if let reply = flooder.receive(timeout: i < 21 ? 1 : 0.05), reply.hasPrefix("SIP/2.0 200 OK") {
                answered += 1
            }
        }
        #expect(answered == 21)
        #expect(server.waitForLog("PIKE - BLOCKing ip 127.0.0.5"))
        #expect(server.waitForLog("ALERT: pike blocking OPTIONS from sip:flood@example.org (IP:127.0.0.5:"))
        let other = Source("127.0.0.9")
        for i in 0..<5 { other.send(Self.options(100 + i, other.port), to: server.port) }
        #expect(other.drain(timeout: 1).filter { $0.hasPrefix("SIP/2.0 200 OK") }.count == 5)
        flooder.send(Self.options(99, flooder.port), to: server.port)
        #expect(flooder.drain(timeout: 0.3).isEmpty)
        let get = try runCtl(dir.path + "/rpc.sock", ["htable.get", "ipban", "s:127.0.0.5"])
        #expect(get.contains("\"value\":\t1"), "\(get)")
    }

    func runCtl(_ socket: String, _ args: [String]) throws -> String {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: productsDirectory + "/swiftletctl")
        p.arguments = ["-s", socket] + args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

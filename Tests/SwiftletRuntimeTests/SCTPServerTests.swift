import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Whether this kernel opens SCTP sockets (many containers and hardened kernels refuse them:
/// `socket(AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP)` fails with "Socket type not supported").
let kernelSCTPSupport: (supported: Bool, reason: String) = {
    let fd = socket(AF_INET, Int32(SOCK_SEQPACKET.rawValue), 132)
    if fd < 0 { return (false, String(cString: strerror(errno))) }
    close(fd)
    return (true, "")
}()

/// The running binary: the `(a, b):port` form answering on every address, the SCTP start-up
/// error when the kernel refuses SCTP, the loopback SCTP exchange when it allows it, and
/// libsctp linked by the sctp module only.
@Suite(.serialized) struct SCTPServerTests {
    /// Sends an OPTIONS over UDP to `ip:port` and returns the reply text (or "").
    private func udpOptions(to ip: String, port: Int) -> String {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let request =
            "OPTIONS sip:\(ip):\(port) SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bK-\(ip)-\(port)\r\n"
            + "From: <sip:t@test>;tag=1\r\nTo: <sip:\(ip)>\r\nCall-ID: mh-\(ip)-\(port)\r\nCSeq: 1 OPTIONS\r\n"
            + "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr(ip)
        addr.sin_port = UInt16(port).bigEndian
        _ = Array(request.utf8).withUnsafeBytes { buf in
            withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
    }

    @Test func theServerAnswersOnEveryAddressOfTheList() throws {
        let server = try TestServer(
            config: """
                debug=2
                listen=udp:(127.0.0.1, 127.0.0.2):PORT advertise 192.0.2.1:5999
                listen=tcp:(127.0.0.1, 127.0.0.2):PORT
                loadmodule "sl.so"
                request_route { sl_send_reply("200", "OK $Ri:$Rp adv $RAi:$RAp"); }
                """)
        defer { server.stop() }
        #expect(server.log.contains("udp: 127.0.0.1:\(server.port) advertise 192.0.2.1:5999"))
        #expect(server.log.contains("udp: 127.0.0.2:\(server.port) advertise 192.0.2.1:5999"))
        #expect(server.log.contains("tcp: 127.0.0.1:\(server.port)\n"))
        #expect(server.log.contains("tcp: 127.0.0.2:\(server.port)\n"))
        let one = udpOptions(to: "127.0.0.1", port: server.port)
        let two = udpOptions(to: "127.0.0.2", port: server.port)
        #expect(one.hasPrefix("SIP/2.0 200 OK 127.0.0.1:\(server.port) adv 192.0.2.1:5999\r\n"), "\(one)")
        #expect(two.hasPrefix("SIP/2.0 200 OK 127.0.0.2:\(server.port) adv 192.0.2.1:5999\r\n"), "\(two)")
    }

    @Test(.enabled(if: !kernelSCTPSupport.supported, "this kernel opens SCTP sockets: the refusal cannot be seen"))
    func startUpStopsWhenTheKernelRefusesSCTP() throws {
        let dir = TemporaryDirectory()
        let port = freeUDPPort()
        for extra in ["listen=sctp:127.0.0.1:\(port)", "listen=udp:127.0.0.1:\(port)\nenable_sctp=yes"] {
            let cfg = dir.write(
                "sctp.cfg", "\(extra)\nloadmodule \"sl.so\"\nrequest_route { sl_send_reply(\"200\", \"OK\"); }\n")
            // The start-up, and the -c check as in Kamailio.
            for check in [[], ["-c"]] {
                let r = try runSwiftlet(["-f", cfg, "-DD", "-E", "-L", productsDirectory] + check)
                #expect(r.status == 1)
                #expect(
                    r.stderr.contains(
                        "sctp enabled, but not supported by the OS (socket(AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP): "
                            + kernelSCTPSupport.reason + ")"), "\(r.stderr)")
            }
        }
    }

    @Test(.enabled(if: kernelSCTPSupport.supported, "this kernel refuses SCTP sockets (\(kernelSCTPSupport.reason))"))
    func anOptionsRequestOverLoopbackSCTP() throws {
        let server = try TestServer(
            config: """
                debug=2
                listen=udp:127.0.0.1:PORT
                listen=sctp:(127.0.0.1, 127.0.0.2):PORT
                loadmodule "sl.so"
                request_route { sl_send_reply("200", "OK $pr $Ri"); }
                """)
        defer { server.stop() }
        #expect(server.log.contains("sctp: (127.0.0.1, 127.0.0.2):\(server.port)"))
        for ip in ["127.0.0.1", "127.0.0.2"] {
            let fd = socket(AF_INET, Int32(SOCK_SEQPACKET.rawValue), 132)
            defer { close(fd) }
            var tv = timeval(tv_sec: 3, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            let request =
                "OPTIONS sip:\(ip) SIP/2.0\r\nVia: SIP/2.0/SCTP 127.0.0.1;rport;branch=z9hG4bK-sctp-\(ip)\r\n"
                + "From: <sip:t@test>;tag=1\r\nTo: <sip:x@test>\r\nCall-ID: sctp-\(ip)\r\nCSeq: 1 OPTIONS\r\n"
                + "Content-Length: 0\r\n\r\n"
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr(ip)
            addr.sin_port = UInt16(server.port).bigEndian
            let sent = Array(request.utf8).withUnsafeBytes { buf in
                withUnsafePointer(to: &addr) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            #expect(sent > 0)
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            let reply = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
            #expect(reply.hasPrefix("SIP/2.0 200 OK sctp \(ip)\r\n"), "\(reply)")
            #expect(reply.contains("Via: SIP/2.0/SCTP 127.0.0.1;rport="), "\(reply)")
            #expect(reply.contains(";branch=z9hG4bK-sctp-\(ip)"))
        }
    }

    /// libsctp is linked by the sctp module only: the server and the core library do not
    /// load it.
    @Test func onlyTheSCTPModuleLinksLibsctp() throws {
        let server = try runProgram("/usr/bin/ldd", [swiftletBinary])
        let core = try runProgram("/usr/bin/ldd", [productsDirectory + "/libSwiftletCore.so"])
        let module = try runProgram("/usr/bin/readelf", ["-d", productsDirectory + "/libsctp.so"])
        #expect(!server.stdout.isEmpty && !server.stdout.contains("libsctp"))
        #expect(!core.stdout.isEmpty && !core.stdout.contains("libsctp"))
        #expect(module.stdout.contains("Shared library: [libsctp.so.1]"))
    }
}

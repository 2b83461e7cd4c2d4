import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Kamailio's stock configuration with WITH_NAT and WITH_RTPENGINE: `swiftlet -c` accepts all
/// of nathelper and rtpengine in it (every module loads, acc and cfg_rpc too), and the running
/// server (the stock file unchanged but for its listen address) takes a REGISTER and a call from clients behind
/// NAT through a real rtpengine: the caller's Contact gets an alias, both SDPs go through the
/// engine, the BYE reaches the callee by the alias and deletes the call in the engine.
@Suite(.serialized) struct StockNATCallTests {
    static let stock = "/etc/kamailio/kamailio.cfg"
    static let ready = FileManager.default.fileExists(atPath: stock) && rtpengineDaemonPath != nil

    @Test(.enabled(if: FileManager.default.fileExists(atPath: stock), "\(stock) is not installed"))
    func stockConfigWithNATAndRtpengineUsesOnlyWhatSwiftletHas() throws {
        let r = try runSwiftlet([
            "-c", "-f", Self.stock, "-L", productsDirectory, "-A", "WITH_NAT", "-A", "WITH_RTPENGINE",
        ])
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix(Self.stock + ":") }
        #expect(errors.isEmpty, "\(r.stderr)")
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// The stock configuration on 127.0.0.1:PORT, with the engine's port.
    static func configuration(enginePort: Int) throws -> String {
        var text = try String(contentsOfFile: stock, encoding: .utf8)
        text = text.replacingOccurrences(of: "udp:127.0.0.1:2223", with: "udp:127.0.0.1:\(enginePort)")
        return text.replacingOccurrences(of: "#!KAMAILIO\n", with: "#!KAMAILIO\nlisten=udp:127.0.0.1:PORT\n")
    }

    static func sdp(_ address: String, port: Int) -> String {
        ["v=0", "o=- 7 7 IN IP4 \(address)", "s=-", "c=IN IP4 \(address)", "t=0 0", "m=audio \(port) RTP/AVP 0"]
            .joined(separator: "\r\n") + "\r\n"
    }

    static func body(_ m: ReceivedSIP) -> String { m.text.components(separatedBy: "\r\n\r\n").dropFirst().joined() }

    @Test(.enabled(if: ready, "needs \(stock) and rtpengine-daemon"))
    func registerAndCallBehindNATThroughRtpengine() throws {
        let engine = try RtpengineTestDaemon()
        defer { engine.stop() }
        let server = try TestServer(
            config: try Self.configuration(enginePort: engine.port),
            extraArguments: ["-A", "WITH_NAT", "-A", "WITH_RTPENGINE"])
        defer { server.stop() }
        let alice = SIPSocketParty(user: "alice")
        let bob = SIPSocketParty(user: "bob")
        let proxy = "127.0.0.1:\(server.port)"

        // alice registers from behind NAT (private Via and Contact).
        alice.sendRaw(
            [
                "REGISTER sip:\(proxy) SIP/2.0", "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK-reg1;rport",
                "Max-Forwards: 70", "From: <sip:alice@\(proxy)>;tag=ra", "To: <sip:alice@\(proxy)>",
                "Call-ID: reg-alice", "CSeq: 1 REGISTER", "Contact: <sip:alice@192.168.1.10:5060>", "Expires: 600",
                "Content-Length: 0",
            ], to: server.port)
        let registered = try alice.expect("SIP/2.0 200")
        #expect(registered.headers("Contact").first?.contains("sip:alice@192.168.1.10:5060") == true)

        // bob calls alice, also from behind NAT, with a private SDP address.
        let offer = Self.sdp("10.0.0.7", port: 7000)
        bob.sendRaw(
            [
                "INVITE sip:alice@\(proxy) SIP/2.0", "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-inv1;rport",
                "Max-Forwards: 70", "From: <sip:bob@\(proxy)>;tag=fb", "To: <sip:alice@\(proxy)>",
                "Call-ID: nat-call-1", "CSeq: 1 INVITE", "Contact: <sip:bob@192.168.1.20:5060>",
                "Content-Type: application/sdp", "Content-Length: \(offer.utf8.count)",
            ], body: offer, to: server.port)
        let invite = try alice.expect("INVITE ")
        #expect(invite.firstLine == "INVITE sip:alice@192.168.1.10:5060 SIP/2.0")
        #expect(invite.headers("Contact") == ["<sip:bob@192.168.1.20:5060;alias=127.0.0.1~\(bob.port)~1>"])
        #expect(invite.headers("Record-Route").first?.contains(";nat=yes") == true)
        let relayedOffer = Self.body(invite)
        #expect(
            relayedOffer.contains("c=IN IP4 127.0.0.1\r\n") && !relayedOffer.contains("10.0.0.7"), "\(relayedOffer)")

        // alice answers with her private address; bob gets the engine's.
        let answer = Self.sdp("192.168.1.10", port: 8000)
        var ok = ["SIP/2.0 200 OK"] + invite.headers("Record-Route").map { "Record-Route: \($0)" }
        ok += invite.headers("Via").map { "Via: \($0)" }
        ok += [
            "From: \(invite.headers("From")[0])", "To: \(invite.headers("To")[0]);tag=ta", "Call-ID: nat-call-1",
            "CSeq: 1 INVITE", "Contact: <sip:alice@192.168.1.10:5060>", "Content-Type: application/sdp",
            "Content-Length: \(answer.utf8.count)",
        ]
        alice.sendRaw(ok, body: answer, to: server.port)
        let answered = try bob.expect("SIP/2.0 200")
        let relayedAnswer = Self.body(answered)
        #expect(
            relayedAnswer.contains("c=IN IP4 127.0.0.1\r\n") && !relayedAnswer.contains("192.168.1.10"),
            "\(relayedAnswer)")
        let aliceContact = try #require(answered.headers("Contact").first)
        #expect(aliceContact == "<sip:alice@192.168.1.10:5060;alias=127.0.0.1~\(alice.port)~1>")
        let query = "d7:call-id10:nat-call-17:command5:querye"
        #expect(try NGTestClient(port: engine.port).command(query)?.contains("6:result2:ok") == true)

        // bob hangs up: the BYE goes to alice by her alias, and the engine forgets the call.
        let target = String(aliceContact.dropFirst().dropLast())
        let routes = answered.headers("Record-Route").reversed().map { "Route: \($0)" }
        bob.sendRaw(
            [
                "BYE \(target) SIP/2.0", "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-bye1;rport",
                "Max-Forwards: 70",
            ]
                + routes + [
                    "From: <sip:bob@\(proxy)>;tag=fb", "To: <sip:alice@\(proxy)>;tag=ta", "Call-ID: nat-call-1",
                    "CSeq: 2 BYE", "Content-Length: 0",
                ], to: server.port)
        let bye = try alice.expect("BYE ")
        #expect(bye.firstLine == "BYE sip:alice@192.168.1.10:5060 SIP/2.0")
        alice.reply(bye, "200 OK", toTag: "ta")
        _ = try bob.expect("SIP/2.0 200")
        let after = try NGTestClient(port: engine.port).command(query) ?? ""
        #expect(after.contains("Unknown call-id"), "\(after)")

        // acc (log_flag FLT_ACC, set for the INVITE and the BYE) logged both transactions
        // with the stock log_extra.
        #expect(server.waitForLog(";method=BYE;"), "\(server.log)")
        let fields =
            ";from_tag=fb;to_tag=ta;call_id=nat-call-1;code=200;reason=OK;src_user=bob;src_domain=127.0.0.1"
            + ";src_ip=127.0.0.1;dst_ouser=alice;dst_user=alice;"
        for method in ["INVITE", "BYE"] {
            #expect(
                server.log.split(separator: "\n").contains {
                    $0.contains("NOTICE: ") && $0.contains(" acc [")
                        && $0.contains("ACC: transaction answered: timestamp=")
                        && $0.contains(";method=\(method)" + fields)
                }, "\(server.log)")
        }
    }
}

extension SIPSocketParty {
    /// Sends header lines, the empty line and `body` as they are.
    func sendRaw(_ lines: [String], body: String = "", to port: Int) {
        let bytes = Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        _ = bytes.withUnsafeBytes { buf in
            withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }
}

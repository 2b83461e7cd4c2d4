import Foundation
import Testing

/// The tls module's `@tls` selects (Kamailio 5.6's tls_select.c) on the running server,
/// against openssl s_client with and without a client certificate of the test CA. The
/// expected values are what Kamailio 5.6.3 logs for the same configuration and clients.
@Suite(.serialized) struct TLSSelectTests {
    static let line = [
        "v=@tls.version", "cipher=@tls.cipher", "bits=@tls.cipher.bits", "sni=@tls.server_name",
        "peer=@tls.peer", "psubj=@tls.peer.subject", "pcn=@tls.peer.subject.cn", "pc=@tls.peer.subj.c",
        "po=@tls.peer.subject.organization", "piss=@tls.peer.issuer", "pisso=@tls.peer.issuer.o",
        "pver=@tls.peer.verified", "pexp=@tls.peer.expired", "pss=@tls.peer.self_signed",
        "pemail=@tls.peer.email", "pv=@tls.peer.version", "my=@tls.my.subject.cn", "mydns=@tls.my.dns",
        "myip=@tls.myself.ip", "myverified=@tls.my.verified", "mycn=@tls.me.subject.commonName",
        "up=@tls.Peer.SUBJECT.CN",
    ].map { $0.replacingOccurrences(of: "=@", with: "=$sel(") + ")" }.joined(separator: " ")

    static func start(_ pki: TestPKI) throws -> (TestServer, Int) {
        let tlsPort = freeStreamPort()
        let cfg = pki.directory.write("tls.cfg", TLSModuleTests.serverProfile(pki, "verify_certificate = yes"))
        let server = try TestServer(
            config: """
                log_stderror=yes
                debug=2
                enable_tls=yes
                listen=udp:127.0.0.1:PORT
                listen=tls:127.0.0.1:\(tlsPort)
                loadmodule "tls.so"
                loadmodule "sl.so"
                loadmodule "pv.so"
                loadmodule "xlog.so"
                modparam("tls", "config", "\(cfg)")
                request_route {
                    xlog("L_INFO", "SELECTS \(line) serial=$sel(tls.peer.sn) nb=$sel(tls.peer.not_before) desc=$sel(tls) END\\n");
                    if (@tls.peer.subject.cn == "alice") { xlog("L_INFO", "ALICE BY SELECT\\n"); }
                    xlog("L_INFO", "CHAIN0 $(sel(tls.peer.verified_cert_chain[0]){s.encode.base64}) END\\n");
                    xlog("L_INFO", "CHAIN1 $(sel(tls.peer.verified_cert_chain[1]){s.encode.base64}) END\\n");
                    xlog("L_INFO", "CHAIN2 $sel(tls.peer.verified_cert_chain[2]) END\\n");
                    sl_send_reply("200", "OK");
                }
                """)
        return (server, tlsPort)
    }

    @Test func selectsGiveTheConnectionsAndCertificatesFields() throws {
        let pki = try TestPKI()
        let (server, port) = try Self.start(pki)
        defer { server.stop() }
        let c = try tlsClient(port: port, pki: pki, certificate: "client", serverName: "server.test")
        defer { c.stop() }
        c.send(tlsOptions(port: port))
        #expect(c.waitFor("SIP/2.0 200 OK"), "\(c.text)\n\(server.log)")
        #expect(
            server.waitForLog(
                "SELECTS v=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 sni=server.test peer=alice psubj=alice "
                    + "pcn=alice pc=DE po=Swiftlet piss=Swiftlet Test CA pisso=Swiftlet pver=1 pexp=0 pss=0 "
                    + "pemail=alice@example.test pv=2 my=server.test mydns=server.test myip=127.0.0.1 "
                    + "myverified=<null> mycn=server.test up=alice serial="), "\(server.log)")
        #expect(server.log.contains("ALICE BY SELECT"))
        // The serial number in decimal, the validity as ASN1_TIME_print, the description.
        let selectLine = try #require(server.log.split(separator: "\n").first { $0.contains("SELECTS ") })
        let serial = selectLine.components(separatedBy: "serial=")[1].components(separatedBy: " ")[0]
        #expect(!serial.isEmpty && serial.allSatisfy(\.isNumber), "\(selectLine)")
        #expect(selectLine.contains(" GMT desc=TLS_AES_256_GCM_SHA384"), "\(selectLine)")
        // The verified chain: the client's certificate, then the CA that signed it; no third.
        func chain(_ i: Int) -> String? {
            guard server.waitForLog("CHAIN\(i) "),
                let line = server.log.split(separator: "\n").first(where: { $0.contains("CHAIN\(i) ") })
            else { return nil }
            let b64 = line.components(separatedBy: "CHAIN\(i) ")[1].components(separatedBy: " END")[0]
            return Data(base64Encoded: b64).map { String(decoding: $0, as: UTF8.self) } ?? b64
        }
        let pem = { (name: String) in (try? String(contentsOfFile: pki.file(name), encoding: .utf8)) ?? "" }
        #expect(chain(0) == pem("client.pem"), "\(server.log)")
        #expect(chain(1) == pem("ca.pem"), "\(server.log)")
        #expect(chain(2) == "<null>", "\(server.log)")
    }

    @Test func withoutClientCertificateThePeerSelectsAreNull() throws {
        let pki = try TestPKI()
        let (server, port) = try Self.start(pki)
        defer { server.stop() }
        let c = try tlsClient(port: port, pki: pki)
        defer { c.stop() }
        c.send(tlsOptions(port: port))
        #expect(c.waitFor("SIP/2.0 200 OK"), "\(c.text)\n\(server.log)")
        #expect(
            server.waitForLog(
                "sni=<null> peer=<null> psubj=<null> pcn=<null> pc=<null> po=<null> piss=<null> pisso=<null> "
                    + "pver=0 pexp=0 pss=0 pemail=<null> pv=<null> my=server.test"), "\(server.log)")
        #expect(!server.log.contains("ALICE BY SELECT"))
        // No verified chain: null (base64 of null is the empty string).
        #expect(server.waitForLog("CHAIN0  END"), "\(server.log)")
    }

    @Test func overUDPEveryTLSSelectIsNull() throws {
        let pki = try TestPKI()
        let (server, _) = try Self.start(pki)
        defer { server.stop() }
        let sock = UDPClient()
        let request = tlsOptions(port: server.port).replacingOccurrences(
            of: "SIP/2.0/TLS 127.0.0.1:5999", with: "SIP/2.0/UDP 127.0.0.1:\(sock.port)")
        sock.send(request, to: server.port)
        #expect(sock.receive(timeout: 5)?.hasPrefix("SIP/2.0 200 OK") == true)
        #expect(server.waitForLog("SELECTS v=<null> cipher=<null> bits=<null>"), "\(server.log)")
    }

    @Test func anUnknownTLSSelectStopsTheStart() throws {
        let pki = try TestPKI()
        let cfg = pki.directory.write("tls.cfg", TLSModuleTests.serverProfile(pki))
        let config = """
            enable_tls=yes
            listen=udp:127.0.0.1:PORT
            listen=tls:127.0.0.1:\(freeStreamPort())
            loadmodule "tls.so"
            loadmodule "xlog.so"
            modparam("tls", "config", "\(cfg)")
            request_route { if (@tls.peer.shoe_size == "9") { exit; } }
            """
        #expect(throws: (any Error).self) { try TestServer(config: config) }
    }
}

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// SIP over TLS with the tls module: openssl s_client and Python's ssl module as clients
/// and callee (the installed SIPp has no TLS), a generated CA, the tls.cfg profiles, client
/// certificates, the `$tls_*` variables, the RPCs and bad clients.
@Suite(.serialized) struct TLSModuleTests {
    /// A proxy with a UDP and a TLS socket: OPTIONS for itself are answered (with a log
    /// line of the `$tls_*` variables), others are record-routed and relayed statefully.
    struct Proxy {
        let server: TestServer
        let tlsPort: Int
        let rpcSocket: String
    }

    static func startProxy(_ pki: TestPKI, tlsConfig: String, relay: String = "t_relay();") throws -> Proxy {
        let tlsPort = freeStreamPort()
        let cfg = pki.directory.write("tls.cfg", tlsConfig)
        let socket = pki.path + "/rpc.sock"
        let config = """
            log_stderror=yes
            debug=2
            enable_tls=yes
            listen=udp:127.0.0.1:PORT
            listen=tls:127.0.0.1:\(tlsPort)
            loadmodule "tls.so"
            loadmodule "sl.so"
            loadmodule "tm.so"
            loadmodule "rr.so"
            loadmodule "pv.so"
            loadmodule "xlog.so"
            loadmodule "jsonrpcs.so"
            modparam("tls", "config", "\(cfg)")
            modparam("jsonrpcs", "dgram_socket", "\(socket)")
            modparam("jsonrpcs", "transport", 4)
            request_route {
                if ($rm == "OPTIONS" && $rU == "ping") {
                    xlog("L_INFO", "TLSVARS proto=$proto v=$tls_version cipher=$tls_cipher_info cn=$tls_peer_subject_cn verified=$tls_peer_verified my=$tls_my_subject_cn sni=$tls_peer_server_name email=$tls_peer_san_email issuer=$tls_peer_issuer_cn country=$tls_peer_subject_country\\n");
                    if (is_peer_verified()) { xlog("L_INFO", "PEER VERIFIED\\n"); }
                    sl_send_reply("200", "OK");
                    exit;
                }
                if (loose_route()) { t_relay(); exit; }
                if ($rm == "INVITE") { record_route(); }
                \(relay)
            }
            """
        let server = try TestServer(config: config)
        return Proxy(server: server, tlsPort: tlsPort, rpcSocket: socket)
    }

    static func serverProfile(_ pki: TestPKI, _ extra: String = "") -> String {
        """
        [server:default]
        method = TLSv1.2+
        certificate = \(pki.file("server.pem"))
        private_key = \(pki.file("server.key"))
        ca_list = \(pki.file("ca.pem"))
        \(extra)

        [client:default]
        verify_certificate = no
        """
    }

    /// Sends an OPTIONS through s_client; true when the 200 came back.
    static func options(_ proxy: Proxy, _ pki: TestPKI, certificate: String? = nil, serverName: String? = nil)
        throws -> Bool
    {
        let c = try tlsClient(port: proxy.tlsPort, pki: pki, certificate: certificate, serverName: serverName)
        defer { c.stop() }
        c.send(tlsOptions(port: proxy.tlsPort))
        return c.waitFor("SIP/2.0 200 OK", timeout: 5)
    }

    @Test func optionsOverTLSGet200WithTheConnectionsVariables() throws {
        let pki = try TestPKI()
        let p = try Self.startProxy(pki, tlsConfig: Self.serverProfile(pki, "verify_certificate = yes"))
        defer { p.server.stop() }
        let c = try tlsClient(port: p.tlsPort, pki: pki, certificate: "client")
        c.send(tlsOptions(port: p.tlsPort))
        #expect(c.waitFor("SIP/2.0 200 OK"), "\(c.text)\n\(p.server.log)")
        #expect(c.text.contains("Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-"))
        #expect(
            p.server.waitForLog(
                "TLSVARS proto=tls v=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 cn=alice verified=1 my=server.test "
                    + "sni=<null> email=alice@example.test issuer=Swiftlet Test CA country=DE"), "\(p.server.log)")
        #expect(p.server.log.contains("PEER VERIFIED"))

        // The RPCs see the open connection.
        let list = try CorexSendTests.rpc(p.rpcSocket, "tls.list")
        #expect(list.contains("\"dom\": \"TLSs<default>\""), "\(list)")
        #expect(list.contains("\"state\": \"established\""), "\(list)")
        #expect(list.contains("\"src_ip\": \"127.0.0.1\""), "\(list)")
        #expect(list.contains("\"dst_port\": \(p.tlsPort)"), "\(list)")
        let info = try CorexSendTests.rpc(p.rpcSocket, "tls.info")
        #expect(info.contains("\"opened_connections\": 1"), "\(info)")
        let options = try CorexSendTests.rpc(p.rpcSocket, "tls.options")
        #expect(options.contains("\"config\": \"\(pki.file("tls.cfg"))\""), "\(options)")
        #expect(try CorexSendTests.rpc(p.rpcSocket, "tls.reload").contains("Ok. TLS configuration reloaded."))
        c.stop()

        // Without a client certificate: served, not verified.
        #expect(try Self.options(p, pki))
        #expect(p.server.waitForLog("cn=<null> verified=0"), "\(p.server.log)")
    }

    @Test func requireCertificateRefusesClientsWithoutATrustedOne() throws {
        let pki = try TestPKI()
        let p = try Self.startProxy(
            pki, tlsConfig: Self.serverProfile(pki, "verify_certificate = yes\nrequire_certificate = yes"))
        defer { p.server.stop() }
        // A client with a trusted certificate stays connected while the others are refused.
        let good = try tlsClient(port: p.tlsPort, pki: pki, certificate: "client")
        good.send(tlsOptions(port: p.tlsPort))
        #expect(good.waitFor("SIP/2.0 200 OK"), "\(good.text)")

        #expect(!(try Self.options(p, pki)), "no certificate")
        #expect(!(try Self.options(p, pki, certificate: "mallory")), "untrusted certificate")
        #expect(p.server.waitForLog("TLS handshake failed"), "\(p.server.log)")

        // A plain-text client on the TLS port: no SIP answer, the connection closed.
        let plain = try TCPClient(port: p.tlsPort)
        plain.send(tlsOptions(port: p.tlsPort))
        #expect(Self.readsUntilClosed(plain.fd).map { !$0.contains("SIP/2.0") } == true)

        // The first client is still served on its connection, and new ones are accepted.
        good.send(tlsOptions(port: p.tlsPort, callID: "second"))
        #expect(good.waitFor("Call-ID: second"), "\(good.text)")
        #expect(try Self.options(p, pki, certificate: "client"))
        #expect(p.server.process.isRunning)
    }

    @Test func sessionsAreResumed() throws {
        let pki = try TestPKI()
        let p = try Self.startProxy(pki, tlsConfig: Self.serverProfile(pki))
        defer { p.server.stop() }
        for version in ["-tls1_3", "-tls1_2"] {
            let session = pki.path + "/session\(version).pem"
            func connect(_ sessionArgs: [String], expect: String) throws {
                let c = try InteractiveProcess(
                    "/usr/bin/openssl",
                    [
                        "s_client", version, "-connect", "127.0.0.1:\(p.tlsPort)", "-CAfile", pki.file("ca.pem"),
                        "-noservername",
                    ]
                        + sessionArgs)
                defer { c.stop() }
                #expect(c.waitFor(expect), "\(c.text)")
                usleep(300_000)  // a TLS 1.3 ticket comes after the handshake
                c.closeInput()
                #expect(c.waitForExit(timeout: 5))
            }
            try connect(["-sess_out", session], expect: "New, TLSv1.")
            try connect(["-sess_in", session], expect: "Reused, TLSv1.")
        }
    }

    @Test func aRevokedClientCertificateIsRefused() throws {
        let pki = try TestPKI()
        let p = try Self.startProxy(
            pki,
            tlsConfig: Self.serverProfile(
                pki, "verify_certificate = yes\nrequire_certificate = yes\ncrl = \(pki.file("crl.pem"))"))
        defer { p.server.stop() }
        #expect(!(try Self.options(p, pki, certificate: "revoked")))
        #expect(p.server.waitForLog("certificate revoked"), "\(p.server.log)")
        #expect(try Self.options(p, pki, certificate: "client"))
    }

    @Test func aBadProfileFileStopsTheStart() throws {
        let pki = try TestPKI()
        let cfg = pki.directory.write("bad.cfg", "[server:default]\nmethod = TLSv1.2+\nbogus = 1\n")
        let r = try runSwiftlet(
            [
                "-DD", "-E", "-L", productsDirectory, "-f",
                pki.directory.write(
                    "swiftlet.cfg",
                    "enable_tls=yes\nlisten=tls:127.0.0.1:\(freeUDPPort())\nloadmodule \"tls.so\"\n"
                        + "modparam(\"tls\", \"config\", \"\(cfg)\")\nrequest_route { drop; }\n"),
            ])
        #expect(r.status != 0)
        #expect(r.stderr.contains("\(cfg):3: unknown option 'bogus'"), "\(r.stderr)")
    }

    @Test func serverNameSelectsTheProfile() throws {
        let pki = try TestPKI()
        let other = """

            [server:any]
            server_name = other.test
            certificate = \(pki.file("other.pem"))
            private_key = \(pki.file("other.key"))
            """
        let p = try Self.startProxy(pki, tlsConfig: Self.serverProfile(pki) + other)
        defer { p.server.stop() }
        #expect(try Self.options(p, pki, serverName: "other.test"))
        #expect(p.server.waitForLog("my=other.test sni=other.test"), "\(p.server.log)")
        #expect(try Self.options(p, pki))
        #expect(p.server.waitForLog("my=server.test sni=<null>"), "\(p.server.log)")
    }

    @Test func aCallFromATLSClientReachesASIPpUASOverUDP() throws {
        guard let sippPath else { return }
        let pki = try TestPKI()
        let uasPort = freeUDPPort()
        let p = try Self.startProxy(pki, tlsConfig: Self.serverProfile(pki))
        defer { p.server.stop() }
        let uas = try InteractiveProcess(
            sippPath,
            [
                "-sf", scenariosDirectory + "/stateful/uas.xml", "-i", "127.0.0.1", "-p", String(uasPort), "-m", "1",
                "-nostdin", "-timeout", "20s",
            ])
        defer { uas.stop() }
        usleep(300_000)
        let uac = try InteractiveProcess(
            "/usr/bin/python3",
            [
                scenariosDirectory + "/tls/sip_tls_party.py", "uac", String(p.tlsPort), pki.file("ca.pem"),
                pki.file("client.pem"), pki.file("client.key"), "sip:bob@127.0.0.1:\(uasPort)",
            ])
        defer { uac.stop() }
        #expect(uac.waitFor("CALL OK", timeout: 15), "\(uac.text)\n\(p.server.log)")
        #expect(uas.waitForExit(timeout: 10))
        #expect(uas.process.terminationStatus == 0, "\(uas.text)")
    }

    @Test func requestsRelayedOverTLSShareOneConnection() throws {
        guard sippPath != nil else { return }
        let pki = try TestPKI()
        let callee = try InteractiveProcess(
            "/usr/bin/python3",
            [
                scenariosDirectory + "/tls/sip_tls_party.py", "uas", "0", pki.file("server.pem"),
                pki.file("server.key"),
            ])
        defer { callee.stop() }
        #expect(callee.waitFor("LISTENING "), "\(callee.text)")
        let calleePort = try #require(
            callee.text.split(separator: "\n").first { $0.hasPrefix("LISTENING ") }.flatMap { Int($0.dropFirst(10)) })
        let relay = """
            if ($rU == "uri") { $du = "sip:127.0.0.1:\(calleePort);transport=tls"; t_relay(); exit; }
                if ($rU == "sips") { $ru = "sips:callee@127.0.0.1:\(calleePort)"; t_relay(); exit; }
                if ($rU == "relaytotls") { t_relay_to_tls("127.0.0.1", \(calleePort)); exit; }
                sl_send_reply("404", "Not here");
            """
        let p = try Self.startProxy(pki, tlsConfig: Self.serverProfile(pki), relay: relay)
        defer { p.server.stop() }
        for (service, count) in [("uri", 2), ("sips", 1), ("relaytotls", 1)] {
            let r = try SIPpParties.run(
                uases: [],
                uac: [
                    "-sf", scenariosDirectory + "/tls/options-uac.xml", "-s", service, "-i", "127.0.0.1", "-p",
                    String(freeUDPPort()), "-m", String(count), "127.0.0.1:\(p.server.port)",
                ])
            #expect(r.uac.status == 0, "\(service): \(r.uac.summary)\n\(callee.text)\n\(p.server.log)")
        }
        let lines = callee.text.split(separator: "\n")
        #expect(lines.filter { $0 == "ACCEPTED" }.count == 1, "\(callee.text)")
        #expect(
            lines.filter { $0.hasPrefix("REQUEST OPTIONS SIP/2.0/TLS 127.0.0.1:\(p.tlsPort);branch=") }.count == 4,
            "\(callee.text)")
    }

    @Test func tlsSocketsAreIgnoredWithoutEnableTLS() throws {
        let tlsPort = freeStreamPort()
        let server = try TestServer(
            config: """
                log_stderror=yes
                listen=udp:127.0.0.1:PORT
                listen=tls:127.0.0.1:\(tlsPort)
                loadmodule "tls.so"
                request_route { drop; }
                """)
        defer { server.stop() }
        #expect(server.log.contains("listen=tls:127.0.0.1:\(tlsPort) ignored: TLS is disabled"), "\(server.log)")
        #expect(server.log.contains("tls support is disabled"))
        #expect(throws: TestFailure.self) { _ = try TCPClient(port: tlsPort) }
    }

    /// Reads until the peer closes (what it sent), or nil when it stays open for 3 s.
    static func readsUntilClosed(_ fd: Int32) -> String? {
        var got: [UInt8] = []
        let deadline = Date().addingTimeInterval(3)
        var buf = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 200) >= 0 else { return nil }
            if pfd.revents == 0 { continue }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return String(decoding: got, as: UTF8.self) }
            got += buf[0..<n]
        }
        return nil
    }
}

import Foundation
import Testing

/// SIP over WebSocket over TLS (WSS, RFC 7118) through the running binary: the python3
/// client of Tests/Fixtures/websocket with `--tls` opens a TLS connection to a `tls:`
/// listener (the tls module), upgrades it in `event_route[xhttp:request]`, and its messages
/// arrive over `wss`; a SIPp call through the stateful proxy finds it through usrloc and
/// reaches it on its connection.
@Suite(.serialized) struct WebSocketTLSServerTests {
    static func config(tlsPort: Int, tlsConfig: String, rpcSocket: String) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        tcp_children=2
        enable_tls=yes
        listen=udp:127.0.0.1:PORT
        listen=tls:127.0.0.1:\(tlsPort)
        tcp_accept_no_cl=yes
        loadmodule "tls.so"
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        loadmodule "nathelper.so"
        loadmodule "xhttp.so"
        loadmodule "websocket.so"
        loadmodule "jsonrpcs.so"
        loadmodule "xlog.so"
        loadmodule "textops.so"
        modparam("tls", "config", "\(tlsConfig)")
        modparam("registrar", "received_avp", "$avp(RECEIVED)")
        modparam("jsonrpcs", "dgram_socket", "\(rpcSocket)")
        modparam("jsonrpcs", "transport", 4)
        request_route {
            if (is_method("REGISTER")) {
                if (nat_uac_test("64")) {
                    $avp(RECEIVED) = "sip:" + $si + ":" + $sp + ";transport=ws";
                    xlog("L_INFO", "WS CLIENT proto=$proto pr=$pr conid=$ws_conid tls=$tls_version\\n");
                }
                if (proto == WSS) { xlog("L_INFO", "PROTO KEYWORD WSS\\n"); }
                save("location");
                exit;
            }
            if (!lookup("location")) {
                sl_send_reply("404", "Not Found");
                exit;
            }
            t_relay();
        }
        event_route[xhttp:request] {
            xlog("L_INFO", "HTTP over $pr\\n");
            if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {
                if (ws_handle_handshake()) {
                    exit;
                }
            }
            xhttp_reply("404", "Not Found", "text/plain", "none");
        }
        event_route[websocket:closed] {
            xlog("L_INFO", "WebSocket connection $ws_conid closed over $pr\\n");
        }
        """
    }

    @Test(.enabled(if: sippPath != nil && WebSocketServerTests.python != nil, "sipp or python3 is missing"))
    func registerOverWSSAndGetCalledOnTheConnection() throws {
        let pki = try TestPKI()
        let tlsPort = freeStreamPort()
        let rpcSocket = pki.path + "/rpc.sock"
        let tlsConfig = pki.directory.write("tls.cfg", TLSModuleTests.serverProfile(pki))
        let server = try TestServer(
            config: Self.config(tlsPort: tlsPort, tlsConfig: tlsConfig, rpcSocket: rpcSocket))
        defer { _ = server.stop() }

        let ws = try WebSocketServerTests.PythonClient([
            "--tls", pki.file("ca.pem"), "callee", "\(tlsPort)", "alice",
        ])
        let first = ws.wait(for: "READY")
        #expect(first.contains("TLS TLSv1.3"), "\(first) log: \(server.log)")
        #expect(first.contains("HANDSHAKE 101 sip"), "\(first) log: \(server.log)")
        #expect(first.contains("REGISTER 200"), "\(first) log: \(server.log)")
        #expect(server.waitForLog("HTTP over tls"), "\(server.log)")
        // The messages of the upgraded TLS connection arrive over `wss` (nat_uac_test 64 too).
        #expect(server.waitForLog("WS CLIENT proto=wss pr=wss conid="), "\(server.log)")
        #expect(server.log.contains("tls=TLSv1.3"), "\(server.log)")
        #expect(server.log.contains("PROTO KEYWORD WSS"), "\(server.log)")

        // ws.dump shows the connection as wss on the TLS listener.
        let dump = try CorexSendTests.rpc(rpcSocket, "ws.dump")
        let pattern = try Regex(
            #"[0-9]+: wss:127\.0\.0\.1:[0-9]+ -> wss:127\.0\.0\.1:"# + String(tlsPort)
                + #" \(state: OPEN,  last used [0-9]+s ago, sub-protocol: sip\)"#)
        #expect(dump.contains(pattern), "\(dump)")
        #expect(dump.contains("\"wscounter\": 1"), "\(dump)")

        // SIPp calls alice: lookup finds her WSS connection; the INVITE, ACK and BYE reach
        // her on it and her replies go back to SIPp through the transaction.
        let (uac, uacOut) = try SIPpStatelessCallTests.sipp([
            "-sn", "uac", "-s", "alice", "-i", "127.0.0.1", "-p", "\(freeUDPPort())", "-m", "1",
            "127.0.0.1:\(server.port)",
        ])
        let uacStatus = uac.waitForExit(timeout: 40)
        let uacText = String(decoding: uacOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let rest = ws.finish()
        #expect(rest.contains("INCOMING INVITE sip:alice@abcdef.invalid;transport=ws"), "\(rest) log: \(server.log)")
        // The proxy's Via names WSS and its TLS listener (Kamailio's via_builder for a
        // `ws` destination on a WSS connection).
        #expect(rest.contains("INCOMING VIA SIP/2.0/WSS 127.0.0.1:\(tlsPort);branch=z9hG4bK"), "\(rest)")
        #expect(rest.contains("INCOMING BYE"), "\(rest)")
        #expect(rest.contains("DONE INVITE"), "\(rest)")
        #expect(uacStatus == 0, "\(uacText.suffix(1500)) log: \(server.log)")
        #expect(server.waitForLog("closed over wss"), "\(server.log)")
    }
}

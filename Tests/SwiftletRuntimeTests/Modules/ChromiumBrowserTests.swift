import Foundation
import Testing

/// A real browser against the running binary: headless Chromium loads a page Swiftlet serves
/// over HTTPS (xhttp on a `tls:` listener) whose JavaScript registers over WSS with the
/// browser's own WebSocket and calls a SIPp UAS through the stateful proxy; then the ladder
/// page (the ladder module) shows that call. Chromium runs with `--ignore-certificate-errors`
/// because the server's certificate comes from a CA made for the test.
@Suite(.serialized) struct ChromiumBrowserTests {
    /// The phone page, on one line (it goes into a single-quoted string of the configuration,
    /// which takes no escapes: the page has no single quote, dollar sign or backslash).
    static func phonePage() throws -> String {
        let page = try String(contentsOfFile: HeadlessChromium.fixtures + "/phone.html", encoding: .utf8)
        guard !page.contains("'"), !page.contains("$"), !page.contains("\\") else {
            throw TestFailure("phone.html must not have ', $ or \\")
        }
        return page.replacingOccurrences(of: "\n", with: " ")
    }

    static func config(tlsPort: Int, uasPort: Int, tlsConfig: String) throws -> String {
        let page = try phonePage()
        return """
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
            loadmodule "xlog.so"
            loadmodule "textops.so"
            loadmodule "ladder.so"
            modparam("tls", "config", "\(tlsConfig)")
            modparam("registrar", "received_avp", "$avp(RECEIVED)")
            modparam("ladder", "refresh_ms", 300)
            request_route {
                if (is_method("REGISTER")) {
                    if (nat_uac_test("64")) {
                        $avp(RECEIVED) = "sip:" + $si + ":" + $sp + ";transport=ws";
                    }
                    xlog("L_INFO", "REGISTER $fU over $pr\\n");
                    save("location");
                    exit;
                }
                if ($rU == "uas") {
                    $du = "sip:127.0.0.1:\(uasPort)";
                    t_relay();
                    exit;
                }
                if (!lookup("location")) {
                    sl_send_reply("404", "Not Found");
                    exit;
                }
                t_relay();
            }
            event_route[xhttp:request] {
                if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {
                    if (ws_handle_handshake()) {
                        exit;
                    }
                }
                if (ladder_handle()) {
                    exit;
                }
                if ($(hu{url.path}) == "/phone.html") {
                    xhttp_reply("200", "OK", "text/html; charset=utf-8", '\(page)');
                    exit;
                }
                xhttp_reply("404", "Not Found", "text/plain", "none");
            }
            """
    }

    /// A server with the phone page, and a SIPp UAS for one call.
    struct Setup {
        let pki: TestPKI
        let server: TestServer
        let tlsPort: Int
        let uasPort: Int
        let uas: SpawnedProcess
        let uasOut: Pipe

        init() throws {
            pki = try TestPKI()
            tlsPort = freeStreamPort()
            uasPort = freeUDPPort()
            let tlsConfig = pki.directory.write("tls.cfg", TLSModuleTests.serverProfile(pki))
            server = try TestServer(
                config: ChromiumBrowserTests.config(tlsPort: tlsPort, uasPort: uasPort, tlsConfig: tlsConfig))
            let (process, out) = try SIPpStatelessCallTests.sipp([
                "-sn", "uas", "-i", "127.0.0.1", "-p", "\(uasPort)", "-m", "1",
            ])
            uas = process
            uasOut = out
            usleep(300_000)
        }

        /// The browser loads the phone page and makes its call: the driver's report (printed:
        /// the state, the page's log, the call's Call-ID).
        func call(screenshot: String? = nil) throws -> HeadlessChromium.Run {
            let callee = "sip:uas@127.0.0.1:\(server.port)"
            let state = #"document.getElementById("state").textContent"#
            return try HeadlessChromium.run(
                "https://127.0.0.1:\(tlsPort)/phone.html?user=alice&callee=\(callee)",
                until: #"["ended"].includes(\#(state)) || /fail|error/.test(\#(state))"#,
                print: [
                    state, #"document.getElementById("log").textContent"#,
                    #"document.getElementById("callid").textContent"#,
                ], screenshot: screenshot)
        }

        func stop() {
            if uas.isRunning { uas.terminate() }
            server.stop()
        }
    }

    @Test(
        .enabled(if: HeadlessChromium.available, "chromium, python3 or sipp is missing (apt-get install -y chromium)"))
    func browserRegistersOverWSSAndCallsASIPpUAS() throws {
        let s = try Setup()
        defer { s.stop() }
        let run = try s.call(screenshot: HeadlessChromium.artifacts + "/chromium-phone.png")
        let printed = run.printed
        #expect(run.reached, "\(run.output) log: \(s.server.log)")
        #expect(printed.first as? String == "ended", "\(run.output) log: \(s.server.log)")
        let log = printed.count > 1 ? printed[1] as? String ?? "" : ""
        #expect(log.contains("STATE open sip"), "\(log)")
        #expect(log.contains("REGISTER 200"), "\(log)")
        #expect(log.contains("RECV SIP/2.0 180 Ringing"), "\(log)")
        #expect(log.contains("INVITE 200"), "\(log)")
        #expect(log.contains("BYE 200"), "\(log)")
        // The REGISTER came over WSS from the browser; SIPp saw the whole call.
        #expect(s.server.waitForLog("REGISTER alice over wss"), "\(s.server.log)")
        #expect(
            s.uas.waitForExit(timeout: 10) == 0,
            "\(String(decoding: s.uasOut.fileHandleForReading.availableData, as: UTF8.self))")
    }

    @Test(
        .enabled(if: HeadlessChromium.available, "chromium, python3 or sipp is missing (apt-get install -y chromium)"))
    func theLadderPageShowsTheBrowsersCall() throws {
        let s = try Setup()
        defer { s.stop() }
        let call = try s.call()
        let callID = try #require(call.printed.count > 2 ? call.printed[2] as? String : nil, "\(call.output)")
        #expect(call.printed.first as? String == "ended", "\(call.output) log: \(s.server.log)")
        #expect(s.uas.waitForExit(timeout: 10) == 0)

        // The page filters on the Call-ID of the URL's fragment, selects the call, draws it.
        let labels = ##"Array.from(document.querySelectorAll("#ladder g.arrow")).map(g => g.dataset.label)"##
        let screenshot = HeadlessChromium.artifacts + "/ladder.png"
        let run = try HeadlessChromium.run(
            "https://127.0.0.1:\(s.tlsPort)/ladder/#callid=\(callID)",
            until:
                "\(labels).filter(l => l === \"BYE\").length == 2 && \(labels).filter(l => l === \"200 OK\").length >= 4",
            print: [
                labels,
                ##"Array.from(document.querySelectorAll("#calls tr.call")).map(r => r.dataset.callid)"##,
                ##"Array.from(document.querySelectorAll("#ladder text.party")).map(t => t.textContent)"##,
                #"document.getElementById("title").textContent"#,
                // A click on the first arrow shows the whole message.
                ##"(() => { document.querySelector("#ladder g.arrow").dispatchEvent(new MouseEvent("click", {bubbles: true})); return document.getElementById("message").textContent; })()"##,
            ], screenshot: screenshot)
        #expect(run.reached, "\(run.output) log: \(s.server.log)")
        let printed = run.printed
        try #require(printed.count == 5, "\(run.output)")
        let drawn = printed[0] as? [String] ?? []
        // Each message twice: browser -> proxy -> SIPp and back (the 100 Trying only once).
        for label in ["INVITE", "180 Ringing", "ACK", "BYE"] {
            #expect(drawn.filter { $0 == label }.count == 2, "\(label) in \(drawn)")
        }
        #expect(drawn.filter { $0 == "200 OK" }.count == 4, "\(drawn)")
        #expect(drawn.first == "INVITE", "\(drawn)")
        // The proxy's INVITE is drawn before SIPp's answers to it, even when the 180 was
        // received before the INVITE's write was recorded.
        let secondInvite = drawn.indices.filter { drawn[$0] == "INVITE" }.last ?? 0
        #expect(secondInvite < (drawn.firstIndex(of: "180 Ringing") ?? 0), "\(drawn)")
        #expect(printed[1] as? [String] == [callID], "\(printed[1])")
        let parties = printed[2] as? [String] ?? []
        #expect(parties.contains("127.0.0.1:\(s.tlsPort)"), "\(parties)")
        #expect(parties.contains("127.0.0.1:\(s.server.port)"), "\(parties)")
        #expect(parties.contains("127.0.0.1:\(s.uasPort)"), "\(parties)")
        // The replies on the browser's connection go to the browser (not to its Via's 5060).
        #expect(parties.count == 4, "\(parties)")
        #expect(printed[3] as? String == "Call-ID \(callID)")
        let message = printed[4] as? String ?? ""
        #expect(message.contains("INVITE sip:uas@127.0.0.1:\(s.server.port) SIP/2.0"), "\(message)")
        #expect(message.contains("Call-ID: \(callID)"), "\(message)")
        #expect(message.contains(" wss"), "\(message)")
        #expect(run.output.contains("SCREENSHOT \(screenshot)"))
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
    }
}

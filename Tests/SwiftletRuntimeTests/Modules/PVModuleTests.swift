import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// The pv module and pseudo-variables used from whole configurations: assignments compiled
/// by the script compiler, the pv functions, `$shv` across threads, start-up errors with
/// their positions, and an end-to-end run of the server binary.
///
/// Serialized: configurations are loaded in this process (one process-wide PV registry and
/// log set-up). This is the only suite that loads configurations in-process.
@Suite(.serialized) struct PVModuleTests {
    func load(_ text: String, file: String = "pvtest.cfg") throws -> LoadedConfiguration {
        var o = CommandLineOptions()
        o.modulePath = productsDirectory
        o.logToStderr = true
        return try ConfigurationLoader.load(text: text, file: file, options: o)
    }

    /// Runs the request route on `pvTestRequest`; returns the message context.
    @discardableResult
    func run(_ loaded: LoadedConfiguration) throws -> MessageContext {
        let ctx = try PVFixture().ctx
        loaded.script.runRequestRoute(ctx)
        return ctx
    }

    func value(_ pv: String, _ ctx: MessageContext) throws -> PVValue? {
        try PseudoVariableRegistry.shared.compile(pv).value(ctx)
    }

    /// The errors of a configuration that does not load, as printed (`file:line:col: error: ...`).
    func errors(_ text: String) throws -> [String] {
        do {
            _ = try load(text)
            return []
        } catch let e as ConfigLoadError {
            return e.rendered.split(separator: "\n").filter { $0.hasPrefix("pvtest.cfg:") }.map(String.init)
        }
    }

    @Test func assignmentsAndTransformationsRunInTheScript() throws {
        let loaded = try load(
            """
            loadmodule "xlog.so"
            request_route {
                $var(user) = $(ru{uri.user}{s.toupper});
                $var(n) = $(fu{uri.user}{s.len}) + 10;
                $avp(dst) = "sip:a.example";
                $avp(dst) = "sip:b.example";
                $xavp(gw=>addr) = "10.0.0.1";
                $xavp(gw[0]=>port) = 5080;
                if ($(ru{uri.param,transport}) == "tcp" && $(avp(dst)[1]) =~ "^sip:a") {
                    $rU = "bob";
                    $rp = 5090;
                    $du = $avp(dst);
                }
                $var(nothing) = $null;
                $vn(none) = $null;
                $var(sum) = 1;
                $var(sum) += 2;
                $var(failed) = "kept";
                $var(msg) = "u=" + $var(user) + " n=" + $var(n);
            }
            """)
        let ctx = try run(loaded)
        #expect(try value("$var(user)", ctx) == .string("ALICE"))
        #expect(try value("$var(n)", ctx) == .int(15))
        #expect(ctx.newRequestURI == "sip:bob:pw@example.com:5090;transport=tcp;lr;x=1?h=v")
        #expect(try value("$ru", ctx) == .string("sip:bob:pw@example.com:5090;transport=tcp;lr;x=1?h=v"))
        #expect(ctx.destinationURI == "sip:b.example")
        #expect(ctx.avps["dst"] == [.string("sip:b.example"), .string("sip:a.example")])
        #expect(try value("$xavp(gw=>port)", ctx) == .int(5080))
        #expect(try value("$var(nothing)", ctx) == .int(0))
        #expect(try value("$vn(none)", ctx) == .null)
        #expect(try value("$var(sum)", ctx) == .int(3))
        #expect(try value("$var(msg)", ctx) == .string("u=ALICE n=15"))
        // The next message on this thread sees $var as left, but not the AVPs.
        let next = try PVFixture().ctx
        #expect(try value("$var(user)", next) == .string("ALICE"))
        #expect(try value("$avp(dst)", next) == .null)
    }

    /// The truth table printed by Kamailio 5.6.3 for the same calls (F1..F9).
    @Test func pvFunctionsAndParameters() throws {
        let loaded = try load(
            """
            loadmodule "pv.so"
            modparam("pv", "shvset", "init=i:42")
            modparam("pv", "shvset", "banner=s:Swiftlet")
            modparam("pv", "varset", "vinit=s:hello")
            request_route {
                $var(i) = 5; $var(s) = "5"; $var(e) = "";
                $var(r) = "";
                if (pv_isset("$avp(nosuch)")) { $var(r) = $var(r) + "F1=set "; } else { $var(r) = $var(r) + "F1=unset "; }
                if (pv_isset($var(i))) { $var(r) = $var(r) + "F2=set "; } else { $var(r) = $var(r) + "F2=unset "; }
                if (is_int("$var(i)")) { $var(r) = $var(r) + "F3=int "; } else { $var(r) = $var(r) + "F3=notint "; }
                if (is_int("$var(s)")) { $var(r) = $var(r) + "F4=int "; } else { $var(r) = $var(r) + "F4=notint "; }
                if (typeof("$var(s)", "str")) { $var(r) = $var(r) + "F5=str "; } else { $var(r) = $var(r) + "F5=notstr "; }
                if (typeof("$avp(nosuch)", "null")) { $var(r) = $var(r) + "F6=null "; } else { $var(r) = $var(r) + "F6=notnull "; }
                if (not_empty("$var(s)")) { $var(r) = $var(r) + "F7=ne "; } else { $var(r) = $var(r) + "F7=e "; }
                if (not_empty("$var(e)")) { $var(r) = $var(r) + "F8=ne "; } else { $var(r) = $var(r) + "F8=e "; }
                if (not_empty("$var(i)")) { $var(r) = $var(r) + "F9=ne"; } else { $var(r) = $var(r) + "F9=e"; }
                $shv(a) = 5; $shv(a) = $null;
                $shv(b) = "x"; pv_unset("$shv(b)");
                $avp(x) = 1; $avp(x) = 2; pv_unset("$avp(x)");
                $du = "sip:d.example"; pv_unset("$du");
            }
            """)
        let ctx = try run(loaded)
        #expect(try value("$var(r)", ctx) == .string("F1=unset F2=set F3=int F4=notint F5=str F6=null F7=ne F8=e F9=e"))
        #expect(try value("$shv(a)", ctx) == .string(""))  // Kamailio: S1=[]
        #expect(try value("$shv(b)", ctx) == .int(0))  // Kamailio: S3=[0]
        #expect(try value("$shv(init)", ctx) == .int(42))
        #expect(try value("$shv(banner)", ctx) == .string("Swiftlet"))
        #expect(try value("$shv(never)", ctx) == .int(0))
        #expect(try value("$var(vinit)", ctx) == .string("hello"))
        #expect(ctx.avps["x"] == [.int(1)])
        #expect(ctx.destinationURI == nil)
    }

    @Test func sharedVariablesAreSharedAndVarIsNot() throws {
        let loaded = try load(
            """
            loadmodule "pv.so"
            request_route {
                $shv(last) = $var(name);
                $var(count) = $var(count) + 1;
            }
            """)
        let setName = try PseudoVariableRegistry.shared.compile("$var(name)")
        let count = try PseudoVariableRegistry.shared.compile("$var(count)")
        let last = try PseudoVariableRegistry.shared.compile("$shv(last)")
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var counts: [PVValue] = []
            let script: CompiledScript
            let setName: PseudoVariable
            let count: PseudoVariable
            init(_ script: CompiledScript, _ setName: PseudoVariable, _ count: PseudoVariable) {
                self.script = script
                self.setName = setName
                self.count = count
            }
        }
        let results = Results(loaded.script, setName, count)
        let group = DispatchGroup()
        for t in 0..<4 {
            group.enter()
            Thread {
                for _ in 0..<250 {
                    guard let ctx = try? PVFixture().ctx else { continue }
                    _ = results.setName.set?(ctx, .string("t\(t)"))
                    results.script.runRequestRoute(ctx)
                }
                let ctx = try! PVFixture().ctx
                results.lock.lock()
                results.counts.append(results.count.get(ctx))
                results.lock.unlock()
                group.leave()
            }.start()
        }
        group.wait()
        // Each thread counted only its own messages; $shv holds what one of them wrote last.
        #expect(results.counts == [.int(250), .int(250), .int(250), .int(250)])
        let ctx = try PVFixture().ctx
        #expect(["t0", "t1", "t2", "t3"].map(PVValue.string).contains(last.get(ctx)))
    }

    @Test func startUpErrorsNameFileLineAndColumn() throws {
        let errs = try errors(
            """
            loadmodule "xlog.so"
            loadmodule "sl.so"
            request_route {
                xlog("L_INFO", "$(ru{s.foo})\\n");
                $var(x) = $(ru{s.substr,1});
                if ($(fu{uri.nope}) == "") { exit; }
                sl_send_reply("200", "$(var(x){sql.val.bad})");
                $rm = "INVITE";
                $shv(x) = 1;
                $var(y) = $(avp(a)[zz]);
            }
            """)
        #expect(
            errs == [
                "pvtest.cfg:4:20: error: xlog: unknown transformation '{s.foo}' in '$(ru{s.foo})'",
                "pvtest.cfg:5:15: error: missing length in transformation '{s.substr,1}' of '$(ru{s.substr,1})'",
                "pvtest.cfg:6:9: error: unknown transformation '{uri.nope}' in '$(fu{uri.nope})'",
                "pvtest.cfg:7:26: error: sl_send_reply: unknown transformation '{sql.val.bad}' in '$(var(x){sql.val.bad})'",
                "pvtest.cfg:8:5: error: pseudo-variable $rm is read-only",
                "pvtest.cfg:9:5: error: unknown pseudo-variable '$shv(x)': it belongs to module 'pv', which is not loaded",
                "pvtest.cfg:10:15: error: invalid index [zz]",
            ])
        let bad = try errors(
            """
            loadmodule "pv.so"
            modparam("pv", "shvset", "nope")
            modparam("pv", "varset", "x=i:abc")
            request_route { pv_unset("$rm"); is_int("novar"); }
            """)
        #expect(
            bad == [
                "pvtest.cfg:2:26: error: modparam \"pv\" \"shvset\": invalid value \"nope\": expected name=i:number or name=s:text",
                "pvtest.cfg:3:26: error: modparam \"pv\" \"varset\": invalid integer in \"x=i:abc\"",
                "pvtest.cfg:4:26: error: pv_unset: pseudo-variable $rm is read-only",
                "pvtest.cfg:4:41: error: is_int: a pseudo-variable is required here, not \"novar\"",
            ])
    }

    @Test func theBinaryReportsTransformationErrors() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write(
            "tr.cfg",
            "loadmodule \"xlog.so\"\nrequest_route {\n    xlog(\"L_INFO\", \"$(rU{s.nosuch})\");\n}\n")
        let r = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory])
        #expect(r.status == 1)
        #expect(
            r.stderr.hasPrefix("\(cfg):3:20: error: xlog: unknown transformation '{s.nosuch}' in '$(rU{s.nosuch})'\n"))
    }

    /// The server binary, over UDP: PVs and transformations in xlog and in sl_send_reply's
    /// reason; `$var` keeps its value from one message to the next in the worker, `$shv` too.
    @Test func endToEndOverUDP() throws {
        let server = try TestServer(
            config: """
                debug=2
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "pv.so"
                loadmodule "sl.so"
                loadmodule "xlog.so"
                modparam("pv", "shvset", "hits=i:100")
                request_route {
                    $var(count) = $var(count) + 1;
                    $shv(hits) = $shv(hits) + 1;
                    $avp(tag) = $(ft{s.toupper});
                    $var(who) = $(hdr(From){tobody.display}{s.unquote});
                    xlog("L_INFO", "pv-test n=$var(count) hits=$shv(hits) user=$(ru{uri.user}{s.toupper}) cid=$(ci{s.select,0,@}) tag=$avp(tag) md5=$(var(who){s.md5})\\n");
                    if ($(ru{uri.param,transport}) != "udp") {
                        sl_send_reply("403", "No $(ru{uri.param,transport}{s.toupper}) for $var(who) #$var(count)");
                        exit;
                    }
                    sl_send_reply("200", "OK $(var(who){s.tolower}) $(rU{s.len})");
                }
                """)
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(callID: "first@host"), clientPort: client.port), to: server.port)
        let reply1 = try #require(client.receive(), "no reply; log: \(server.log)")
        #expect(replyLines(reply1)[0] == "SIP/2.0 200 OK alice a 5")
        var second = optionsRequest(callID: "second@host")
        second[0] = "OPTIONS sip:carol@127.0.0.1;transport=tcp SIP/2.0"
        client.send(sipRequest(second, clientPort: client.port), to: server.port)
        let reply2 = try #require(client.receive(), "no reply; log: \(server.log)")
        #expect(replyLines(reply2)[0] == "SIP/2.0 403 No TCP for Alice A #2")
        #expect(
            server.waitForLog(
                "INFO: <script>: pv-test n=1 hits=101 user=ALICE cid=first tag=ABC md5=\(MD5.hex(Array("Alice A".utf8)))\n"
            ),
            "\(server.log)")
        #expect(
            server.waitForLog("INFO: <script>: pv-test n=2 hits=102 user=CAROL cid=second tag=ABC md5="),
            "\(server.log)")
        #expect(server.stop() == 0)
    }
}

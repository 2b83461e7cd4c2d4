import Foundation
import Testing

@Suite struct StartupTests {
    @Test func versionAndHelp() throws {
        let v = try runSwiftlet(["-V"])
        #expect(v.status == 0)
        #expect(v.stdout.hasPrefix("version: swiftlet 0.1.0 (x86_64/linux)\nmodule ABI: 2\n"))
        let h = try runSwiftlet(["-h"])
        #expect(h.status == 0)
        #expect(h.stdout.contains("-f file"))
        let bad = try runSwiftlet(["-Z"])
        #expect(bad.status == 1)
        #expect(bad.stderr == "swiftlet: unknown option -Z (see -h)\n")
    }

    @Test func checkModeAcceptsTheDefaultConfig() throws {
        let cfg = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("etc/swiftlet.cfg").path
        let r = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.hasSuffix("config file ok, exiting...\n"))
    }

    @Test func everyConfigErrorIsReportedWithItsPosition() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write(
            "bad.cfg",
            """
            debug=2
            log_stderror=yes
            no_such_param=1
            loadmodule "sl.so"
            loadmodule "nosuch.so"
            modparam("sl", "no_param", 1)
            request_route {
                foo_bar(1);
                sl_send_reply("200");
                sl_send_reply("999", "x");
                route(MISSING);
                if ($nosuchpv == 1) { exit; }
            }
            """)
        let r = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory])
        #expect(r.status == 1)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix(cfg) }
        #expect(
            errors
                == [
                    "\(cfg):3:1: error: unknown global parameter 'no_such_param' (unknown config variable)",
                    "\(cfg):5:1: error: could not find module <nosuch> in <\(productsDirectory)> (failed to load module; -dd lists the files tried)",
                    "\(cfg):6:1: error: module 'sl' has no parameter 'no_param'",
                    "\(cfg):8:5: error: unknown function 'foo_bar': no loaded module exports it (unknown command, missing loadmodule?)",
                    "\(cfg):9:5: error: function 'sl_send_reply' takes 2 parameter(s), 1 given",
                    "\(cfg):10:19: error: sl_send_reply: invalid reply code 999 (must be 100-699)",
                    "\(cfg):11:5: error: route 'MISSING' is not defined",
                    "\(cfg):12:9: error: unknown pseudo-variable '$nosuchpv'",
                ].map { Substring($0) })
        // The source line (indented by 4) and a caret under column 19.
        #expect(
            r.stderr.contains(
                "\n        sl_send_reply(\"999\", \"x\");\n" + String(repeating: " ", count: 4 + 18) + "^\n"))
        #expect(r.stderr.hasSuffix("ERROR: bad config file (8 errors)\n"))
    }

    /// Every global parameter of Kamailio 5.6 loads; one without effect is warned about once,
    /// `fork=yes` (what Swiftlet does anyway) not at all.
    @Test func kamailioGlobalsLoadWithOneWarningEach() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write(
            "globals.cfg",
            """
            fork=yes
            open_files_limit=4096
            pv_buffer_size=8192
            tcp_reuse_port=yes
            mlock_pages=yes
            shm_force_alloc=yes
            maxbuffer=65536
            rt_prio=0
            maxbuffer=131072
            loadmodule "sl.so"
            request_route { exit; }
            """)
        let r = try runSwiftlet(["-c", "-E", "-f", cfg, "-L", productsDirectory])
        #expect(r.status == 0, "\(r.stderr)")
        let warned = r.stderr.split(separator: "\n").compactMap { line -> String? in
            guard let at = line.range(of: "\(cfg):") else { return nil }
            return String(line[at.lowerBound...])
        }
        let ignored = "has no effect in Swiftlet and is ignored"
        #expect(
            warned == [
                "\(cfg):3:1: global parameter 'pv_buffer_size' \(ignored)",
                "\(cfg):4:1: global parameter 'tcp_reuse_port' \(ignored)",
                "\(cfg):5:1: global parameter 'mlock_pages' \(ignored)",
                "\(cfg):6:1: global parameter 'shm_force_alloc' \(ignored)",
                "\(cfg):7:1: global parameter 'maxbuffer' \(ignored)",
                "\(cfg):8:1: global parameter 'rt_prio' \(ignored)",
            ])
    }

    /// `open_files_limit` above the current limit raises the running server's descriptor
    /// limit, as Kamailio's `increase_open_fds`; where the system refuses (past the hard limit
    /// without the privilege), start-up stops with Kamailio's message.
    @Test func openFilesLimitRaisesTheDescriptorLimit() throws {
        var lim = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
        let target = Int(lim.rlim_cur) + 1000
        let config = """
            open_files_limit=\(target)
            listen=udp:127.0.0.1:PORT
            loadmodule "sl.so"
            request_route { sl_send_reply("200", "OK"); }
            """
        // Whether this machine lets a process go there (past the hard limit that needs
        // CAP_SYS_RESOURCE and fs.nr_open): the test process tries on itself.
        var probe = rlimit(rlim_cur: rlim_t(target), rlim_max: max(lim.rlim_max, rlim_t(target)))
        let allowed = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &probe) == 0
        if allowed {
            let server = try TestServer(config: config)
            let limits = try String(
                contentsOfFile: "/proc/\(server.process.processIdentifier)/limits", encoding: .utf8)
            let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            #expect(fields[3] == "\(target)", "\(line)")
        } else {
            let dir = TemporaryDirectory()
            let cfg = dir.write("over.cfg", config.replacingOccurrences(of: "PORT", with: "\(freeUDPPort())"))
            let r = try runSwiftlet(["-DD", "-E", "-f", cfg, "-L", productsDirectory])
            #expect(r.status != 0)
            #expect(r.stderr.contains("error could not increase file limits"), "\(r.stderr)")
        }
    }

    /// A missing module is one short line; `-dd` adds the files tried. A Kamailio C module
    /// found on mpath is named as such instead of a bare `undefined symbol`.
    @Test func missingAndKamailioModulesAreNamedPlainly() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write("missing.cfg", "loadmodule \"nosuch.so\"\nrequest_route { exit; }\n")
        let plain = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory])
        #expect(plain.status == 1)
        #expect(
            plain.stderr.contains(
                "\(cfg):1:1: error: could not find module <nosuch> in <\(productsDirectory)> (failed to load module; -dd lists the files tried)\n"
            ))
        let verbose = try runSwiftlet(["-c", "-dd", "-f", cfg, "-L", productsDirectory])
        #expect(
            verbose.stderr.contains(
                "\(cfg):1:1: error: could not find module <nosuch> in <\(productsDirectory)> (failed to load module; tried \(productsDirectory)/nosuch.so, \(productsDirectory)/libnosuch.so, \(productsDirectory)/nosuch/nosuch.so)\n"
            ))
        let kamailioModules = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
        guard FileManager.default.fileExists(atPath: "\(kamailioModules)/sl.so") else { return }
        let kcfg = dir.write("kamailio-module.cfg", "loadmodule \"sl.so\"\nrequest_route { exit; }\n")
        let k = try runSwiftlet(["-c", "-f", kcfg, "-L", kamailioModules])
        #expect(k.status == 1)
        #expect(
            k.stderr.contains(
                "\(kcfg):1:1: error: \(kamailioModules)/sl.so is a Kamailio module, not a Swiftlet one (it needs Kamailio's core symbol 'log_stderr'); Swiftlet loads only modules built with its SDK: check mpath\n"
            ), "\(k.stderr)")
    }

    /// `-c` resolves the sockets and prints Kamailio's summary: an interface name (`lo`) stands
    /// for its addresses, `-l` takes `/advertised:port`; an address of another host fails it.
    @Test func checkModeResolvesAndListsTheSockets() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write(
            "listen.cfg",
            """
            listen=udp:lo:5099
            listen=tcp:127.0.0.1:5098
            loadmodule "sl.so"
            request_route { exit; }
            """)
        let r = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory, "-l", "udp:127.0.0.1:5097/192.0.2.7:5000"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.hasSuffix("config file ok, exiting...\n"))
        #expect(
            r.stdout.hasPrefix(
                """
                Listening on 
                             udp: 127.0.0.1:5099
                             tcp: 127.0.0.1:5098
                             udp: 127.0.0.1:5097 advertise 192.0.2.7:5000
                Aliases: 

                """), "\(r.stdout)")

        let foreign = dir.write("foreign.cfg", "listen=udp:192.0.2.55:5060\nrequest_route { exit; }\n")
        let bad = try runSwiftlet(["-c", "-f", foreign, "-L", productsDirectory])
        #expect(bad.status == 1)
        #expect(
            bad.stderr.contains("swiftlet: cannot listen on udp:192.0.2.55:5060: Cannot assign requested address\n"))
        #expect(!bad.stderr.contains("config file ok"))
    }

    /// Kamailio's command-line options: `--loadmodule` (before the configuration's modules),
    /// `--modparam` (after its modparams), `--subst`, `--alias`; the ones without effect here
    /// are accepted and named once in the log; `-I` prints the build's flags.
    @Test func kamailioCommandLineOptions() throws {
        let server = try TestServer(
            config: """
                log_stderror=yes
                debug=2
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                request_route {
                    xlog("L_INFO", "GREETING from the command line ($ru)\\n");
                    if (uri == myself) { sl_send_reply("200", "mine"); } else { sl_send_reply("404", "other"); }
                }
                """,
            extraArguments: [
                "--loadmodule=xlog.so", "--modparam=xlog:prefix:s:cli> ", "--subst=/GREETING/hello/",
                "--alias=udp:example.net:5060", "-a", "no", "-K", "-b", "1000", "-r", "-W", "epoll_lt",
                "--server-id=3", "--atexit=no",
            ])
        let client = UDPClient()
        var request = optionsRequest()
        request[0] = "OPTIONS sip:bob@example.net:5060 SIP/2.0"
        client.send(sipRequest(request, clientPort: client.port), to: server.port)
        let reply = try #require(client.receive(), "no reply; log: \(server.log)")
        #expect(reply.hasPrefix("SIP/2.0 200 mine\r\n"), "--alias makes example.net:5060 myself")
        #expect(server.waitForLog("cli> hello from the command line (sip:bob@example.net:5060)"))
        #expect(
            server.log.contains(
                "command-line options without effect in Swiftlet: -b -r -W --server-id --atexit"))
        #expect(server.stop() == 0)

        let flags = try runSwiftlet(["-I"])
        #expect(flags.status == 0)
        #expect(flags.stdout.hasPrefix("version: swiftlet 0.1.0 (x86_64/linux)\nflags: USE_TCP"))
        let badModparam = try runSwiftlet(["-c", "--modparam=xlog:buf_size:q:1", "-f", "/dev/null"])
        #expect(badModparam.status == 1)
        #expect(badModparam.stderr.contains("the type must be 's' (string) or 'i' (integer)"))
    }

    @Test func aSyntaxErrorStopsStartUp() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write(
            "syntax.cfg", "loadmodule \"sl.so\"\nrequest_route {\n    sl_send_reply(\"200\", \"OK\")\n}\n")
        let r = try runSwiftlet(["-f", cfg, "-DD", "-E", "-L", productsDirectory])
        #expect(r.status == 1)
        #expect(
            r.stderr.hasPrefix(
                "\(cfg):3:31: error: expected ';' after the statement, found '}' (bad command: missing ';'?)\n"))
    }

    @Test func aModuleBuiltForAnotherCoreIsRefusedNamingBothVersions() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write("abi.cfg", "loadmodule \"swiftlet_test_abi_mismatch.so\"\nrequest_route { exit; }\n")
        let r = try runSwiftlet(["-f", cfg, "-DD", "-E", "-L", productsDirectory])
        #expect(r.status == 1)
        #expect(
            r.stderr.contains(
                "\(cfg):1:1: error: module 'swiftlet_test_abi_mismatch.so' (\(productsDirectory)/libswiftlet_test_abi_mismatch.so) was built for module ABI 100, core 9.9.9; this core is swiftlet 0.1.0 with module ABI 2"
            ))
    }

    /// Same ABI version and release, other sources: refused with both signatures, not run.
    @Test func aModuleBuiltAgainstOtherSourcesIsRefused() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write("stale.cfg", "loadmodule \"swiftlet_test_stale_module.so\"\nrequest_route { exit; }\n")
        let r = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory])
        #expect(r.status == 1)
        #expect(
            r.stderr.contains(
                "\(cfg):1:1: error: module 'swiftlet_test_stale_module' (\(productsDirectory)/libswiftlet_test_stale_module.so) was built against other SwiftletCore sources (signature 0123456789abcdef); this core has signature \(sdkSignature()): rebuild the module"
            ))
    }

    /// The signature in the ABI header matches the module-facing sources (else modules built
    /// before a change could load and crash on a changed layout).
    @Test func theABISignatureIsCurrent() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/abi-signature.sh").path
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script, "--check"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        p.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 0, "\(message)")
    }

    @Test func aMissingConfigFileIsReported() throws {
        let r = try runSwiftlet(["-f", "/nonexistent/x.cfg"])
        #expect(r.status == 1)
        #expect(r.stderr == "swiftlet: cannot read config file /nonexistent/x.cfg: No such file or directory\n")
    }

    @Test func aBusyPortIsReported() throws {
        let holder = UDPClient()
        let dir = TemporaryDirectory()
        let cfg = dir.write(
            "busy.cfg",
            "log_stderror=yes\nlisten=udp:127.0.0.1:\(holder.port)\nloadmodule \"sl.so\"\nrequest_route { exit; }\n")
        let r = try runSwiftlet(["-f", cfg, "-DD", "-L", productsDirectory])
        #expect(r.status == 1)
        #expect(r.stderr.contains("cannot bind udp:127.0.0.1:\(holder.port): Address already in use"))
    }

    /// Without -D the server detaches: the command returns 0 at once and the daemon serves.
    @Test func daemonModeDetachesAndServes() throws {
        let dir = TemporaryDirectory()
        let port = freeUDPPort()
        let pidFile = dir.path + "/swiftlet.pid"
        let cfg = dir.write(
            "d.cfg",
            "listen=udp:127.0.0.1:\(port)\nloadmodule \"sl.so\"\nrequest_route { sl_send_reply(\"200\", \"OK\"); }\n")
        let r = try runSwiftlet(["-f", cfg, "-P", pidFile, "-L", productsDirectory])
        #expect(r.status == 0)
        var pidText: String? = nil
        for _ in 0..<100 where pidText == nil {
            pidText = try? String(contentsOfFile: pidFile, encoding: .utf8)
            usleep(20_000)
        }
        let pid = try #require(pidText.flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        defer { kill(pid, SIGTERM) }
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: port)
        #expect(client.receive().map { replyLines($0)[0] } == "SIP/2.0 200 OK")
    }
}

/// SWIFTLET_SDK_SIGNATURE as the header says.
func sdkSignature() -> String {
    let header = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(
            "Sources/SwiftletCore/Sources/CSwiftletABI/include/swiftlet_module_abi.h")
    let text = (try? String(contentsOf: header, encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") where line.hasPrefix("#define SWIFTLET_SDK_SIGNATURE ") {
        return String(line.split(separator: "\"")[1])
    }
    return "?"
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The async module on the embedded core: `async_sleep`/`async_ms_sleep` on the virtual clock
/// (the request continues with the actions after the call), and the core's async task
/// workers (`async_workers`, `async_workers_group`) as real threads for `async_task_*`.
@Suite struct AsyncModuleTests {
    static let caller = "127.0.0.1:5070"

    static func config(_ script: String) -> String { config("", script) }

    static func config(_ extra: String, _ script: String) -> String {
        """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        \(extra)
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "textops.so"
        loadmodule "corex.so"
        loadmodule "async.so"
        \(script)

        """
    }

    static func invite(_ user: String = "bob", callID: String = "async-1") -> String {
        [
            "INVITE sip:\(user)@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-\(callID);rport",
            "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:\(user)@127.0.0.1>", "Call-ID: \(callID)",
            "CSeq: 1 INVITE", "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:5070>", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    func lines(_ sent: [MemoryTransport.Sent]) -> [String] {
        sent.map { "\($0.firstLine) -> \($0.destination.address)" }
    }

    /// What a task worker thread sends, waited for (up to 5 s) until `count` messages came.
    func waitForSent(_ core: EmbeddedCore, count: Int = 1) -> [MemoryTransport.Sent] {
        var sent: [MemoryTransport.Sent] = []
        let deadline = Date().addingTimeInterval(5)
        while sent.count < count, Date() < deadline {
            sent += core.takeSent()
            if sent.count < count { usleep(5_000) }
        }
        return sent
    }

    static let trying = "SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070"

    @Test func asyncSleepContinuesWithTheRestOfItsBlock() throws {
        let core = try EmbeddedCore(
            config: Self.config(
                """
                request_route {
                    if (t_check_trans()) { exit; }
                    $avp(started) = "yes";
                    if ($rU == "bob") {
                        async_sleep("1");
                        append_hf("X-Resumed: $avp(started)\\r\\n");
                        $du = "sip:127.0.0.2:5080";
                        t_relay();
                    }
                    sl_send_reply("500", "after the block");
                }
                """), modulePath: productsDirectory)
        defer { core.shutdown() }
        core.receive(Self.invite(), from: Self.caller)
        #expect(lines(core.takeSent()) == [Self.trying])  // suspended: the script stopped there
        core.receive(Self.invite(), from: Self.caller)  // a retransmission while it sleeps
        #expect(lines(core.takeSent()) == [Self.trying])
        core.advance(milliseconds: 999)
        #expect(core.takeSent().isEmpty)
        core.advance(milliseconds: 1)
        let sent = core.takeSent()
        // The actions after async_sleep in the if block ran; the 500 after the block did not.
        #expect(lines(sent) == ["INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
        #expect(sent.first?.text.contains("X-Resumed: yes\r\n") == true)
    }

    /// In a `switch` case and a `while` body the continuation ends with the case (at its
    /// `break`) or the loop body: what follows the statement does not run.
    @Test func asyncSleepInASwitchCaseOrLoopEndsWithIt() throws {
        let core = try EmbeddedCore(
            config: Self.config(
                """
                request_route {
                    if (t_check_trans()) { exit; }
                    switch ($rU) {
                        case "bob":
                            async_ms_sleep("125");
                            append_hf("X-Case: bob\\r\\n");
                            $du = "sip:127.0.0.2:5080";
                            t_relay();
                            break;
                        default:
                            sl_send_reply("500", "default case");
                    }
                    $var(i) = 0;
                    while ($var(i) < 3) {
                        $var(i) = $var(i) + 1;
                        async_ms_sleep("125");
                        t_reply("404", "Loop body");
                    }
                    sl_send_reply("500", "after the statement");
                }
                """), modulePath: productsDirectory)
        defer { core.shutdown() }
        core.receive(Self.invite(), from: Self.caller)
        #expect(lines(core.takeSent()) == [Self.trying])
        core.advance(milliseconds: 125)
        let sent = core.takeSent()
        #expect(lines(sent) == ["INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
        #expect(sent.first?.text.contains("X-Case: bob\r\n") == true)

        core.receive(Self.invite("loop", callID: "async-loop"), from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 500 default case -> 127.0.0.1:5070", Self.trying])
        core.advance(milliseconds: 125)
        #expect(lines(core.takeSent()) == ["SIP/2.0 404 Loop body -> 127.0.0.1:5070"])
        core.advance(milliseconds: 1000)  // tm's retransmissions only: the loop did not go on
        #expect(!lines(core.takeSent()).contains { $0.contains(" 500 ") })
    }

    @Test func asyncMsSleepTakesItsDelayFromAVariable() throws {
        let core = try EmbeddedCore(
            config: Self.config(
                """
                request_route {
                    if (t_check_trans()) { exit; }
                    $avp(delay) = 250;
                    async_ms_sleep("$avp(delay)");
                    t_reply("486", "Busy After Sleep");
                }
                """), modulePath: productsDirectory)
        defer { core.shutdown() }
        core.receive(Self.invite(), from: Self.caller)
        #expect(lines(core.takeSent()) == [Self.trying])
        core.advance(milliseconds: 249)
        #expect(core.takeSent().isEmpty)
        core.advance(milliseconds: 1)
        #expect(lines(core.takeSent()) == ["SIP/2.0 486 Busy After Sleep -> 127.0.0.1:5070"])
    }

    /// -1, with the request not suspended, when nothing follows the call in its block, when
    /// the call is a condition, beyond the maximum delay, and with `workers` 0.
    @Test func asyncSleepFailsWithoutNextActionOrValidDelay() throws {
        let script = """
            request_route {
                if (t_check_trans()) { exit; }
                if ($rU == "last") { route(LAST); sl_send_reply("500", "last action"); exit; }
                if ($rU == "cond") {
                    if (!async_sleep("1")) { sl_send_reply("500", "in a condition"); }
                    exit;
                }
                if ($rU == "long") {
                    async_sleep("100");
                    sl_send_reply("500", "too long");
                    exit;
                }
                if ($rU == "longms") {
                    async_ms_sleep("30000");
                    sl_send_reply("500", "too long ms");
                    exit;
                }
                async_sleep("$rU");
                sl_send_reply("500", "not a number");
            }
            route[LAST] {
                async_sleep("1");
            }
            """
        let core = try EmbeddedCore(config: Self.config(script), modulePath: productsDirectory)
        defer { core.shutdown() }
        for (user, reason) in [
            ("last", "last action"), ("cond", "in a condition"), ("long", "too long"), ("longms", "too long ms"),
            ("x", "not a number"),
        ] {
            core.receive(Self.invite(user, callID: "fail-\(user)"), from: Self.caller)
            #expect(lines(core.takeSent()) == ["SIP/2.0 500 \(reason) -> 127.0.0.1:5070"])
        }

        let disabled = try EmbeddedCore(
            config: Self.config(
                "",
                """
                modparam("async", "workers", 0)
                request_route {
                    async_sleep("1");
                    sl_send_reply("500", "no workers");
                }
                """), modulePath: productsDirectory)
        defer { disabled.shutdown() }
        disabled.receive(Self.invite(), from: Self.caller)
        #expect(lines(disabled.takeSent()) == ["SIP/2.0 500 no workers -> 127.0.0.1:5070"])
    }

    /// modparam("async", "return", 1): the script goes on after a successful call.
    @Test func theReturnParameterLetsTheScriptGoOn() throws {
        let core = try EmbeddedCore(
            config: Self.config(
                """
                modparam("async", "return", 1)
                request_route {
                    if (t_check_trans()) { exit; }
                    if (async_route("LATER", "1")) { send_data("sip:127.0.0.3:5090", "went on"); }
                }
                route[LATER] {
                    t_reply("404", "Later");
                }
                """), modulePath: productsDirectory)
        defer { core.shutdown() }
        core.receive(Self.invite(), from: Self.caller)
        #expect(
            core.takeSent().map { $0.text.firstLineOrText } == [
                Self.trying.components(separatedBy: " -> ")[0], "went on",
            ])
        core.advance(milliseconds: 1000)
        #expect(lines(core.takeSent()) == ["SIP/2.0 404 Later -> 127.0.0.1:5070"])
    }

    @Test func asyncTaskRouteContinuesTheRequestInATaskWorker() throws {
        let core = try EmbeddedCore(
            config: Self.config(
                """
                async_workers=2
                async_workers_group="name=slow;workers=1;nonblock=0;usleep=0"
                """,
                """
                request_route {
                    if (t_check_trans()) { exit; }
                    $avp(started) = "yes";
                    if ($rU == "slow") { async_task_group_route("TASK", "slow"); }
                    if ($rU == "nogroup") {
                        if (!async_task_group_route("TASK", "none")) { sl_send_reply("503", "no group"); }
                        exit;
                    }
                    async_task_route("TASK");
                    sl_send_reply("500", "not reached");
                }
                route[TASK] {
                    append_hf("X-Group: $async(gname) $avp(started)\\r\\n");
                    $du = "sip:127.0.0.2:5080";
                    t_relay();
                }
                """), modulePath: productsDirectory)
        defer { core.shutdown() }
        #expect(core.loaded.asyncTaskWorkers?.groupNames == ["default", "slow"])

        core.receive(Self.invite(), from: Self.caller)
        var sent = waitForSent(core, count: 2)
        #expect(lines(sent) == [Self.trying, "INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
        #expect(sent.last?.text.contains("X-Group: default yes\r\n") == true)

        core.receive(Self.invite("slow", callID: "async-slow"), from: Self.caller)
        sent = waitForSent(core, count: 2)
        #expect(sent.last?.firstLine == "INVITE sip:slow@127.0.0.1 SIP/2.0")
        #expect(sent.last?.text.contains("X-Group: slow yes\r\n") == true)

        // An unknown group: -1 and the request is not suspended (no 100 Trying).
        core.receive(Self.invite("nogroup", callID: "async-none"), from: Self.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 503 no group -> 127.0.0.1:5070"])
    }

    @Test func asyncTaskDataRunsARouteOnTheFakedRequest() throws {
        let core = try EmbeddedCore(
            config: Self.config(
                "async_workers=1",
                """
                request_route {
                    async_task_data("DATA", "caller: $fU");
                    sl_send_reply("200", "ok $async(data)");
                }
                route[DATA] {
                    send_data("sip:127.0.0.3:5090", "$async(data) in $async(gname) for $rm $ru");
                }
                """), modulePath: productsDirectory)
        defer { core.shutdown() }
        core.receive(Self.invite(), from: Self.caller)
        let sent = waitForSent(core, count: 2)
        let reply = sent.first { $0.firstLine.hasPrefix("SIP/2.0") }
        #expect(reply?.firstLine == "SIP/2.0 200 ok <null>")  // $async(data) is null outside the task
        let data = sent.first { !$0.firstLine.hasPrefix("SIP/2.0") }
        #expect(data?.text == "caller: alice in default for OPTIONS sip:you@kamailio.org")
        #expect(data.map { "\($0.destination.address)" } == "127.0.0.3:5090")
    }

    @Test func taskFunctionsNeedTheCoreTaskWorkers() throws {
        #expect {
            _ = try EmbeddedCore(
                config: Self.config("request_route { async_task_route(\"X\"); }\nroute[X] { exit; }"),
                modulePath: productsDirectory)
        } throws: { error in
            "\((error as? ConfigLoadError)?.rendered ?? "\(error)")".contains(
                "async task framework was not initialized - set async_workers parameter in core")
        }
    }

    @Test func withoutTheModuleItsFunctionsAndVariableAreNamed() throws {
        #expect {
            _ = try EmbeddedCore(
                config: """
                    listen=udp:127.0.0.1:5060
                    request_route { async_sleep("1"); $avp(x) = $async(data); }
                    """, modulePath: productsDirectory)
        } throws: { error in
            let text = (error as? ConfigLoadError)?.rendered ?? "\(error)"
            return text.contains("unknown function 'async_sleep': it belongs to module 'async', which is not loaded")
                && text.contains("unknown pseudo-variable '$async(data)': it belongs to module 'async'")
        }
    }

    @Test func asyncWorkerGroupsAreParsedAsKamailio() throws {
        var settings = AsyncWorkerSettings()
        let file = "t.cfg"
        func global(_ text: String) throws -> GlobalParameter {
            let (config, errors) = Parser.parse(
                tokens: Preprocessor.preprocess(text: text + "\n", file: file, defines: []).tokens)
            #expect(errors.isEmpty)
            return try #require(config.globals.first)
        }
        // A named group alone gives the default group one worker.
        #expect(settings.apply(try global("async_workers_group=\"name=abc;workers=4;nonblock=1;usleep=10;\"")) == [])
        #expect(
            settings.groups == [
                AsyncWorkerGroupSettings(name: "default", workers: 1),
                AsyncWorkerGroupSettings(name: "abc", workers: 4, nonblock: true, usleep: 10),
            ])
        #expect(settings.apply(try global("async_workers=3")) == [])
        #expect(settings.apply(try global("async_usleep=5")) == [])
        #expect(settings.apply(try global("async_workers=7")) == [])  // the first value stays (a warning)
        #expect(settings.groups.first == AsyncWorkerGroupSettings(name: "default", workers: 3, usleep: 5))
        let bad = settings.apply(try global("async_workers_group=\"name=x;workers=0\""))
        #expect(bad?.first?.message == "async_workers_group: invalid workers value 0")
        let unnamed = settings.apply(try global("async_workers_group=\"workers=2\""))
        #expect(unnamed?.first?.message == "async_workers_group: invalid name value in \"workers=2\"")
        #expect(AsyncWorkerSettings().groups.isEmpty)
    }

    /// The running server: an INVITE that sleeps 1 s in async_sleep gets its 100 Trying at
    /// once (no worker waits), its retransmission is absorbed by the transaction, and the
    /// reply of the actions after the sleep comes about a second later (from a `workers`
    /// thread of the module).
    @Test func theServerAnswersAfterAsyncSleep() throws {
        let server = try TestServer(
            config: """
                listen=udp:127.0.0.1:PORT
                children=1
                loadmodule "tm.so"
                loadmodule "sl.so"
                loadmodule "async.so"
                request_route {
                    if (t_check_trans()) { exit; }
                    async_sleep("1");
                    t_reply("486", "Busy After Sleep");
                }
                """)
        let uac = UDPClient()
        let invite = sipRequest(
            [
                "INVITE sip:bob@127.0.0.1:\(server.port) SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-as1",
                "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>", "Call-ID: async-sleep@test",
                "CSeq: 1 INVITE", "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:CPORT>", "Content-Length: 0",
            ], clientPort: uac.port)
        let start = Date()
        uac.send(invite, to: server.port)
        let trying = try #require(uac.receive(timeout: 0.5), "no 100 Trying; log: \(server.log)")
        #expect(replyLines(trying)[0].hasPrefix("SIP/2.0 100 "))
        uac.send(invite, to: server.port)  // the retransmission: the 100 again, nothing else
        let again = try #require(uac.receive(timeout: 0.5), "retransmission not absorbed; log: \(server.log)")
        #expect(replyLines(again)[0].hasPrefix("SIP/2.0 100 "))
        let busy = try #require(uac.receive(timeout: 3), "no reply after the sleep; log: \(server.log)")
        #expect(replyLines(busy)[0] == "SIP/2.0 486 Busy After Sleep")
        #expect(Date().timeIntervalSince(start) > 0.9)
        #expect(uac.receive(timeout: 0.3) == nil)
    }
}

extension String {
    /// The first line of SIP text, or the whole text when it has no line end.
    fileprivate var firstLineOrText: String { components(separatedBy: "\r\n")[0] }
}

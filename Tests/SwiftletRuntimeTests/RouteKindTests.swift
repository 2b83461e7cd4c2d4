import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// Every kind of routing block compiles, with its route type checked against the functions
/// it calls; `route[NAME]` is checked against the blocks that call it.
@Suite(.serialized) struct RouteKindTests {
    @Test func everyRouteKindIsCompiledAndRunnable() throws {
        let loaded = try ScriptHarness.load(
            ScriptHarness.prelude + """
                request_route { route(COMMON); setflag(0); }
                route[COMMON] { setflag(10); }
                failure_route[F] { send_reply("500", "failed"); route(COMMON); setflag(1); }
                branch_route[B] { xlog("L_DBG", "branch\\n"); setflag(2); }
                onreply_route[R] { setflag(3); }
                onreply_route[0] { setflag(4); }
                onsend_route { setflag(5); if (isflagset(6)) drop; }
                event_route[core:worker-one-init] { setflag(6); }
                event_route[tm:local-request] { setflag(7); drop; }
                """)
        let script = loaded.script
        #expect(script.failureRouteNames == ["F"])
        #expect(script.branchRouteNames == ["B"])
        #expect(script.onReplyRouteNames == ["R"])
        #expect(script.eventRouteNames == ["core:worker-one-init", "tm:local-request"])
        #expect(script.hasOnSendRoute)

        func context() throws -> MessageContext {
            try ScriptHarness.context(ScriptHarness.request(), core: loaded.context)
        }
        var ctx = try context()
        #expect(script.runFailureRoute("F", ctx))
        #expect(ScriptHarness.flags(ctx) == [1, 10])
        ctx = try context()
        #expect(script.runBranchRoute("B", ctx))
        #expect(!script.runBranchRoute("nope", ctx))
        #expect(ScriptHarness.flags(ctx) == [2])
        ctx = try context()
        #expect(script.runOnReplyRoute("R", ctx))
        #expect(ScriptHarness.flags(ctx) == [3])
        ctx = try ScriptHarness.context(ScriptHarness.reply(), core: loaded.context)
        #expect(script.runReplyRoute(ctx))
        #expect(ScriptHarness.flags(ctx) == [4])
        ctx = try context()
        #expect(script.runOnSendRoute(ctx))
        ctx.flags |= 1 << 6
        #expect(!script.runOnSendRoute(ctx), "drop in onsend_route cancels the send")
        ctx = try context()
        #expect(script.runEventRoute("tm:local-request", ctx, as: .request) == false)
        #expect(script.runEventRoute("nope", ctx, as: .request) == nil)
        #expect(ScriptHarness.flags(ctx) == [7])
        #expect(script.runWorkerOneInit())
    }

    @Test func dropInWorkerOneInitIsAFailure() throws {
        let loaded = try ScriptHarness.load(
            ScriptHarness.prelude + "request_route { exit; }\nevent_route[core:worker-one-init] { drop; }\n")
        #expect(!loaded.script.runWorkerOneInit())
        let none = try ScriptHarness.load(ScriptHarness.prelude + "request_route { exit; }\n")
        #expect(none.script.runWorkerOneInit())
    }

    @Test func functionsAreCheckedAgainstTheirBlock() {
        let errors = ScriptHarness.errors(
            ScriptHarness.prelude + """
                request_route { exit; }
                onsend_route {
                    sl_send_reply("500", "no");
                    strip(1);
                    route(X);
                    setflag(1); log(1, "ok"); xlog("ok\\n");
                    set_forward_no_connect();
                }
                failure_route[F] { sl_send_reply("500", "no"); send_reply("500", "yes"); }
                branch_route[B] { send_reply("500", "no"); }
                reply_route { sl_reply("200", "no"); }
                onreply_route[R] { xlog("ok\\n"); sl_send_reply("200", "no"); }
                event_route[core:worker-one-init] { sl_send_reply("200", "as in a request route"); }
                route[X] { exit; }
                """, file: "rt.cfg")
        #expect(
            errors == [
                "rt.cfg:8:5: error: function 'sl_send_reply' (module sl) cannot be used in onsend_route",
                "rt.cfg:9:5: error: 'strip' cannot be used in onsend_route",
                "rt.cfg:10:5: error: route() cannot be used in onsend_route",
                "rt.cfg:14:20: error: function 'sl_send_reply' (module sl) cannot be used in failure_route",
                "rt.cfg:15:19: error: function 'send_reply' (module sl) cannot be used in branch_route",
                "rt.cfg:16:15: error: function 'sl_reply' (module sl) cannot be used in reply_route",
                "rt.cfg:17:34: error: function 'sl_send_reply' (module sl) cannot be used in onreply_route",
            ])
    }

    /// Functions of `route[NAME]` are checked against every block that reaches NAME; as
    /// Kamailio checks none of them, a mismatch is a warning naming the call path.
    @Test func namedRoutesAreCheckedAgainstTheirCallers() throws {
        let loaded = try ScriptHarness.load(
            ScriptHarness.prelude + """
                request_route { route(A); }
                failure_route[F] { route(B); }
                branch_route[BR] { if (route(B)) exit; }
                route[B] { while (0) { route(A); } }
                route[A] {
                    sl_send_reply("200", "x");
                    send_reply("200", "y");
                    xlog("z\\n");
                }
                route[UNUSED] { sl_send_reply("200", "x"); }
                """, file: "tr.cfg")
        #expect(
            loaded.warnings.map { "\($0.location): \($0.message)" }.filter { !$0.contains("global parameter") } == [
                "tr.cfg:11:5: function 'sl_send_reply' (module sl) cannot be used in failure_route, branch_route, from which route[A] is called (failure_route[F] -> route[B] -> route[A])",
                "tr.cfg:12:5: function 'send_reply' (module sl) cannot be used in branch_route, from which route[A] is called (branch_route[BR] -> route[B] -> route[A])",
            ])
    }

    @Test func duplicateAndMissingRoutes() {
        let errors = ScriptHarness.errors(
            ScriptHarness.prelude + """
                request_route { route(NOPE); }
                failure_route[F] { exit; }
                failure_route[F] { exit; }
                event_route[core:worker-one-init] { exit; }
                event_route[core:worker-one-init] { exit; }
                """, file: "dup.cfg")
        #expect(
            errors == [
                "dup.cfg:6:17: error: route 'NOPE' is not defined",
                "dup.cfg:8:1: error: failure_route[F] is defined twice (first at dup.cfg:7:1)",
                "dup.cfg:10:1: error: event_route[core:worker-one-init] is defined twice (first at dup.cfg:9:1)",
            ])
    }

    /// In a running server: event_route[core:worker-one-init] runs once on the faked
    /// message, `log()` and `error()` log, and a runaway while is stopped with an error.
    @Test func workerOneInitLogAndRunawayWhileInAServer() throws {
        let server = try TestServer(
            config: """
                debug=2
                log_stderror=yes
                children=2
                max_while_loops=2
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "xlog.so"
                event_route[core:worker-one-init] {
                    xlog("L_INFO", "worker one init: $rm $ru from $si\\n");
                    log(1, "log action at notice");
                    log("log action at L_DBG+1 is never printed");
                    error("e1", "e2");
                }
                request_route {
                    while (1) { setflag(1); }
                    if (isflagset(1)) sl_send_reply("200", "after the loop");
                }
                """)
        defer { server.stop() }
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: server.port)
        #expect(client.receive().map { replyLines($0)[0] } == "SIP/2.0 200 after the loop")
        #expect(server.waitForLog("runaway while"))
        let log = server.log
        #expect(log.components(separatedBy: "worker one init: OPTIONS sip:you@kamailio.org from 127.0.0.1").count == 2)
        #expect(log.contains(" 1(") && log.contains("INFO: <script>: worker one init"))
        #expect(log.contains("NOTICE: <script>: log action at notice"))
        #expect(!log.contains("never printed"))
        #expect(logHasLine(log, "NOTICE", "<core>", "error(\"e1\", \"e2\") not implemented yet"))
        let cfg = server.directory.path + "/swiftlet.cfg"
        #expect(logHasLine(log, "ERROR", "<core>", "runaway while (\(cfg):15:12): more than 2 loops"))
    }
}

/// The routes a tm module runs, reached through the SDK (`CoreContext.routes`).
@Suite(.serialized) struct ModuleRouteAccessTests {
    @Test func failureBranchAndReplyRoutesRunThroughTheSDK() throws {
        let loaded = try ScriptHarness.load(
            ScriptHarness.prelude + """
                request_route { exit; }
                failure_route[MISSED] { $avp(r) = "failure"; }
                branch_route[OUT] { $avp(r) = "branch"; drop; }
                onreply_route[REPLY] { $avp(r) = "reply " + $rs; }
                """)
        let routes = try #require(loaded.context.routes)
        #expect(routes === loaded.script)
        #expect(routes.failureRouteNames == ["MISSED"])
        #expect(routes.branchRouteNames == ["OUT"])
        #expect(routes.onReplyRouteNames == ["REPLY"])
        let ctx = try ScriptHarness.context(ScriptHarness.request(), core: loaded.context)
        #expect(routes.runFailureRoute("MISSED", ctx))
        #expect(routes.runBranchRoute("OUT", ctx) == false)  // dropped
        #expect(routes.runFailureRoute("NOSUCH", ctx) == false)
        let reply = try ScriptHarness.context(ScriptHarness.reply(code: 486, reason: "Busy Here"), core: loaded.context)
        #expect(routes.runOnReplyRoute("REPLY", reply))
        #expect((ctx.avps["r"] ?? []).reversed() == [.string("failure"), .string("branch")])
        #expect(reply.avps["r"] == [.string("reply 486")])
    }
}

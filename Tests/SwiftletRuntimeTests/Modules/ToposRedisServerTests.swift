import Foundation
import Testing

/// topos with topos_redis in the running binary, with a real redis-server: a dialog that
/// moves between two instances sharing the Redis database (scale-out), a dialog that
/// survives a restart, and what happens while Redis is down. The caller and callee are UDP
/// sockets (`ToposSocketCall`) that check every message they get.
@Suite(
    .serialized,
    .enabled(if: redisServerPath != nil, "redis-server is not installed (apt-get install redis-server)"))
struct ToposRedisServerTests {
    /// The configuration, in the syntax Kamailio runs too; `advertise` is the address both
    /// instances of a cluster put in their Record-Route (and so in the generated Contacts), as
    /// behind a load balancer.
    static func config(redisPort: Int, advertise: Int? = nil, mpath: String? = nil) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=2
        listen=udp:127.0.0.1:PORT\(advertise.map { " advertise 127.0.0.1:\($0)" } ?? "")
        \(mpath.map { "mpath=\"\($0)\"" } ?? "")
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "siputils.so"
        loadmodule "textops.so"
        loadmodule "pv.so"
        loadmodule "ndb_redis.so"
        loadmodule "topos.so"
        loadmodule "topos_redis.so"
        modparam("ndb_redis", "server", "name=srv;addr=127.0.0.1;port=\(redisPort);db=4")
        modparam("topos", "storage", "redis")
        modparam("topos_redis", "serverid", "srv")
        request_route {
            if (has_totag()) {
                if (loose_route()) { t_relay(); exit; }
                if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
                sl_send_reply("404", "Not here");
                exit;
            }
            if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
            t_check_trans();
            record_route();
            if (!t_relay()) { sl_reply_error(); }
        }
        """
    }

    /// What each side saw of the other: only the proxy.
    static func checkHidden(_ call: ToposSocketCall, invite: ReceivedSIP, ok: ReceivedSIP) {
        #expect(invite.headers("Via").count == 1, "\(invite)")
        #expect(invite.headers("Record-Route").isEmpty, "\(invite)")
        #expect(call.callerTarget.hasPrefix("sip:btpsh-"), "\(invite)")
        #expect(ok.headers("Via").count == 1, "\(ok)")
        #expect(ok.headers("Record-Route").isEmpty, "\(ok)")
        #expect(call.calleeTarget.hasPrefix("sip:atpsh-"), "\(ok)")
    }

    /// An in-dialog request as the callee (or caller) must get it: to its own Contact, with
    /// one Via and no Route.
    static func checkArrived(_ m: ReceivedSIP, _ method: String, at party: SIPSocketParty) {
        #expect(m.firstLine == "\(method) \(party.contact) SIP/2.0", "\(m)")
        #expect(m.headers("Via").count == 1, "\(m)")
        #expect(m.headers("Route").isEmpty, "\(m)")
    }

    @Test func aDialogSetUpThroughOneInstanceContinuesThroughTheOther() throws {
        let redis = try RedisTestServer()
        let config = Self.config(redisPort: redis.port, advertise: freeUDPPort())
        let a = try TestServer(config: config)
        let b = try TestServer(config: config)

        // Set up through A; the ACK, the callee's re-INVITE and the caller's BYE through B.
        let one = ToposSocketCall(callID: "scale-1")
        let (invite, ok) = try one.establish(through: a.port)
        Self.checkHidden(one, invite: invite, ok: ok)
        Self.checkArrived(try one.callerSends("ACK", through: b.port, cseq: 1), "ACK", at: one.callee)
        let reinvite = try one.calleeSends("INVITE", through: b.port, cseq: 1)
        Self.checkArrived(reinvite, "INVITE", at: one.caller)
        #expect(reinvite.contactURI?.hasPrefix("sip:atpsh-") == true, "\(reinvite)")
        one.caller.reply(reinvite, "200 OK", toTag: "a1")
        let reinviteOK = try one.callee.expect("SIP/2.0 200")
        #expect(reinviteOK.headers("CSeq") == ["1 INVITE"])
        #expect(reinviteOK.contactURI?.hasPrefix("sip:btpsh-") == true, "\(reinviteOK)")
        Self.checkArrived(try one.calleeSends("ACK", through: b.port, cseq: 1), "ACK", at: one.caller)
        let byeOK = try one.callerHangsUp(through: b.port, cseq: 2)
        #expect(byeOK.headers("CSeq") == ["2 BYE"])
        #expect(byeOK.headers("Via").count == 1)

        // Set up through B; the callee's BYE through A.
        let two = ToposSocketCall(callID: "scale-2")
        let (invite2, ok2) = try two.establish(through: b.port)
        Self.checkHidden(two, invite: invite2, ok: ok2)
        Self.checkArrived(try two.callerSends("ACK", through: a.port, cseq: 1), "ACK", at: two.callee)
        let bye2OK = try two.calleeHangsUp(through: a.port, cseq: 1)
        #expect(bye2OK.headers("CSeq") == ["1 BYE"])
        #expect(bye2OK.headers("Via").count == 1)
    }

    @Test func aDialogSurvivesARestartOfTheServer() throws {
        let redis = try RedisTestServer()
        let config = Self.config(redisPort: redis.port)
        var server = try TestServer(config: config)
        let port = server.port
        let call = ToposSocketCall(callID: "restart-1")
        let (invite, ok) = try call.establish(through: port)
        Self.checkHidden(call, invite: invite, ok: ok)
        Self.checkArrived(try call.callerSends("ACK", through: port, cseq: 1), "ACK", at: call.callee)

        #expect(server.stop() == 0)
        server = try TestServer(config: config, port: port)
        defer { server.stop() }
        let byeOK = try call.callerHangsUp(through: port, cseq: 2)
        #expect(byeOK.headers("CSeq") == ["2 BYE"])
    }

    @Test func whileRedisIsDownRequestsGetTheScriptsErrorReplyAndNothingLeaks() throws {
        let redis = try RedisTestServer()
        let server = try TestServer(config: Self.config(redisPort: redis.port))
        let call = ToposSocketCall(callID: "down-1")
        try call.establish(through: server.port)
        _ = try call.callerSends("ACK", through: server.port, cseq: 1)

        redis.stop()
        // The BYE's records cannot be read: it stays as it came (Kamailio's behaviour), so
        // loose_route() finds no Route and the script answers 404.
        call.caller.request(
            "BYE", call.calleeTarget, to: server.port, branch: "down-bye", from: "<sip:alice@127.0.0.1>",
            fromTag: "a1", toHeader: "<sip:bob@127.0.0.1>;tag=b1", callID: call.callID, cseq: 2)
        let notFound = try call.caller.expect("SIP/2.0 404")
        #expect(notFound.headers("CSeq") == ["2 BYE"])
        #expect(call.callee.receivesNothing() == nil)
        #expect(server.waitForLog("failed to execute redis command"), "\(server.log.suffix(2000))")

        // A new INVITE cannot be recorded: it is not sent (it would show the caller's
        // topology), so t_relay() fails with a send error and the script's sl_reply_error()
        // answers 477, as Kamailio answers a send error.
        let caller = SIPSocketParty(user: "carol")
        caller.request(
            "INVITE", call.callee.contact, to: server.port, branch: "down-inv", from: "<sip:carol@127.0.0.1>",
            fromTag: "c1", toHeader: "<sip:bob@127.0.0.1>", callID: "down-2", cseq: 1)
        let error = try caller.expect("SIP/2.0 477")
        #expect(error.headers("CSeq") == ["1 INVITE"])
        #expect(call.callee.receivesNothing() == nil)
        #expect(server.waitForLog("storage failure: not sending the INVITE"), "\(server.log.suffix(2000))")

        // Redis is back: a new call works from start to end.
        try redis.start()
        let again = ToposSocketCall(callID: "down-3")
        let (invite, ok) = try again.establish(through: server.port)
        Self.checkHidden(again, invite: invite, ok: ok)
        Self.checkArrived(try again.callerSends("ACK", through: server.port, cseq: 1), "ACK", at: again.callee)
        _ = try again.callerHangsUp(through: server.port, cseq: 2)
    }

    /// Every hash of database 4.
    static func hashes(_ port: Int) throws -> [String: [String: String]] {
        var out: [String: [String: String]] = [:]
        for key in try ToposRedisModuleTests.cli(port, ["-n", "4", "KEYS", "*"]) where !key.isEmpty {
            let lines = try ToposRedisModuleTests.cli(port, ["-n", "4", "HGETALL", key])
            out[key] = Dictionary(
                stride(from: 0, to: lines.count - 1, by: 2).map { (lines[$0], lines[$0 + 1]) }, uniquingKeysWith: { $1 }
            )
        }
        return out
    }

    @Test func aReplyThatCannotBeMatchedWhileRedisIsDownWaitsForItsRetransmission() throws {
        let redis = try RedisTestServer()
        let server = try TestServer(config: Self.config(redisPort: redis.port))
        let call = ToposSocketCall(callID: "down-reply")
        call.caller.request(
            "INVITE", call.callee.contact, to: server.port, branch: "dr-inv", from: "<sip:alice@127.0.0.1>",
            fromTag: "a1", toHeader: "<sip:bob@127.0.0.1>", callID: call.callID, cseq: 1)
        let invite = try call.callee.expect("INVITE ")

        // Redis goes down and comes back with its data (as with persistence).
        let saved = try Self.hashes(redis.port)
        #expect(saved.count == 2)  // the dialog and the INVITE's branch
        redis.stop()
        // Forwarded as it came, the 200 would show the callee's Contact: it is dropped.
        call.callee.reply(invite, "200 OK", toTag: "b1")
        #expect(call.caller.receivesNothing(timeout: 0.7) == nil)
        #expect(server.waitForLog("storage failure: dropping the 200 reply"), "\(server.log.suffix(2000))")

        try redis.start()
        for (key, fields) in saved {
            _ = try ToposRedisModuleTests.cli(
                redis.port, ["-n", "4", "HSET", key] + fields.flatMap { [$0.key, $0.value] })
        }
        // The callee's retransmission goes through, stripped.
        call.callee.reply(invite, "200 OK", toTag: "b1")
        let ok = try call.caller.expect("SIP/2.0 200")
        #expect(ok.contactURI?.hasPrefix("sip:atpsh-") == true, "\(ok)")
        #expect(ok.headers("Via").count == 1, "\(ok)")
    }
}

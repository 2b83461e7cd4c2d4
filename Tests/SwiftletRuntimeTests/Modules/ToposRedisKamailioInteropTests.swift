import Foundation
import Testing

/// Debian's Kamailio 5.6.3 (topos + topos_redis) and Swiftlet (topos + topos_redis) on one
/// Redis database, with the same configuration and advertised address, as two instances of
/// a cluster: a dialog set up through one is continued and ended through the other, so each
/// reads the records the other wrote (keys, fields, uuids, Contacts).
@Suite(
    .serialized,
    .enabled(
        if: redisServerPath != nil && kamailioPath != nil
            && FileManager.default.fileExists(atPath: kamailioModules + "topos_redis.so"),
        "needs redis-server, kamailio and kamailio-redis-modules (scripts/deps.sh test)"))
struct ToposRedisKamailioInteropTests {
    @Test func dialogsMoveBetweenKamailioAndSwiftlet() throws {
        let redis = try RedisTestServer()
        let advertise = freeUDPPort()
        let kamailio = try KamailioTestServer(
            config: ToposRedisServerTests.config(redisPort: redis.port, advertise: advertise, mpath: kamailioModules))
        defer { kamailio.stop() }
        let swiftlet = try TestServer(config: ToposRedisServerTests.config(redisPort: redis.port, advertise: advertise))
        defer { swiftlet.stop() }
        func logs() -> String { "kamailio:\n\(kamailio.log.suffix(2000))\nswiftlet:\n\(swiftlet.log.suffix(2000))" }

        // Both write the same fields (Kamailio's dialog: Kamailio's uid; Swiftlet's below).
        func dialogFields(_ call: ToposSocketCall) throws -> [String: String] {
            try fields("d:z:" + call.calleeTarget.dropFirst(4).prefix { $0 != "@" })
        }
        /// The branch record of the INVITE the callee got (the key is the proxy's Via branch).
        func branchFields(_ invite: ReceivedSIP) throws -> [String: String] {
            try fields("b:x:" + (invite.headers("Via").first?.components(separatedBy: ";branch=").last ?? ""))
        }
        func fields(_ key: String) throws -> [String: String] {
            let lines = try ToposRedisModuleTests.cli(redis.port, ["-n", "4", "HGETALL", key])
            return Dictionary(
                stride(from: 0, to: lines.count - 1, by: 2).map { (lines[$0], lines[$0 + 1]) }, uniquingKeysWith: { $1 }
            )
        }

        // Set up through Kamailio; the ACK, the callee's re-INVITE and the caller's BYE
        // through Swiftlet.
        let one = ToposSocketCall(callID: "kam-1")
        let (invite, ok) = try one.establish(through: kamailio.port)
        ToposRedisServerTests.checkHidden(one, invite: invite, ok: ok)
        let kamailioDialog = try dialogFields(one)
        let kamailioBranch = try branchFields(invite)
        do {
            ToposRedisServerTests.checkArrived(
                try one.callerSends("ACK", through: swiftlet.port, cseq: 1), "ACK", at: one.callee)
            let reinvite = try one.calleeSends("INVITE", through: swiftlet.port, cseq: 1)
            ToposRedisServerTests.checkArrived(reinvite, "INVITE", at: one.caller)
            one.caller.reply(reinvite, "200 OK", toTag: "a1")
            #expect(try one.callee.expect("SIP/2.0 200").headers("CSeq") == ["1 INVITE"])
            _ = try one.calleeSends("ACK", through: swiftlet.port, cseq: 1)
            #expect(try one.callerHangsUp(through: swiftlet.port, cseq: 2).headers("CSeq") == ["2 BYE"])
        } catch {
            Issue.record("\(error)\n\(logs())")
        }

        // Set up through Swiftlet; the ACK, the caller's re-INVITE and the callee's BYE
        // through Kamailio.
        let two = ToposSocketCall(callID: "kam-2")
        let (invite2, ok2) = try two.establish(through: swiftlet.port)
        ToposRedisServerTests.checkHidden(two, invite: invite2, ok: ok2)
        let swiftletDialog = try dialogFields(two)
        let swiftletBranch = try branchFields(invite2)
        #expect(
            !kamailioBranch.isEmpty && kamailioBranch.keys.sorted() == swiftletBranch.keys.sorted(),
            "\(kamailioBranch)\n\(swiftletBranch)")
        #expect(kamailioDialog["iflags"] == "2" && swiftletDialog["iflags"] == "2")
        #expect(
            kamailioDialog.keys.sorted() == swiftletDialog.keys.sorted(), "\(kamailioDialog)\n\(swiftletDialog)")
        for name in ["a_callid", "a_contact", "b_contact", "a_tag", "b_tag", "s_rr", "s_method", "s_cseq"] {
            #expect(
                kamailioDialog[name]?.replacingOccurrences(of: "kam-1", with: "X").replacingOccurrences(
                    of: String(one.caller.port), with: "P"
                ).replacingOccurrences(of: String(one.callee.port), with: "Q")
                    == swiftletDialog[name]?.replacingOccurrences(of: "kam-2", with: "X").replacingOccurrences(
                        of: String(two.caller.port), with: "P"
                    ).replacingOccurrences(of: String(two.callee.port), with: "Q"), "\(name)")
        }
        do {
            ToposRedisServerTests.checkArrived(
                try two.callerSends("ACK", through: kamailio.port, cseq: 1), "ACK", at: two.callee)
            let reinvite = try two.callerSends("INVITE", through: kamailio.port, cseq: 2)
            ToposRedisServerTests.checkArrived(reinvite, "INVITE", at: two.callee)
            two.callee.reply(reinvite, "200 OK", toTag: "b1")
            #expect(try two.caller.expect("SIP/2.0 200").headers("CSeq") == ["2 INVITE"])
            _ = try two.callerSends("ACK", through: kamailio.port, cseq: 2)
            #expect(try two.calleeHangsUp(through: kamailio.port, cseq: 1).headers("CSeq") == ["1 BYE"])
        } catch {
            Issue.record("\(error)\n\(logs())")
        }
    }

    /// What Kamailio does while Redis is down, which `ToposRedisServerTests` compares with:
    /// the BYE stays as it came and gets the script's 404 (as Swiftlet's), a new INVITE goes
    /// to the callee with the caller's Contact (Swiftlet does not send it).
    @Test func whileRedisIsDownKamailioAnswersTheByeWith404AndLeaksANewInvite() throws {
        let redis = try RedisTestServer()
        let kamailio = try KamailioTestServer(
            config: ToposRedisServerTests.config(redisPort: redis.port, mpath: kamailioModules))
        defer { kamailio.stop() }
        let call = ToposSocketCall(callID: "kam-down")
        try call.establish(through: kamailio.port)
        _ = try call.callerSends("ACK", through: kamailio.port, cseq: 1)

        redis.stop()
        call.caller.request(
            "BYE", call.calleeTarget, to: kamailio.port, branch: "kd-bye", from: "<sip:alice@127.0.0.1>",
            fromTag: "a1", toHeader: "<sip:bob@127.0.0.1>;tag=b1", callID: call.callID, cseq: 2)
        #expect(try call.caller.expect("SIP/2.0 404").headers("CSeq") == ["2 BYE"], "\(kamailio.log.suffix(2000))")
        #expect(call.callee.receivesNothing() == nil)

        let caller = SIPSocketParty(user: "carol")
        caller.request(
            "INVITE", call.callee.contact, to: kamailio.port, branch: "kd-inv", from: "<sip:carol@127.0.0.1>",
            fromTag: "c1", toHeader: "<sip:bob@127.0.0.1>", callID: "kam-down-2", cseq: 1)
        let leaked = try call.callee.expect("INVITE ")
        #expect(leaked.contactURI == caller.contact)
        #expect(leaked.headers("Via").joined().contains("127.0.0.1:\(caller.port)"))
        #expect(kamailio.log.contains("failed to execute redis command"))
    }
}

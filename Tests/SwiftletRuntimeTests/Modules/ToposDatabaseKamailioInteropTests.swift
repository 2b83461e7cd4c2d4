import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// Debian's Kamailio 5.6.3 and Swiftlet, both with topos on the same `topos_d`/`topos_t`
    /// tables, the same configuration and advertised address, as two instances of a cluster:
    /// a dialog set up through one is continued and ended through the other, so each reads
    /// the rows the other wrote.
    @Suite struct ToposDatabaseKamailioInteropTests {
        static let engines = DatabaseKamailioInteropTests.engines

        @Test(arguments: engines)
        func dialogsMoveBetweenKamailioAndSwiftlet(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "topos_d", "topos_t"])
            let advertise = freeUDPPort()
            let kamailio = try KamailioTestServer(
                config: try ToposDatabaseTests.serverConfig(engine, advertise: advertise, mpath: kamailioModules))
            defer { kamailio.stop() }
            let swiftlet = try TestServer(config: try ToposDatabaseTests.serverConfig(engine, advertise: advertise))
            defer { swiftlet.stop() }
            func logs() -> String { "kamailio:\n\(kamailio.log.suffix(2000))\nswiftlet:\n\(swiftlet.log.suffix(2000))" }

            // Set up through Kamailio; the ACK, the callee's re-INVITE and the caller's BYE
            // through Swiftlet.
            let one = ToposSocketCall(callID: "kamdb-1-\(engine)")
            let (invite, ok) = try one.establish(through: kamailio.port)
            ToposRedisServerTests.checkHidden(one, invite: invite, ok: ok)
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

            // Set up through Swiftlet; the ACK and the callee's BYE through Kamailio.
            let two = ToposSocketCall(callID: "kamdb-2-\(engine)")
            let (invite2, ok2) = try two.establish(through: swiftlet.port)
            ToposRedisServerTests.checkHidden(two, invite: invite2, ok: ok2)
            do {
                ToposRedisServerTests.checkArrived(
                    try two.callerSends("ACK", through: kamailio.port, cseq: 1), "ACK", at: two.callee)
                #expect(try two.calleeHangsUp(through: kamailio.port, cseq: 1).headers("CSeq") == ["1 BYE"])
            } catch {
                Issue.record("\(error)\n\(logs())")
            }
            // Both dialogs are ended (iflags 0) in the shared table. (Through the SDK: a psql
            // process started while Kamailio runs is not reaped by Foundation.)
            let (core, db) = try engine.open()
            defer { core.shutdown() }
            let flags = try db.query("topos_d", columns: ["iflags"]).rows.map { $0[0].intValue }
            #expect(flags == [0, 0], "\(logs())")
        }
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// topos' `db` storage on the private PostgreSQL and MariaDB servers: the call of
    /// `ToposModuleTests` (each side sees only the proxy) with its records in `topos_d` and
    /// `topos_t`, removed by the clean timer once expired, and a dialog that a new core
    /// (a restarted server) still routes from the tables.
    @Suite struct ToposDatabaseTests {
        static func config(_ engine: DatabaseEngine, _ params: String = "") throws -> String {
            ToposModuleTests.config.replacingOccurrences(
                of: "loadmodule \"topos.so\"\nmodparam(\"topos\", \"storage\", \"memory\")",
                with: """
                    loadmodule "\(engine.module).so"
                    loadmodule "topos.so"
                    modparam("topos", "db_url", "\(try engine.url())")
                    \(params)
                    """)
        }

        /// `ToposRedisServerTests.config` (the running binary's, Kamailio's too) on the database.
        static func serverConfig(_ engine: DatabaseEngine, advertise: Int? = nil, mpath: String? = nil) throws
            -> String
        {
            ToposRedisServerTests.config(redisPort: 0, advertise: advertise, mpath: mpath).replacingOccurrences(
                of: """
                    loadmodule "ndb_redis.so"
                    loadmodule "topos.so"
                    loadmodule "topos_redis.so"
                    modparam("ndb_redis", "server", "name=srv;addr=127.0.0.1;port=0;db=4")
                    modparam("topos", "storage", "redis")
                    modparam("topos_redis", "serverid", "srv")
                    """,
                with: """
                    loadmodule "\(engine.module).so"
                    loadmodule "topos.so"
                    modparam("topos", "db_url", "\(try engine.url())")
                    """)
        }

        static func rows(_ engine: DatabaseEngine, _ sql: String) throws -> [String] {
            try engine.sql(sql).split(whereSeparator: \.isNewline).map {
                // mariadb separates columns with tabs, psql (unaligned) with '|'.
                String($0).replacingOccurrences(of: "\t", with: "|")
            }
        }

        @Test(arguments: DatabaseDriverTests.engines)
        func aCallKeepsItsRecordsInTheTablesUntilTheyExpire(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "topos_d", "topos_t"])
            // Branches expire at once, dialogs when ended (BYE).
            let config = try Self.config(
                engine, "modparam(\"topos\", \"branch_expire\", 0)\nmodparam(\"topos\", \"clean_interval\", 5)")
            let (core, invite, uid) = try ToposModuleTests().establish(config: config)
            defer { core.shutdown() }
            #expect(
                try Self.rows(
                    engine,
                    "select a_uuid, b_uuid, a_callid, a_tag, b_tag, a_contact, b_contact, as_contact, bs_contact, iflags, s_method, s_cseq from topos_d"
                )
                    == [
                        "a\(uid)|b\(uid)|topos-1@127.0.0.1|a1|b1|sip:alice@127.0.0.1:35070|sip:bob@127.0.0.1:35080"
                            + "|<sip:a\(uid)@127.0.0.1:35060>|<sip:b\(uid)@127.0.0.1:35060>|2|INVITE|1"
                    ])
            let routes = try Self.rows(engine, "select a_rr, b_rr, s_rr from topos_d")
            #expect(routes == ["<sip:127.0.0.3:35090;lr>|<sip:127.0.0.4:35095;lr>|<sip:127.0.0.1:35060;lr;ftag=a1>"])
            let branch = try #require(
                ToposModuleTests.headers(invite, "Via").first?.components(separatedBy: ";branch=").last)
            #expect(
                try Self.rows(engine, "select x_vbranch, a_uuid, x_via, y_rr, b_tag, direction from topos_t")
                    == [
                        "\(branch)|a\(uid)|SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p1,SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport|<sip:127.0.0.4:35095;lr>|b1|0"
                    ])

            // The branch has expired (branch_expire 0), the confirmed dialog stays.
            core.advance(milliseconds: 6000)
            #expect(try Self.rows(engine, "select count(*) from topos_t") == ["0"])
            #expect(try Self.rows(engine, "select count(*) from topos_d") == ["1"])

            // ACK and the callee's BYE are routed from the dialog row; the BYE ends it.
            try ToposModuleTests().ackAndCalleeBye(core, uid)
            #expect(try Self.rows(engine, "select iflags from topos_d") == ["0"])
            #expect(try Self.rows(engine, "select s_method from topos_t order by s_method") == ["ACK", "BYE"])
            core.advance(milliseconds: 5000)
            #expect(try Self.rows(engine, "select count(*) from topos_d") == ["0"])
            #expect(try Self.rows(engine, "select count(*) from topos_t") == ["0"])
        }

        /// The dialog outlives the core that set it up: a new one (a restarted server) on the
        /// same tables routes the ACK and the callee's BYE.
        @Test(arguments: DatabaseDriverTests.engines)
        func aNewCoreRoutesADialogFromTheTables(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "topos_d", "topos_t"])
            let config = try Self.config(engine)
            let (first, _, uid) = try ToposModuleTests().establish(config: config)
            first.shutdown()
            // tm's branch ids repeat from one core to the next in one test process (a new
            // server process draws new ones): the INVITE's branch row would be taken for the
            // BYE's. The dialog row is what routes the dialog.
            try engine.sql("delete from topos_t")
            let second = try EmbeddedCore(config: config, modulePath: productsDirectory)
            defer { second.shutdown() }
            try ToposModuleTests().ackAndCalleeBye(second, uid)
        }

        /// The running binary restarted mid-dialog: the caller's BYE still reaches the callee.
        @Test(arguments: DatabaseDriverTests.engines)
        func aDialogSurvivesARestartOfTheServer(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "topos_d", "topos_t"])
            let config = try Self.serverConfig(engine)
            try #require(!config.contains("redis"))
            var server = try TestServer(config: config)
            let port = server.port
            let call = ToposSocketCall(callID: "db-restart-\(engine)")
            let (invite, ok) = try call.establish(through: port)
            ToposRedisServerTests.checkHidden(call, invite: invite, ok: ok)
            ToposRedisServerTests.checkArrived(
                try call.callerSends("ACK", through: port, cseq: 1), "ACK", at: call.callee)

            #expect(server.stop() == 0)
            server = try TestServer(config: config, port: port)
            defer { server.stop() }
            let byeOK = try call.callerHangsUp(through: port, cseq: 2)
            #expect(byeOK.headers("CSeq") == ["2 BYE"])
            #expect(byeOK.headers("Via").count == 1)
            #expect(try Self.rows(engine, "select iflags from topos_d") == ["0"])
        }

        /// While the database is down an INVITE cannot be recorded and is not sent (it would
        /// show the caller's topology); once the server is back the same core records and
        /// strips the next one (its connection is opened again).
        @Test(arguments: DatabaseDriverTests.engines)
        func whileTheDatabaseIsDownNothingLeaks(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "topos_d", "topos_t"])
            let core = try EmbeddedCore(config: try Self.config(engine), modulePath: productsDirectory)
            defer { core.shutdown() }
            func stopServer() throws {
                if engine == .postgres {
                    try SharedDatabaseServers.postgres().stop()
                } else {
                    try SharedDatabaseServers.mariadb().stop()
                }
            }
            func startServer() throws {
                if engine == .postgres {
                    try SharedDatabaseServers.postgres().start()
                } else {
                    try SharedDatabaseServers.mariadb().start()
                }
            }
            try stopServer()
            core.receive(ToposModuleTests.invite, from: ToposModuleTests.upstreamProxy)
            let sent = core.takeSent()
            #expect(!sent.contains { $0.destination.address.description == ToposModuleTests.downstreamProxy })
            try startServer()

            let invite = ToposModuleTests.invite.replacingOccurrences(of: "topos-1@", with: "topos-2@")
                .replacingOccurrences(of: "z9hG4bK-p1", with: "z9hG4bK-p9")
            core.receive(invite, from: ToposModuleTests.upstreamProxy)
            let out = try #require(
                core.takeSent().first { $0.destination.address.description == ToposModuleTests.downstreamProxy })
            #expect(ToposModuleTests.headers(out.text, "Via").count == 1)
            #expect(ToposModuleTests.headers(out.text, "Contact").first?.hasPrefix("<sip:btpsh-") == true)
            #expect(try Self.rows(engine, "select a_callid from topos_d") == ["topos-2@127.0.0.1"])
        }

        /// An early-dialog UPDATE finds the INVITE's branch row (by Call-ID and To-tag, the
        /// 180's `y_rr` and To-tag).
        @Test(arguments: DatabaseDriverTests.engines)
        func anEarlyUpdateUsesTheInviteBranchRow(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "topos_d", "topos_t"])
            try ToposModuleTests().earlyUpdate(config: try Self.config(engine))
        }

        @Test func withoutTheDatabaseModuleStartUpFails() {
            let config = ToposModuleTests.config.replacingOccurrences(
                of: "modparam(\"topos\", \"storage\", \"memory\")", with: "")
            #expect(throws: (any Error).self) { _ = try EmbeddedCore(config: config, modulePath: productsDirectory) }
        }
    }
}

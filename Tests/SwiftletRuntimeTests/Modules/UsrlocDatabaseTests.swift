import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// usrloc's `db_mode` 1 and 2 on the private PostgreSQL and MariaDB servers: REGISTERs
    /// through registrar change the `location` table (at once, or on the timer), and a new
    /// core loads the bindings back at start-up.
    @Suite struct UsrlocDatabaseTests {
        static func core(_ engine: DatabaseEngine, mode: Int) throws -> EmbeddedCore {
            let config = RegistrarModuleTests.config(
                """
                modparam("usrloc", "db_url", "\(try engine.url())")
                modparam("usrloc", "db_mode", \(mode))
                """
            ).replacingOccurrences(
                of: "loadmodule \"usrloc.so\"", with: "loadmodule \"\(engine.module).so\"\nloadmodule \"usrloc.so\"")
            return try EmbeddedCore(config: config, modulePath: productsDirectory)
        }

        static func rows(_ engine: DatabaseEngine, _ sql: String) throws -> [String] {
            try engine.sql(sql).split(whereSeparator: \.isNewline).map(String.init)
        }

        func reply(_ core: EmbeddedCore, _ text: String) -> ReceivedSIP {
            core.receive(text, from: RegistrarModuleTests.phone)
            return ReceivedSIP(text: core.takeSent().last?.text ?? "", sourcePort: 5060)
        }

        @Test(arguments: DatabaseDriverTests.engines)
        func writeThroughChangesTheTableAtOnce(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "location"])
            let core = try Self.core(engine, mode: 1)
            defer { core.shutdown() }
            _ = reply(
                core,
                RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.1>;q=0.5", "<sip:alice@10.0.0.2>"]))
            #expect(
                try Self.rows(engine, "select contact from location where username = 'alice' order by contact")
                    == ["sip:alice@10.0.0.1", "sip:alice@10.0.0.2"])
            _ = reply(core, RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.1>;q=0.5"], cseq: 2))
            #expect(try Self.rows(engine, "select cseq from location where contact = 'sip:alice@10.0.0.1'") == ["2"])
            _ = reply(
                core, RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.2>"], expires: 0, cseq: 3))
            #expect(try Self.rows(engine, "select contact from location") == ["sip:alice@10.0.0.1"])
            #expect(
                try Self.rows(engine, "select user_agent from location where contact = 'sip:alice@10.0.0.1'")
                    == ["phone/1.0"])
        }

        /// A restart keeps the bindings in every mode that stores them: write-through,
        /// write-back (flushed at shutdown) and database-only.
        @Test(arguments: DatabaseDriverTests.engines, [1, 2, 3])
        func aNewCoreLoadsTheBindingsAtStartUp(engine: DatabaseEngine, mode: Int) throws {
            try engine.createSchema(["version", "location"])
            let first = try Self.core(engine, mode: mode)
            _ = reply(first, RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.1>;q=0.5"]))
            first.shutdown()
            let second = try Self.core(engine, mode: mode)
            defer { second.shutdown() }
            let listed = reply(second, RegistrarModuleTests.register(contacts: [], expires: nil, cseq: 2))
            let contact = listed.headers("Contact").first ?? ""
            #expect(contact.hasPrefix("<sip:alice@10.0.0.1>;q=0.5;expires="), "\(listed)")
            let left = Int(contact.split(separator: "=").last ?? "") ?? 0
            #expect((590...600).contains(left))
            #expect(
                reply(second, RegistrarModuleTests.request("OPTIONS", user: "alice")).firstLine
                    == "SIP/2.0 200 ru=sip:alice@10.0.0.1 du=<null> branches=<null>")
        }

        @Test(arguments: DatabaseDriverTests.engines)
        func writeBackWritesOnTheTimer(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "location"])
            let core = try Self.core(engine, mode: 2)
            defer { core.shutdown() }
            _ = reply(core, RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.1>"]))
            #expect(try Self.rows(engine, "select count(*) from location") == ["0"])
            core.advance(milliseconds: 10_500)
            #expect(try Self.rows(engine, "select contact from location") == ["sip:alice@10.0.0.1"])
            _ = reply(core, RegistrarModuleTests.register(contacts: ["*"], expires: 0, cseq: 2))
            #expect(try Self.rows(engine, "select count(*) from location") == ["1"])
            #expect(
                core.context.rpcs.call(RPCRequest(method: "ul.flush", params: [])) == .success(.null))
            #expect(try Self.rows(engine, "select count(*) from location") == ["0"])
        }

        /// Write-back sends an AoR's inserts, updates and deletes together on the timer: the
        /// table ends as separate statements would leave it.
        @Test(arguments: DatabaseDriverTests.engines)
        func writeBackFlushesUpdatesAndDeletes(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "location"])
            let core = try Self.core(engine, mode: 2)
            defer { core.shutdown() }
            _ = reply(
                core, RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.1>", "<sip:alice@10.0.0.2>"]))
            _ = reply(core, RegistrarModuleTests.register(user: "bob", contacts: ["<sip:bob@10.0.0.3>"], callID: "b"))
            core.advance(milliseconds: 10_500)
            #expect(
                try Self.rows(engine, "select contact from location order by contact")
                    == ["sip:alice@10.0.0.1", "sip:alice@10.0.0.2", "sip:bob@10.0.0.3"])
            #expect(
                try Self.rows(engine, "select username from location where contact = 'sip:bob@10.0.0.3'") == ["bob"])
            _ = reply(
                core,
                RegistrarModuleTests.register(
                    contacts: ["<sip:alice@10.0.0.1>;expires=300", "<sip:alice@10.0.0.2>;expires=0"], cseq: 2))
            core.advance(milliseconds: 10_500)
            #expect(
                try Self.rows(engine, "select contact from location where username = 'alice'") == ["sip:alice@10.0.0.1"]
            )
            #expect(try Self.rows(engine, "select cseq from location where contact = 'sip:alice@10.0.0.1'") == ["2"])
            #expect(try Self.rows(engine, "select count(*) from location where username = 'bob'") == ["1"])
        }

        /// An UPDATE that finds no row (someone deleted it) is followed by an INSERT, as when
        /// each statement runs on its own.
        @Test(arguments: DatabaseDriverTests.engines)
        func writeBackInsertsTheRowAnUpdateDidNotFind(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "location"])
            let core = try Self.core(engine, mode: 2)
            defer { core.shutdown() }
            _ = reply(core, RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.1>"]))
            core.advance(milliseconds: 10_500)
            #expect(try Self.rows(engine, "select count(*) from location") == ["1"])
            _ = try engine.sql("delete from location")
            _ = reply(core, RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.1>"], cseq: 2))
            _ = reply(core, RegistrarModuleTests.register(user: "bob", contacts: ["<sip:bob@10.0.0.3>"], callID: "b"))
            core.advance(milliseconds: 10_500)
            #expect(try Self.rows(engine, "select cseq from location where contact = 'sip:alice@10.0.0.1'") == ["2"])
            #expect(try Self.rows(engine, "select count(*) from location") == ["2"])
        }

        /// `db_mode` 3: the table is the only copy. A REGISTER is written at once, a row
        /// another server wrote is found without a restart, nothing stays in memory, and the
        /// timer deletes expired rows but keeps permanent ones (`expires` 0).
        @Test(arguments: DatabaseDriverTests.engines)
        func databaseOnlyReadsAndWritesTheTable(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "location"])
            let core = try Self.core(engine, mode: 3)
            defer { core.shutdown() }
            _ = reply(core, RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.1>;q=0.5"]))
            #expect(try Self.rows(engine, "select contact from location") == ["sip:alice@10.0.0.1"])
            _ = try engine.sql(
                """
                insert into location (ruid, username, contact, expires, q, callid, cseq, last_modified, user_agent)
                values ('other-1', 'bob', 'sip:bob@10.0.0.9', '2037-01-01 00:00:00', 1, 'c-b', 1,
                '2026-01-01 00:00:00', 'other server')
                """)
            #expect(
                reply(core, RegistrarModuleTests.request("OPTIONS", user: "bob")).firstLine
                    == "SIP/2.0 200 ru=sip:bob@10.0.0.9 du=<null> branches=<null>")
            let dump = core.context.rpcs.call(
                RPCRequest(method: "ul.lookup", params: [.string("location"), .string("bob")]))
            #expect("\(dump)".contains("sip:bob@10.0.0.9"), "\(dump)")
            _ = try engine.sql("delete from location where username = 'bob'")
            #expect(
                reply(core, RegistrarModuleTests.request("OPTIONS", user: "bob")).firstLine.hasPrefix("SIP/2.0 404"))
            _ = reply(
                core, RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.1>"], expires: 0, cseq: 2))
            #expect(try Self.rows(engine, "select count(*) from location") == ["0"])
            _ = try engine.sql(
                """
                insert into location (ruid, username, contact, expires, q, callid, cseq, last_modified)
                values ('old-1', 'carol', 'sip:carol@10.0.0.3', '2001-01-01 00:00:00', 1, 'c-c', 1, '2001-01-01 00:00:00'),
                ('perm-1', 'dave', 'sip:dave@10.0.0.4', '\(DatabaseValue.formatDateTime(0))', 1, 'c-d', 1,
                '2001-01-01 00:00:00')
                """)
            core.advance(milliseconds: 10_500)
            #expect(try Self.rows(engine, "select ruid from location") == ["perm-1"])
        }

        /// `db_mode` 4: the table is loaded at start-up and never written.
        @Test(arguments: DatabaseDriverTests.engines)
        func readOnlyLoadsButNeverWrites(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "location"])
            let writer = try Self.core(engine, mode: 1)
            _ = reply(writer, RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.1>"]))
            writer.shutdown()
            let core = try Self.core(engine, mode: 4)
            defer { core.shutdown() }
            #expect(
                reply(core, RegistrarModuleTests.request("OPTIONS", user: "alice")).firstLine
                    == "SIP/2.0 200 ru=sip:alice@10.0.0.1 du=<null> branches=<null>")
            _ = reply(core, RegistrarModuleTests.register(user: "bob", contacts: ["<sip:bob@10.0.0.2>"]))
            #expect(
                reply(core, RegistrarModuleTests.request("OPTIONS", user: "bob")).firstLine
                    == "SIP/2.0 200 ru=sip:bob@10.0.0.2 du=<null> branches=<null>")
            core.advance(milliseconds: 10_500)
            #expect(try Self.rows(engine, "select username from location") == ["alice"])
        }
    }
}

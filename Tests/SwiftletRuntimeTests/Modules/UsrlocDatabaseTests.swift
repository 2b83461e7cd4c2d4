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

        @Test(arguments: DatabaseDriverTests.engines)
        func aNewCoreLoadsTheBindingsAtStartUp(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "location"])
            let first = try Self.core(engine, mode: 1)
            _ = reply(first, RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.1>;q=0.5"]))
            first.shutdown()
            let second = try Self.core(engine, mode: 1)
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
    }
}

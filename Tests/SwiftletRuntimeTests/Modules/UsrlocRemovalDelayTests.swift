import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// usrloc's `rm_expired_delay` with `db_mode` 3 (where Kamailio has it): an expired row
    /// stays in the table that long past its expiry (`lookup()` ignores it meanwhile), then
    /// the timer runs `event_route[usrloc:contact-expired]` for it and deletes it.
    @Suite struct UsrlocRemovalDelayTests {
        static func core(_ engine: DatabaseEngine, delay: Int) throws -> EmbeddedCore {
            let config = UsrlocExpiredEventTests.config(
                """
                modparam("usrloc", "db_url", "\(try engine.url())")
                modparam("usrloc", "db_mode", 3)
                modparam("usrloc", "rm_expired_delay", \(delay))
                """
            ).replacingOccurrences(
                of: "loadmodule \"usrloc.so\"", with: "loadmodule \"\(engine.module).so\"\nloadmodule \"usrloc.so\"")
            return try EmbeddedCore(config: config, modulePath: productsDirectory)
        }

        func reason(_ core: EmbeddedCore) -> String {
            UsrlocExpiredEventTests().reason(core)
        }

        @Test(arguments: DatabaseDriverTests.engines)
        func expiredRowsStayForTheDelay(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "location"])
            let core = try Self.core(engine, delay: 30)
            defer { core.shutdown() }
            core.receive(
                RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.1>;expires=60"]),
                from: RegistrarModuleTests.phone)
            #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 OK"])
            core.advance(milliseconds: 70_000)
            // Expired at 60 s, kept until 90 s: still a row, not a binding.
            #expect(try UsrlocDatabaseTests.rows(engine, "select contact from location") == ["sip:alice@10.0.0.1"])
            #expect(
                core.context.rpcs.call(
                    RPCRequest(method: "ul.lookup", params: [.string("location"), .string("alice")]))
                    == .failure(RPCError(500, "AOR has no contacts")))
            #expect(reason(core) == " exp=0 ruid=")
            core.advance(milliseconds: 30_000)
            #expect(try UsrlocDatabaseTests.rows(engine, "select count(*) from location") == ["0"])
            let r = reason(core)
            #expect(r.hasPrefix("[alice sip:alice@10.0.0.1 location reg-1 phone/1.0 1] exp="), "\(r)")
        }
    }
}

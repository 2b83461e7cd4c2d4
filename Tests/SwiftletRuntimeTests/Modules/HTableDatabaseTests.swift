import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// htable with `dbtable` on private PostgreSQL and MariaDB servers: the table is loaded at
/// start-up (arrays, integer values, expiry from the `expires` column), `htable.store` and
/// `htable.reload` write and read it, and `dbmode=1` writes it back at shutdown.
@Suite struct HTableDatabaseTests {
    static let engines = DatabaseEngine.allCases.filter(\.isInstalled)

    /// A table of htable's layout under its own name (other suites recreate `htable`).
    static func createTable(_ engine: DatabaseEngine, _ name: String) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/dbschema.sh").path
        let sql = try runProcess("/bin/bash", [script, engine.rawValue, "--drop", "htable"])
        let mine = sql.split(separator: "\n").filter { !$0.contains("version") }.joined(separator: "\n")
        try engine.sql(mine.replacingOccurrences(of: "htable", with: name))
    }

    /// The rows as `name|value_type|value|expires>0`, sorted (here: collations differ).
    static func rows(_ engine: DatabaseEngine, _ table: String) throws -> [String] {
        try engine.sql(
            "SELECT key_name, value_type, key_value, CASE WHEN expires > 0 THEN 1 ELSE 0 END FROM \(table)"
        ).replacingOccurrences(of: "\t", with: "|").split(separator: "\n").map(String.init).sorted()
    }

    @Test(arguments: engines)
    func loadStoreReloadAndWriteBackAtShutdown(engine: DatabaseEngine) throws {
        let table = "ht_\(engine.rawValue)_\(UInt32.random(in: 0..<UInt32.max))"
        try Self.createTable(engine, table)
        let now = Int(Date().timeIntervalSince1970)
        try engine.sql(
            """
            INSERT INTO \(table) (key_name, key_type, value_type, key_value, expires) VALUES
            ('a', 0, 0, 'alpha', 0), ('n', 0, 1, '42', 0), ('arr', 1, 0, 'x', 0), ('arr', 1, 0, 'y', 0),
            ('z', 0, 0, 'last', 0), ('old', 0, 0, 'gone', \(now - 100)), ('soon', 0, 0, 's', \(now + 100));
            """)
        let core = try EmbeddedCore(
            config: HTableModuleTests.config(
                """
                request_route {
                    sl_send_reply("200", "$sht(t=>a) $sht(t=>n) $sht(t=>arr[0]) $sht(t=>arr[1]) $sht(t=>arr::size) $sht(t=>z) $sht(t=>old) $shtex(t=>soon)");
                }
                """,
                tables: [
                    "t=>size=4;autoexpire=600;dbtable=\(table);dbmode=1",
                    "p=>size=2;dbtable=\(table);cols='key_name,key_value,key_type'",
                ],
                extra: """
                    loadmodule "\(engine.module).so"
                    modparam("htable", "db_url", "\(try engine.url())")
                    modparam("htable", "db_expires", 1)
                    """), modulePath: productsDirectory)
        let loaded = HTableModuleTests.ask(core, "x").split(separator: " ").map(String.init)
        // The two rows of the array come in the database's order.
        #expect(
            loaded.count == 8
                && [loaded[0], loaded[1], loaded[4], loaded[5], loaded[6]] == ["alpha", "42", "2", "last", "<null>"])
        #expect(Set(loaded.dropFirst(2).prefix(2)) == ["x", "y"])
        #expect((80...100).contains(Int(loaded.last ?? "") ?? 0), "\(loaded)")
        let rpc = { (method: String, params: [RPCValue]) in
            core.context.rpcs.call(RPCRequest(method: method, params: params))
        }
        // cols: the columns after the name packed into a string.
        #expect(try rpc("htable.get", [.string("p"), .string("a")]).get()["item"]?["value"] == .string("alpha,0"))
        // htable.store replaces the rows with the items (integers with value_type 1).
        #expect(
            rpc("htable.sets", [.string("t"), .string("b"), .string("beta")])
                == .success(.string("Ok. Key set to new value.")))
        #expect(rpc("htable.store", [.string("t")]) == .success(.string("Ok. Htable successfully stored to DB.")))
        let stored = try Self.rows(engine, table)
        #expect(
            stored
                == [
                    "a|0|alpha|1", "arr::size|1|2|1", "arr[0]|0|\(loaded[2])|1", "arr[1]|0|\(loaded[3])|1",
                    "b|0|beta|1",
                    "n|1|42|1", "soon|0|s|1", "z|0|last|1",
                ].sorted(), "\(stored)")
        // htable.reload replaces the items with the rows.
        try engine.sql(
            "DELETE FROM \(table) WHERE key_name = 'b'; INSERT INTO \(table) (key_name, key_value) VALUES ('c', 'gamma');"
        )
        #expect(rpc("htable.reload", [.string("t")]) == .success(.string("Ok. Htable reloaded.")))
        #expect(
            rpc("htable.get", [.string("t"), .string("b")])
                == .failure(RPCError(500, "Key name doesn't exist in htable.")))
        #expect(try rpc("htable.get", [.string("t"), .string("c")]).get()["item"]?["value"] == .string("gamma"))
        #expect(rpc("htable.reload", [.string("nope")]) == .failure(RPCError(500, "No such htable")))
        // dbmode=1: written back when the module is destroyed.
        #expect(
            rpc("htable.seti", [.string("t"), .string("d"), .int(7)]) == .success(.string("Ok. Key set to new value.")))
        core.shutdown()
        #expect(try Self.rows(engine, table).contains("d|1|7|1"))
        #expect(try Self.rows(engine, table).contains("c|0|gamma|1"))
        try engine.sql("DROP TABLE \(table)")
    }

    @Test func withoutDBURLReloadAndStoreFault() throws {
        let core = try EmbeddedCore(
            config: HTableModuleTests.config("request_route { drop; }", tables: ["t=>size=2;dbtable=x"]),
            modulePath: productsDirectory)
        #expect(
            core.context.rpcs.call(RPCRequest(method: "htable.reload", params: [.string("t")]))
                == .failure(RPCError(500, "No htable db_url")))
        #expect(
            core.context.rpcs.call(RPCRequest(method: "htable.store", params: [.string("t")]))
                == .failure(RPCError(500, "No htable db_url")))
    }
}

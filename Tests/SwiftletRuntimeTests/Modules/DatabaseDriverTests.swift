import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// The SDK's database API (`Database`) through the db_postgres and db_mysql drivers against
/// private PostgreSQL and MariaDB servers on loopback, on Kamailio's schema from
/// scripts/dbschema.sh: every test runs on both engines.
@Suite(.serialized)
struct DatabaseDriverTests {
    static let engines = DatabaseEngine.allCases.filter(\.isInstalled)

    @Test(arguments: engines)
    func insertQueryUpdateDelete(engine: DatabaseEngine) throws {
        try engine.createSchema(["version", "subscriber"])
        let (core, db) = try engine.open()
        defer { core.shutdown() }
        for (u, d, p) in [("alice", "a.example", "pa"), ("bob", "a.example", "pb"), ("carol", "b.example", "pc")] {
            try db.insert(
                "subscriber",
                [("username", .string(u)), ("domain", .str(d)), ("password", .string(p)), ("ha1", .string("h-\(u)"))])
        }
        let id = try db.lastInsertedID()
        #expect(id == 3)
        let r = try db.query(
            "subscriber", columns: ["username", "password", "id"],
            where: [.init("domain", .equal, .string("a.example"))],
            orderBy: "username")
        #expect(r.columns == ["username", "password", "id"])
        #expect(r.rows == [[.string("alice"), .string("pa"), .int(1)], [.string("bob"), .string("pb"), .int(2)]])
        #expect(r[1, "PASSWORD"] == .string("pb"))
        // Operators.
        func names(_ c: [DatabaseCondition]) throws -> [String] {
            try db.query("subscriber", columns: ["username"], where: c, orderBy: "id").rows.map {
                $0[0].textValue ?? ""
            }
        }
        #expect(try names([.init("id", .greater, .int(1))]) == ["bob", "carol"])
        #expect(
            try names([.init("id", .lessOrEqual, .int(2)), .init("username", .notEqual, .string("alice"))]) == ["bob"])
        #expect(try names([.init("id", .greaterOrEqual, .bigint(3))]) == ["carol"])
        #expect(try names([.init("id", .less, .int(2))]) == ["alice"])
        #expect(try names([.init("id", .bitwiseAnd, .int(2))]) == ["bob", "carol"])
        #expect(try db.query("subscriber", orderBy: "id", limit: 1).rows.count == 1)
        // Update and delete report the rows they touched.
        let changed = try db.update(
            "subscriber", set: [("password", .string("new"))], where: [.init("domain", .equal, .string("a.example"))])
        #expect(changed == 2)
        #expect(
            try db.query("subscriber", columns: ["password"], where: [.init("username", .equal, .string("bob"))]).rows
                == [[.string("new")]])
        #expect(try db.delete("subscriber", where: [.init("username", .equal, .string("alice"))]) == 1)
        #expect(try names([]) == ["bob", "carol"])
        #expect(try db.delete("subscriber", where: []) == 2)
        #expect(try db.query("subscriber").rows.isEmpty)
    }

    @Test(arguments: engines)
    func nullsTextBlobsNumbersAndTimes(engine: DatabaseEngine) throws {
        try engine.createSchema(["version", "location"])
        let (core, db) = try engine.open()
        defer { core.shutdown() }
        let tricky = "it's a \"quote\" \\ back\\slash; -- ü€ \n line"
        let expires = 1_900_000_000
        try db.insert(
            "location",
            [
                ("ruid", .string("r1")), ("username", .string(tricky)), ("domain", .null),
                ("contact", .string("sip:a@h")),
                ("expires", .datetime(expires)), ("q", .double(0.5)), ("cseq", .int(-7)), ("methods", .null),
            ])
        try db.insert("location", [("ruid", .string("r2")), ("username", .string("b")), ("domain", .string("d"))])
        let r = try db.query(
            "location", columns: ["username", "domain", "expires", "q", "cseq", "methods", "path"],
            where: [.init("ruid", .equal, .string("r1"))])
        #expect(r.rows == [[.string(tricky), .null, .datetime(expires), .double(0.5), .int(-7), .null, .null]])
        // NULL in conditions: = is IS NULL, <> is IS NOT NULL.
        #expect(
            try db.query("location", columns: ["ruid"], where: [.init("domain", .equal, .null)]).rows == [
                [.string("r1")]
            ])
        #expect(
            try db.query("location", columns: ["ruid"], where: [.init("domain", .notEqual, .null)]).rows == [
                [.string("r2")]
            ])
        #expect(
            try db.query("location", columns: ["ruid"], where: [.init("username", .equal, .string(tricky))]).rows == [
                [.string("r1")]
            ])
        // Schema defaults come back typed.
        let d = try db.query(
            "location", columns: ["q", "cseq", "callid", "last_modified"], where: [.init("ruid", .equal, .string("r2"))]
        )
        #expect(
            d.rows == [
                [
                    .double(1), .int(1), .string("Default-Call-ID"),
                    .datetime(DatabaseValue.parseDateTime("2000-01-01 00:00:01")!),
                ]
            ])

        // Blobs: every byte value, NUL included, through a bytea / blob column.
        let blobTable = "blobs_\(engine)"
        let blobType = engine == .postgres ? "BYTEA" : "LONGBLOB"
        try db.rawQuery("DROP TABLE IF EXISTS \(blobTable)")
        try db.rawQuery("CREATE TABLE \(blobTable) (k INTEGER, b \(blobType), n BIGINT, t TEXT)")
        let bytes = (0...255).map { UInt8($0) } + [0, 0, 39, 92]
        try db.insert(blobTable, [("k", .int(1)), ("b", .blob(bytes)), ("n", .bigint(Int64.max)), ("t", .string(""))])
        try db.insert(blobTable, [("k", .int(2)), ("b", .blob([])), ("n", .null), ("t", .null)])
        let b = try db.query(blobTable, columns: ["b", "n", "t"], orderBy: "k")
        #expect(b.rows == [[.blob(bytes), .bigint(Int64.max), .string("")], [.blob([]), .null, .null]])
        #expect(try db.query(blobTable, columns: ["k"], where: [.init("b", .equal, .blob(bytes))]).rows == [[.int(1)]])
        try db.rawQuery("DROP TABLE \(blobTable)")
    }

    @Test(arguments: engines)
    func replaceInsertsOrReplacesOnTheUniqueKeys(engine: DatabaseEngine) throws {
        try engine.createSchema(["version", "subscriber"])
        let (core, db) = try engine.open()
        defer { core.shutdown() }
        let row: (String) -> [(String, DatabaseValue)] = { pw in
            [("username", .string("alice")), ("domain", .string("a.example")), ("password", .string(pw))]
        }
        try db.replace("subscriber", row("one"), uniqueKeys: 2)
        try db.replace("subscriber", row("two"), uniqueKeys: 2)
        try db.replace(
            "subscriber",
            [("username", .string("alice")), ("domain", .string("b.example")), ("password", .string("x"))],
            uniqueKeys: 2)
        let r = try db.query("subscriber", columns: ["domain", "password"], orderBy: "domain")
        #expect(r.rows == [[.string("a.example"), .string("two")], [.string("b.example"), .string("x")]])
        // insert_update: the colliding row gets the new password.
        try db.insertUpdate(
            "subscriber",
            [("username", .string("alice")), ("domain", .string("a.example")), ("password", .string("three"))],
            update: ["password"], uniqueKeys: ["username", "domain"])
        #expect(
            try db.query("subscriber", columns: ["password"], where: [.init("domain", .equal, .string("a.example"))])
                .rows
                == [[.string("three")]])
        // A refused statement is a query error, and the connection goes on.
        #expect(throws: DatabaseError.self) {
            try db.insert("subscriber", [("username", .string("alice")), ("domain", .string("b.example"))])
        }
        #expect(try db.query("subscriber").rows.count == 2)
    }

    @Test(arguments: engines)
    func tableVersionsAsKamailioChecksThem(engine: DatabaseEngine) throws {
        try engine.createSchema()
        let (core, db) = try engine.open()
        defer { core.shutdown() }
        let expected = [
            "version": 1, "subscriber": 7, "location": 9, "acc": 5, "missed_calls": 4, "address": 6, "trusted": 6,
            "domain": 2, "dbaliases": 1, "speed_dial": 2, "htable": 2, "dispatcher": 4, "dialog": 7, "dialog_vars": 1,
            "topos_d": 2, "topos_t": 2,
        ]
        for (table, version) in expected {
            try db.checkTableVersion(table, version: version)
        }
        #expect(throws: DatabaseError.tableVersion(table: "location", found: 9, expected: 8)) {
            try db.checkTableVersion("location", version: 8)
        }
        #expect(try db.tableVersion("no_such_table") == 0)
        // Every table answers a query.
        for table in expected.keys { _ = try db.query(table, limit: 1) }
    }

    @Test(arguments: engines)
    func reconnectsAfterTheServerRestarts(engine: DatabaseEngine) throws {
        try engine.createSchema(["version", "htable"])
        let (core, db) = try engine.open()
        defer { core.shutdown() }
        try db.insert("htable", [("key_name", .string("k1")), ("key_value", .string("v1"))])
        #expect(db.isConnected)
        try engine.restart()
        // The old connection is broken; the next statement connects again and runs.
        #expect(try db.query("htable", columns: ["key_value"]).rows == [[.string("v1")]])
        try db.insert("htable", [("key_name", .string("k2")), ("key_value", .string("v2"))])
        #expect(try db.query("htable").rows.count == 2)
    }

    @Test(arguments: engines)
    func eachThreadHasItsOwnConnection(engine: DatabaseEngine) throws {
        let (core, db) = try engine.open()
        defer { core.shutdown() }
        let sql = engine == .postgres ? "SELECT pg_backend_pid()" : "SELECT CONNECTION_ID()"
        let mine = try db.rawQuery(sql).rows.first?.first?.intValue
        let again = try db.rawQuery(sql).rows.first?.first?.intValue
        nonisolated(unsafe) var other: Int?
        let done = DispatchSemaphore(value: 0)
        Thread {
            other = try? db.rawQuery(sql).rows.first?.first?.intValue
            done.signal()
        }.start()
        done.wait()
        #expect(mine != nil && mine == again)
        #expect(other != nil && other != mine)
    }

    @Test(arguments: engines)
    func failuresAreReported(engine: DatabaseEngine) throws {
        let (core, db) = try engine.open()
        defer { core.shutdown() }
        #expect {
            try db.rawQuery("SELECT * FROM no_such_table_here")
        } throws: { error in
            guard case DatabaseError.query(let m) = error else { return false }
            return m.contains("no_such_table_here")
        }
        // Nothing listens on the port: connecting fails.
        let closed = try Database(
            url: "\(engine.rawValue)://u:p@127.0.0.1:\(freeUDPPort())/kamailio", core: core.context)
        #expect {
            try closed.connect()
        } throws: { error in
            if case DatabaseError.connection = error { return true }
            return false
        }
        // A scheme whose driver is not loaded, a malformed URL.
        let other = engine == .postgres ? "mysql" : "postgres"
        #expect(throws: DatabaseError.noDriver(other)) { try Database(url: "\(other)://h/db", core: core.context) }
        #expect(throws: DatabaseError.badURL("\(engine.rawValue):/h/db")) {
            try Database(url: "\(engine.rawValue):/h/db", core: core.context)
        }
    }

    @Test func onlyTheDriverModulesLinkTheClientLibraries() throws {
        let core =
            try runProcess("/usr/bin/ldd", [swiftletBinary])
            + runProcess("/usr/bin/ldd", [productsDirectory + "/libSwiftletCore.so"])
        #expect(!core.contains("libpq") && !core.contains("libmariadb"))
        #expect(try runProcess("/usr/bin/ldd", [productsDirectory + "/libdb_postgres.so"]).contains("libpq.so"))
        #expect(try runProcess("/usr/bin/ldd", [productsDirectory + "/libdb_mysql.so"]).contains("libmariadb.so"))
    }
}

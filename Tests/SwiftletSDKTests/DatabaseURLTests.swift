import Testing

@testable import SwiftletSDK

/// `DatabaseURL` parses db_url values as Kamailio's srdb1 `parse_db_url` does.
struct DatabaseURLTests {
    @Test func fullURL() throws {
        let u = try DatabaseURL(parsing: "postgres://kamailio:s3cret@db.example.com:5433/kamailio")
        #expect(u.scheme == "postgres")
        #expect(u.user == "kamailio")
        #expect(u.password == "s3cret")
        #expect(u.host == "db.example.com")
        #expect(u.port == 5433)
        #expect(u.database == "kamailio")
        #expect(u.description == "postgres://kamailio:***@db.example.com:5433/kamailio")
    }

    @Test func optionalParts() throws {
        let a = try DatabaseURL(parsing: "mysql://localhost/kdb")
        #expect(a.user == nil && a.password == nil && a.host == "localhost" && a.port == nil && a.database == "kdb")
        let b = try DatabaseURL(parsing: "mysql://kamailio@localhost:3306/kdb")
        #expect(b.user == "kamailio" && b.password == nil && b.port == 3306)
        let c = try DatabaseURL(parsing: "mysql://127.0.0.1:3307/kdb")
        #expect(c.user == nil && c.host == "127.0.0.1" && c.port == 3307)
    }

    @Test func passwordsWithAtColonAndSlash() throws {
        let u = try DatabaseURL(parsing: "mysql://user:p@ss:w/rd@host/db")
        #expect(u.user == "user" && u.password == "p@ss:w/rd" && u.host == "host" && u.database == "db")
        // An '@' in the user name is kept when another '@' follows.
        let v = try DatabaseURL(parsing: "postgres://alice@example.com:pw@10.0.0.1:5432/db")
        #expect(v.user == "alice@example.com" && v.password == "pw" && v.host == "10.0.0.1" && v.port == 5432)
    }

    @Test func ipv6HostAndParameters() throws {
        let u = try DatabaseURL(parsing: "postgres://u:p@[::1]:5432/kamailio?sslmode=disable&x=1")
        #expect(u.host == "::1" && u.port == 5432 && u.database == "kamailio")
        #expect(u.parameters.map { "\($0.0)=\($0.1)" } == ["sslmode=disable", "x=1"])
        #expect(u.description == "postgres://u:***@[::1]:5432/kamailio")
    }

    @Test func malformedURLsAreRefused() {
        for bad in [
            "", "postgres", "postgres:/h/db", "postgres://host", "postgres://host/", "://h/db", "mysql://h:0/db",
            "mysql://h:x/db",
        ] {
            #expect(throws: DatabaseError.badURL(bad)) { try DatabaseURL(parsing: bad) }
        }
    }

    @Test func operatorsAndValues() {
        #expect(DatabaseOperator(text: "!=") == .notEqual)
        #expect(DatabaseOperator(text: "<>") == .notEqual)
        #expect(DatabaseOperator(text: ">=") == .greaterOrEqual)
        #expect(DatabaseOperator(text: "~") == nil)
        #expect(DatabaseValue.int(5).typeCode == 0 && DatabaseValue.blob([]).typeCode == 6)
        #expect(DatabaseValue.double(2).textValue == "2" && DatabaseValue.double(0.25).textValue == "0.25")
        let t = DatabaseValue.parseDateTime("2024-02-29 13:14:15")!
        #expect(DatabaseValue.formatDateTime(t) == "2024-02-29 13:14:15")
        #expect(DatabaseValue.null.textValue == nil && DatabaseValue.bigint(9).intValue == 9)
    }
}

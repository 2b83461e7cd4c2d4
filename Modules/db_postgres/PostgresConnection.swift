import CLibPQ
import SwiftletSDK

/// One libpq connection; statements run with `PQexec`, results are read in text format.
final class PostgresConnection: DatabaseConnection {
    private let conn: OpaquePointer
    let dialect: any SQLDialect = PostgresDialect()
    private(set) var affectedRows = 0

    init(_ conn: OpaquePointer) { self.conn = conn }

    deinit { PQfinish(conn) }

    func execute(_ sql: String) throws(DatabaseError) -> DatabaseResult {
        guard let res = PQexec(conn, sql) else { throw lostOrFailed("no result") }
        defer { PQclear(res) }
        switch PQresultStatus(res) {
        case PGRES_COMMAND_OK:
            affectedRows = Self.count(PQcmdTuples(res))
            return DatabaseResult()
        case PGRES_TUPLES_OK:
            affectedRows = Int(PQntuples(res))
            return Self.rows(of: res)
        default:
            let message = PQresultErrorMessage(res).map { String(cString: $0) } ?? "error"
            throw lostOrFailed(message.trimmedLines)
        }
    }

    var executesTogether: Bool { true }

    /// The statements in one simple query (one round trip; PostgreSQL stops at the first
    /// that fails); the rows each changed or returned.
    func executeTogether(_ sql: [UInt8], statements: Int) throws(DatabaseError) -> [Int]? {
        var sql = sql
        sql.append(0)
        let sent = sql.withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { PQsendQuery(conn, $0.baseAddress) }
        }
        guard sent == 1 else { throw lostOrFailed(PostgresDriver.errorText(conn)) }
        var counts: [Int] = []
        counts.reserveCapacity(statements)
        var failure: String?
        while let res = PQgetResult(conn) {
            switch PQresultStatus(res) {
            case PGRES_COMMAND_OK:
                counts.append(Self.count(PQcmdTuples(res)))
            case PGRES_TUPLES_OK:
                counts.append(Int(PQntuples(res)))
            default:
                if failure == nil {
                    failure = PQresultErrorMessage(res).map { String(cString: $0) } ?? "error"
                }
            }
            PQclear(res)
        }
        if let failure { throw lostOrFailed(failure.trimmedLines) }
        return counts
    }

    /// The decimal count `PQcmdTuples` returns ("" for none).
    static func count(_ p: UnsafeMutablePointer<CChar>?) -> Int {
        guard var p else { return 0 }
        var n = 0
        while p.pointee >= 48 && p.pointee <= 57 {
            n = n * 10 + Int(p.pointee - 48)
            p += 1
        }
        return n
    }

    func lastInsertedID() throws(DatabaseError) -> Int64 {
        let r = try execute("SELECT lastval()")
        guard case .bigint(let id)? = r.rows.first?.first else { throw .query("no last inserted id") }
        return id
    }

    private func lostOrFailed(_ message: String) -> DatabaseError {
        PQstatus(conn) == CONNECTION_BAD ? .connectionLost(message) : .query(message)
    }

    static func rows(of res: OpaquePointer) -> DatabaseResult {
        let n = Int(PQntuples(res))
        let nf = Int(PQnfields(res))
        var result = DatabaseResult()
        result.columns = (0..<nf).map { String(cString: PQfname(res, Int32($0))) }
        let types = (0..<nf).map { PQftype(res, Int32($0)) }
        result.rows.reserveCapacity(n)
        for r in 0..<n {
            var row: [DatabaseValue] = []
            row.reserveCapacity(nf)
            for f in 0..<nf {
                if PQgetisnull(res, Int32(r), Int32(f)) != 0 {
                    row.append(.null)
                    continue
                }
                let p = PQgetvalue(res, Int32(r), Int32(f))!
                let len = Int(PQgetlength(res, Int32(r), Int32(f)))
                row.append(value(UnsafeRawBufferPointer(start: p, count: len), type: types[f]))
            }
            result.rows.append(row)
        }
        return result
    }

    /// A text-format value of type `oid` as a `DatabaseValue` (db_postgres' `pg_str2val`).
    static func value(_ bytes: UnsafeRawBufferPointer, type oid: Oid) -> DatabaseValue {
        let text = String(decoding: bytes, as: UTF8.self)
        switch oid {
        case 21, 23: return .int(Int(text) ?? 0)  // int2, int4
        case 20: return .bigint(Int64(text) ?? 0)  // int8
        case 700, 701, 1700: return .double(Double(text) ?? 0)  // float4, float8, numeric
        case 1082, 1114, 1184:  // date, timestamp, timestamptz
            return DatabaseValue.parseDateTime(text).map { .datetime($0) } ?? .string(text)
        case 17: return .blob(decodeBytea(Array(bytes)))
        default: return .string(text)
        }
    }

    /// bytea text output: `\x` + hex (the default), or the escape format.
    static func decodeBytea(_ b: [UInt8]) -> [UInt8] {
        if b.count >= 2, b[0] == UInt8(ascii: "\\"), b[1] == UInt8(ascii: "x") {
            var out: [UInt8] = []
            out.reserveCapacity((b.count - 2) / 2)
            var i = 2
            while i + 1 < b.count {
                out.append(hex(b[i]) << 4 | hex(b[i + 1]))
                i += 2
            }
            return out
        }
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 1 < b.count {
                if b[i + 1] == UInt8(ascii: "\\") {
                    out.append(b[i + 1])
                    i += 2
                    continue
                }
                if i + 3 < b.count {
                    out.append((b[i + 1] - 48) << 6 | (b[i + 2] - 48) << 3 | (b[i + 3] - 48))
                    i += 4
                    continue
                }
            }
            out.append(b[i])
            i += 1
        }
        return out
    }

    static func hex(_ c: UInt8) -> UInt8 {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: 0
        }
    }
}

/// PostgreSQL's SQL: `"name"`, standard strings, `'\x..'` bytea, `ON CONFLICT` upserts.
struct PostgresDialect: SQLDialect {
    func quote(_ name: String) -> String {
        // The character-wise replace (slow) only for a name with a double quote.
        guard Self.text(name, contains: 34) else { return Self.enclosed(name, in: 34) }
        return "\"" + name.replacing("\"", with: "\"\"") + "\""
    }

    func literal(_ value: DatabaseValue) -> String {
        switch value {
        case .null: return "NULL"
        case .int(let v): return String(v)
        case .bigint(let v): return String(v)
        case .double(let v):
            return v.isFinite ? String(v) : (v.isNaN ? "'NaN'" : (v > 0 ? "'Infinity'" : "'-Infinity'"))
        case .string(let s), .str(let s):
            // PostgreSQL text cannot hold NUL.
            return standardStringLiteral(Self.text(s, contains: 0) ? s.replacing("\0", with: "") : s)
        case .datetime(let t): return "'" + DatabaseValue.formatDateTime(t) + "'"
        case .blob(let b):
            let digits: [UInt8] = Array("0123456789abcdef".utf8)
            var s: [UInt8] = Array("'\\x".utf8)
            s.reserveCapacity(b.count * 2 + 4)
            for byte in b {
                s.append(digits[Int(byte >> 4)])
                s.append(digits[Int(byte & 15)])
            }
            s.append(UInt8(ascii: "'"))
            return String(decoding: s, as: UTF8.self)
        }
    }

    func appendQuoted(_ name: String, to sql: inout [UInt8]) {
        if !Self.appendEnclosed(name, in: 34, unless: 34, to: &sql) { Self.append(quote(name), to: &sql) }
    }

    /// `literal(value)` written into `sql`: numbers, datetimes and text without `'` or NUL
    /// without a string of their own.
    func appendLiteral(_ value: DatabaseValue, to sql: inout [UInt8]) {
        switch value {
        case .null: sql.append(contentsOf: "NULL".utf8)
        case .int(let v): Self.appendDecimal(Int64(v), to: &sql)
        case .bigint(let v): Self.appendDecimal(v, to: &sql)
        case .datetime(let t):
            sql.append(UInt8(ascii: "'"))
            DatabaseValue.appendDateTime(t, to: &sql)
            sql.append(UInt8(ascii: "'"))
        case .string(let s), .str(let s):
            if !Self.appendEnclosed(s, in: UInt8(ascii: "'"), unless: 0, to: &sql) {
                Self.append(literal(value), to: &sql)
            }
        case .double, .blob: Self.append(literal(value), to: &sql)
        }
    }

    var hasReplace: Bool { false }

    func upsertClause(uniqueKeys: [String], assignments: [String]) -> String? {
        guard !uniqueKeys.isEmpty else { return nil }
        let target = " ON CONFLICT (" + uniqueKeys.map(quote).joined(separator: ",") + ")"
        if assignments.isEmpty { return target + " DO NOTHING" }
        return target + " DO UPDATE SET " + assignments.map { "\($0)=EXCLUDED.\($0)" }.joined(separator: ",")
    }
}

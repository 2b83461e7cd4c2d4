import CMariaDB
import SwiftletSDK

/// One MySQL/MariaDB connection; statements run with `mysql_real_query`, results are
/// stored whole (`mysql_store_result`).
final class MySQLConnection: DatabaseConnection {
    private let my: UnsafeMutablePointer<MYSQL>
    let dialect: any SQLDialect = MySQLDialect()
    private(set) var affectedRows = 0

    init(_ my: UnsafeMutablePointer<MYSQL>) { self.my = my }

    deinit { mysql_close(my) }

    func execute(_ sql: String) throws(DatabaseError) -> DatabaseResult {
        let failed =
            sql.utf8.withContiguousStorageIfAvailable { b in
                b.withMemoryRebound(to: CChar.self) { mysql_real_query(my, $0.baseAddress, UInt(b.count)) }
            }
            ?? Array(sql.utf8).withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { mysql_real_query(my, $0.baseAddress, UInt(b.count)) }
            }
        if failed != 0 { throw error() }
        guard let res = mysql_store_result(my) else {
            if mysql_field_count(my) != 0 { throw error() }
            affectedRows = Int(mysql_affected_rows(my))
            return DatabaseResult()
        }
        defer { mysql_free_result(res) }
        affectedRows = Int(mysql_num_rows(res))
        return Self.rows(of: res)
    }

    func lastInsertedID() throws(DatabaseError) -> Int64 { Int64(mysql_insert_id(my)) }

    private func error() -> DatabaseError {
        let code = Int32(mysql_errno(my))
        let message = String(cString: mysql_error(my))
        switch code {
        case CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR,
            1927 /* ER_CONNECTION_KILLED */:
            return .connectionLost(message)
        default:
            return .query(message)
        }
    }

    static func rows(of res: UnsafeMutablePointer<MYSQL_RES>) -> DatabaseResult {
        let nf = Int(mysql_num_fields(res))
        let fields = mysql_fetch_fields(res)!
        var result = DatabaseResult()
        result.columns = (0..<nf).map { String(cString: fields[$0].name) }
        while let row = mysql_fetch_row(res) {
            let lengths = mysql_fetch_lengths(res)!
            var values: [DatabaseValue] = []
            values.reserveCapacity(nf)
            for f in 0..<nf {
                guard let p = row[f] else {
                    values.append(.null)
                    continue
                }
                let bytes = UnsafeRawBufferPointer(start: p, count: Int(lengths[f]))
                values.append(value(bytes, field: fields[f]))
            }
            result.rows.append(values)
        }
        return result
    }

    /// A text-protocol value of `field`'s type as a `DatabaseValue` (db_mysql's `db_mysql_str2val`).
    static func value(_ bytes: UnsafeRawBufferPointer, field: MYSQL_FIELD) -> DatabaseValue {
        let binary = field.charsetnr == 63
        switch field.type {
        case MYSQL_TYPE_TINY, MYSQL_TYPE_SHORT, MYSQL_TYPE_LONG, MYSQL_TYPE_INT24, MYSQL_TYPE_YEAR:
            return .int(Int(String(decoding: bytes, as: UTF8.self)) ?? 0)
        case MYSQL_TYPE_LONGLONG:
            return .bigint(Int64(String(decoding: bytes, as: UTF8.self)) ?? 0)
        case MYSQL_TYPE_FLOAT, MYSQL_TYPE_DOUBLE, MYSQL_TYPE_DECIMAL, MYSQL_TYPE_NEWDECIMAL:
            return .double(Double(String(decoding: bytes, as: UTF8.self)) ?? 0)
        case MYSQL_TYPE_DATETIME, MYSQL_TYPE_TIMESTAMP, MYSQL_TYPE_DATE, MYSQL_TYPE_NEWDATE:
            let text = String(decoding: bytes, as: UTF8.self)
            return DatabaseValue.parseDateTime(text).map { .datetime($0) } ?? .string(text)
        case MYSQL_TYPE_TINY_BLOB, MYSQL_TYPE_MEDIUM_BLOB, MYSQL_TYPE_LONG_BLOB, MYSQL_TYPE_BLOB,
            MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_STRING, MYSQL_TYPE_VARCHAR, MYSQL_TYPE_BIT:
            return binary ? .blob(Array(bytes)) : .string(String(decoding: bytes, as: UTF8.self))
        default:
            return .string(String(decoding: bytes, as: UTF8.self))
        }
    }
}

/// MySQL's SQL: `` `name` ``, backslash-escaped strings, `X'..'` blobs, `REPLACE INTO`,
/// `ON DUPLICATE KEY UPDATE`.
struct MySQLDialect: SQLDialect {
    func quote(_ name: String) -> String {
        // The character-wise replace (slow) only for a name with a backquote.
        guard Self.text(name, contains: UInt8(ascii: "`")) else { return Self.enclosed(name, in: UInt8(ascii: "`")) }
        return "`" + name.replacing("`", with: "``") + "`"
    }

    func literal(_ value: DatabaseValue) -> String {
        switch value {
        case .null: return "NULL"
        case .int(let v): return String(v)
        case .bigint(let v): return String(v)
        case .double(let v): return v.isFinite ? String(v) : "NULL"
        case .string(let s), .str(let s): return Self.escaped(s)
        case .datetime(let t): return "'" + DatabaseValue.formatDateTime(t) + "'"
        case .blob(let b):
            let digits: [UInt8] = Array("0123456789abcdef".utf8)
            var s: [UInt8] = Array("X'".utf8)
            s.reserveCapacity(b.count * 2 + 3)
            for byte in b {
                s.append(digits[Int(byte >> 4)])
                s.append(digits[Int(byte & 15)])
            }
            s.append(UInt8(ascii: "'"))
            return String(decoding: s, as: UTF8.self)
        }
    }

    /// `'text'` escaped as `mysql_real_escape_string` does for UTF-8.
    static func escaped(_ s: String) -> String {
        var out: [UInt8] = [UInt8(ascii: "'")]
        out.reserveCapacity(s.utf8.count + 2)
        for c in s.utf8 {
            switch c {
            case 0: out += [92, UInt8(ascii: "0")]
            case 10: out += [92, UInt8(ascii: "n")]
            case 13: out += [92, UInt8(ascii: "r")]
            case 26: out += [92, UInt8(ascii: "Z")]
            case 92, 39, 34: out += [92, c]
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "'"))
        return String(decoding: out, as: UTF8.self)
    }

    var hasReplace: Bool { true }

    func upsertClause(uniqueKeys: [String], assignments: [String]) -> String? {
        if assignments.isEmpty { return nil }
        return " ON DUPLICATE KEY UPDATE " + assignments.map { "\($0)=VALUES(\($0))" }.joined(separator: ",")
    }
}

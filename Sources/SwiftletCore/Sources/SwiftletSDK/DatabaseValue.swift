#if canImport(Glibc)
    import Glibc
#endif

/// One value going to or coming from a database (srdb1's `db_val_t`). NULL is a value of
/// its own rather than a flag on a typed value.
public enum DatabaseValue: Equatable, Sendable, CustomStringConvertible {
    case null
    /// `DB1_INT`: int, smallint, tinyint, boolean columns.
    case int(Int)
    /// `DB1_BIGINT`: bigint columns.
    case bigint(Int64)
    /// `DB1_DOUBLE`: float, double, real, numeric, decimal columns.
    case double(Double)
    /// `DB1_STRING`: char, varchar and text columns (what drivers return for them).
    case string(String)
    /// `DB1_STR`: the same text as `.string` (Kamailio's `str` form); written like `.string`.
    case str(String)
    /// `DB1_DATETIME`: seconds since the epoch (`time_t`), written and read in local time
    /// (`YYYY-MM-DD HH:MM:SS`), as Kamailio's `db_time2str`/`db_str2time`.
    case datetime(Int)
    /// `DB1_BLOB`: bytea (PostgreSQL) and blob (MySQL) columns; any bytes, NUL included.
    case blob([UInt8])

    /// srdb1's `db_type_t` number: `DB1_INT` 0, `DB1_BIGINT` 1, `DB1_DOUBLE` 2, `DB1_STRING` 3,
    /// `DB1_STR` 4, `DB1_DATETIME` 5, `DB1_BLOB` 6; NULL has no type here (-1).
    public var typeCode: Int {
        switch self {
        case .null: -1
        case .int: 0
        case .bigint: 1
        case .double: 2
        case .string: 3
        case .str: 4
        case .datetime: 5
        case .blob: 6
        }
    }

    public var isNull: Bool { self == .null }

    /// The value as an integer (int, bigint, datetime, a double truncated, or text that is a
    /// number), nil for NULL and anything else.
    public var intValue: Int? {
        switch self {
        case .int(let v), .datetime(let v): v
        case .bigint(let v): Int(v)
        case .double(let v): v.isFinite ? Int(v) : nil
        case .string(let s), .str(let s): Int(s)
        case .blob(let b): Int(String(decoding: b, as: UTF8.self))
        case .null: nil
        }
    }

    /// The value as text (numbers in decimal, datetime as `YYYY-MM-DD HH:MM:SS` local time,
    /// a blob's bytes as UTF-8), nil for NULL: how `$dbr` and `$xavp` show values.
    public var textValue: String? {
        switch self {
        case .null: nil
        case .int(let v): String(v)
        case .bigint(let v): String(v)
        case .double(let v): DatabaseValue.format(v)
        case .string(let s), .str(let s): s
        case .datetime(let t): DatabaseValue.formatDateTime(t)
        case .blob(let b): String(decoding: b, as: UTF8.self)
        }
    }

    /// The value's bytes: a blob's as they are, others as `textValue`'s UTF-8.
    public var bytes: [UInt8]? {
        if case .blob(let b) = self { return b }
        return textValue.map { Array($0.utf8) }
    }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .blob(let b): "blob(\(b.count) bytes)"
        default: textValue ?? "NULL"
        }
    }

    /// A double as Kamailio's `db_double2str` prints it (`%-10.6f` without the padding:
    /// shortest form that keeps the value).
    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    /// `time_t` as `YYYY-MM-DD HH:MM:SS` in local time (`db_time2str`).
    public static func formatDateTime(_ t: Int) -> String {
        var tt = time_t(t)
        var tm = tm()
        localtime_r(&tt, &tm)
        let fields = (tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
        if (0...99).contains(fields.0) && (0...99).contains(fields.1) && (0...99).contains(fields.2)
            && (0...99).contains(fields.3) && (0...99).contains(fields.4)
        {
            // `-MM-DD HH:MM:SS` written as bytes after the year (usrloc writes two per contact).
            return String(tm.tm_year + 1900)
                + String(unsafeUninitializedCapacity: 15) { out in
                    var i = 0
                    func put(_ separator: UInt8, _ n: Int32) {
                        out[i] = separator
                        out[i + 1] = UInt8(48 + n / 10)
                        out[i + 2] = UInt8(48 + n % 10)
                        i += 3
                    }
                    put(UInt8(ascii: "-"), fields.0)
                    put(UInt8(ascii: "-"), fields.1)
                    put(UInt8(ascii: " "), fields.2)
                    put(UInt8(ascii: ":"), fields.3)
                    put(UInt8(ascii: ":"), fields.4)
                    return i
                }
        }
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday)) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))"
    }

    /// Appends `formatDateTime(t)` to `out` as bytes (statements are built as bytes).
    public static func appendDateTime(_ t: Int, to out: inout [UInt8]) {
        var tt = time_t(t)
        var tm = tm()
        localtime_r(&tt, &tm)
        let fields = (tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
        guard
            (0...99).contains(fields.0) && (0...99).contains(fields.1) && (0...99).contains(fields.2)
                && (0...99).contains(fields.3) && (0...99).contains(fields.4)
        else {
            var text = formatDateTime(t)
            text.withUTF8 { out.append(contentsOf: $0) }
            return
        }
        let year = Int(tm.tm_year) + 1900
        if (1000...9999).contains(year) {
            out.append(UInt8(48 + year / 1000))
            out.append(UInt8(48 + year / 100 % 10))
            out.append(UInt8(48 + year / 10 % 10))
            out.append(UInt8(48 + year % 10))
        } else {
            var text = String(year)
            text.withUTF8 { out.append(contentsOf: $0) }
        }
        func put(_ separator: UInt8, _ n: Int32) {
            out.append(separator)
            out.append(UInt8(48 + n / 10))
            out.append(UInt8(48 + n % 10))
        }
        put(UInt8(ascii: "-"), fields.0)
        put(UInt8(ascii: "-"), fields.1)
        put(UInt8(ascii: " "), fields.2)
        put(UInt8(ascii: ":"), fields.3)
        put(UInt8(ascii: ":"), fields.4)
    }

    /// `YYYY-MM-DD[ HH:MM:SS[.frac]]` in local time as `time_t` (`db_str2time`), nil if malformed.
    public static func parseDateTime(_ s: String) -> Int? {
        let parts = s.split(whereSeparator: { $0 == " " || $0 == "T" })
        guard let datePart = parts.first else { return nil }
        let d = datePart.split(separator: "-").compactMap { Int32($0) }
        guard d.count == 3 else { return nil }
        var t = [Int32](repeating: 0, count: 3)
        if parts.count > 1 {
            let timePart = parts[1].split(separator: "+").first!.split(separator: ".").first!
            let hms = timePart.split(separator: ":").compactMap { Int32($0) }
            for i in 0..<min(3, hms.count) { t[i] = hms[i] }
        }
        var tm = tm()
        tm.tm_year = d[0] - 1900
        tm.tm_mon = d[1] - 1
        tm.tm_mday = d[2]
        tm.tm_hour = t[0]
        tm.tm_min = t[1]
        tm.tm_sec = t[2]
        tm.tm_isdst = -1
        return Int(mktime(&tm))
    }
}

/// A comparison in a WHERE clause (srdb1's `db_op_t`).
public enum DatabaseOperator: String, Sendable, CaseIterable {
    case equal = "="
    case less = "<"
    case greater = ">"
    case lessOrEqual = "<="
    case greaterOrEqual = ">="
    /// Kamailio's `OP_NEQ` (`<>`); `!=` parses to it too.
    case notEqual = "<>"
    /// `OP_BITWISE_AND`: `key & value = value` (all bits of the value set).
    case bitwiseAnd = "&"

    /// The operator written as in a script or Kamailio's `db_op.h` (`=`, `<`, `>`, `<=`,
    /// `>=`, `<>` or `!=`, `&`).
    public init?(text: String) {
        if text == "!=" {
            self = .notEqual
        } else {
            self.init(rawValue: text)
        }
    }
}

/// `key op value`, ANDed with the others of a query, update or delete (srdb1's
/// `db_key_t`/`db_op_t`/`db_val_t` triplets). A NULL value with `=` is written `IS NULL`,
/// with `<>` `IS NOT NULL` (Kamailio writes `key=NULL`, which never matches).
public struct DatabaseCondition: Equatable, Sendable {
    public var key: String
    public var op: DatabaseOperator
    public var value: DatabaseValue

    public init(_ key: String, _ op: DatabaseOperator = .equal, _ value: DatabaseValue) {
        self.key = key
        self.op = op
        self.value = value
    }
}

/// Rows a query returned (srdb1's `db1_res_t`), all fetched.
public struct DatabaseResult: Equatable, Sendable {
    /// Column names in result order (`RES_NAMES`).
    public var columns: [String]
    /// Each row's values in column order (`RES_ROWS`/`ROW_VALUES`).
    public var rows: [[DatabaseValue]]

    public init(columns: [String] = [], rows: [[DatabaseValue]] = []) {
        self.columns = columns
        self.rows = rows
    }

    /// The index of the column named `name` (case-insensitive), nil when there is none.
    public func columnIndex(_ name: String) -> Int? {
        columns.firstIndex { $0.lowercased() == name.lowercased() }
    }

    /// The value of column `name` in row `row`; NULL when there is no such column.
    public subscript(row: Int, column: String) -> DatabaseValue {
        guard let c = columnIndex(column), row < rows.count else { return .null }
        return rows[row][c]
    }
}

/// Why a database operation failed.
public enum DatabaseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The db_url is not `scheme://[user[:password]@]host[:port]/database`.
    case badURL(String)
    /// No loaded module provides a driver for the URL's scheme (its `db_<scheme>.so` is not loaded).
    case noDriver(String)
    /// Connecting failed (server down, bad credentials, unknown database), with the driver's text.
    case connection(String)
    /// The connection broke during the operation and reconnecting once did not help.
    case connectionLost(String)
    /// The server refused the statement (syntax, unknown table or column, constraint), with its text.
    case query(String)
    /// A table's row in the `version` table is missing or holds another version.
    case tableVersion(table: String, found: Int, expected: Int)

    public var description: String {
        switch self {
        case .badURL(let u): "invalid database URL '\(u)'"
        case .noDriver(let s): "no database driver for scheme '\(s)' (loadmodule \"db_\(s).so\" missing)"
        case .connection(let m): "cannot connect to the database: \(m)"
        case .connectionLost(let m): "database connection lost: \(m)"
        case .query(let m): "database query failed: \(m)"
        case .tableVersion(let t, let f, let e):
            "invalid version \(f) for table \(t) found, expected \(e) (check table structure and table \"version\")"
        }
    }
}

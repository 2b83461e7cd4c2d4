#if canImport(Glibc)
    import Glibc
#endif

/// A database engine's client (Kamailio's db_postgres, db_mysql modules): opens connections
/// for URLs of its scheme. A driver module offers it with `exports.provideDatabaseDriver(_:)`;
/// `Database(url:core:)` finds it by the URL's scheme (Kamailio's `db_bind_mod`, which loads
/// the functions of module `db_<scheme>`).
public protocol DatabaseDriver: AnyObject {
    /// The URL scheme it serves: `postgres`, `mysql`.
    var scheme: String { get }
    /// Opens one connection (blocking). Called on the thread that will use it.
    func connect(_ url: DatabaseURL) throws(DatabaseError) -> any DatabaseConnection
    /// How often an operation whose connection broke is tried again on a new connection
    /// (db_postgres' `retries`, db_mysql's `retries`); 1 unless the driver says otherwise.
    var reconnectRetries: Int { get }
}

extension DatabaseDriver {
    public var reconnectRetries: Int { 1 }
}

/// One open connection of a driver, used by one thread at a time (the `Database` handle
/// keeps one per thread). Statements arrive as SQL text built with the connection's
/// `SQLDialect`.
public protocol DatabaseConnection: AnyObject {
    /// How this engine quotes names and writes values.
    var dialect: any SQLDialect { get }
    /// Runs one statement. Returns its rows (empty for statements without a result set).
    /// Throws `.connectionLost` when the connection broke (the handle then reconnects and
    /// runs the statement again once), `.query` when the server refused the statement.
    func execute(_ sql: String) throws(DatabaseError) -> DatabaseResult
    /// Rows changed by the last INSERT, UPDATE, DELETE or REPLACE (`affected_rows`).
    var affectedRows: Int { get }
    /// The id the last INSERT generated on this connection (`last_inserted_id`): MySQL's
    /// `mysql_insert_id`, PostgreSQL's `lastval()`; throws when there is none.
    func lastInsertedID() throws(DatabaseError) -> Int64
    /// Runs `sql`, the text of `statements` statements joined by `;`, sent together in one
    /// round trip, and returns the rows each one changed (or returned). Throws when one
    /// failed (the statements after it did not run). `Database.applyTogether` begins the
    /// text with `BEGIN` and ends the transaction after. nil (the default) when the engine
    /// cannot take several statements at once: callers then run them one by one.
    func executeTogether(_ sql: [UInt8], statements: Int) throws(DatabaseError) -> [Int]?
    /// True when `executeTogether` runs statements (false, the default: it returns nil), so
    /// that callers need not write them out for nothing.
    var executesTogether: Bool { get }
}

extension DatabaseConnection {
    public func executeTogether(_ sql: [UInt8], statements: Int) throws(DatabaseError) -> [Int]? { nil }
    public var executesTogether: Bool { false }
}

/// The SQL spelling of an engine: how names are quoted and values written as literals, and
/// which native statements it has.
public protocol SQLDialect {
    /// A table or column name quoted (`"name"` for PostgreSQL, `` `name` `` for MySQL).
    func quote(_ name: String) -> String
    /// A value as an SQL literal (escaped text, hex blob, `NULL`, ...).
    func literal(_ value: DatabaseValue) -> String
    /// True when the engine has `REPLACE INTO` (MySQL); otherwise `replace` is an UPDATE
    /// followed by an INSERT when no row matched.
    var hasReplace: Bool { get }
    /// The upsert clause after `INSERT ... VALUES (...)` for `insertUpdate`, given the
    /// unique key columns and the assignments; nil when the engine has none.
    func upsertClause(uniqueKeys: [String], assignments: [String]) -> String?
    /// Appends the bytes of `quote(name)` to `sql` (statements are built as bytes).
    func appendQuoted(_ name: String, to sql: inout [UInt8])
    /// Appends the bytes of `literal(value)` to `sql`.
    func appendLiteral(_ value: DatabaseValue, to sql: inout [UInt8])
}

extension SQLDialect {
    public func appendQuoted(_ name: String, to sql: inout [UInt8]) { Self.append(quote(name), to: &sql) }

    public func appendLiteral(_ value: DatabaseValue, to sql: inout [UInt8]) {
        Self.append(literal(value), to: &sql)
    }

    /// Appends the UTF-8 of `text` to `sql`.
    public static func append(_ text: String, to sql: inout [UInt8]) {
        var text = text
        text.withUTF8 { sql.append(contentsOf: $0) }
    }

    /// Appends `text` between two `quote` bytes when it has neither `quote` nor any of
    /// `refused` (true); false (nothing appended) otherwise, for the dialect's escaping.
    public static func appendEnclosed(_ text: String, in quote: UInt8, unless refused: UInt8, to sql: inout [UInt8])
        -> Bool
    {
        var text = text
        return text.withUTF8 { b in
            for c in b where c == quote || c == refused { return false }
            sql.append(quote)
            sql.append(contentsOf: b)
            sql.append(quote)
            return true
        }
    }

    /// Appends the decimal digits of `v` to `sql` (the bytes of `String(v)`).
    public static func appendDecimal(_ v: Int64, to sql: inout [UInt8]) {
        // One digit (most flags, ids and counts of a row) without the buffer.
        if v >= 0 && v < 10 {
            sql.append(UInt8(ascii: "0") + UInt8(v))
            return
        }
        if v < 0 { sql.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 20 digits, written backwards
        let n = withUnsafeMutableBytes(of: &digits) { raw in
            var i = 0
            repeat {
                raw[23 - i] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                i += 1
            } while m > 0
            return i
        }
        withUnsafeBytes(of: &digits) { raw in sql.append(contentsOf: raw[(24 - n)...]) }
    }
    /// A literal for text with `'` doubled (standard SQL; engines with backslash escapes
    /// override `literal`).
    public func standardStringLiteral(_ s: String) -> String {
        // Most text has no quote: the character-wise search-and-replace (slow) only for text
        // that has one.
        guard Self.text(s, contains: UInt8(ascii: "'")) else { return Self.enclosed(s, in: UInt8(ascii: "'")) }
        return "'" + s.replacing("'", with: "''") + "'"
    }

    /// True when the UTF-8 of `s` has `byte` (read in place).
    public static func text(_ s: String, contains byte: UInt8) -> Bool {
        var s = s
        return s.withUTF8 { b in
            for c in b where c == byte { return true }
            return false
        }
    }

    /// `s` between two `quote` bytes, written into one new string.
    public static func enclosed(_ s: String, in quote: UInt8) -> String {
        var s = s
        return s.withUTF8 { b in
            String(unsafeUninitializedCapacity: b.count + 2) { out in
                out[0] = quote
                if let from = b.baseAddress, b.count > 0 { (out.baseAddress! + 1).update(from: from, count: b.count) }
                out[b.count + 1] = quote
                return b.count + 2
            }
        }
    }
}

/// Interned keys so that each scheme's driver is a separate entry of `ModuleAPIRegistry`.
enum DatabaseDriverKeys {
    final class Key {}
    nonisolated(unsafe) private static var keys: [String: Key] = [:]
    nonisolated(unsafe) private static var lock = pthread_mutex_t()

    static func key(_ scheme: String) -> ObjectIdentifier {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if let k = keys[scheme] { return ObjectIdentifier(k) }
        let k = Key()
        keys[scheme] = k
        return ObjectIdentifier(k)
    }
}

extension ModuleExports {
    /// Offers `driver` for database URLs of its scheme (a db_* module's exports). A second
    /// module offering the same scheme is refused at load.
    public func provideDatabaseDriver(_ driver: any DatabaseDriver) {
        apis.append(
            ProvidedAPI(
                key: DatabaseDriverKeys.key(driver.scheme), typeName: "DatabaseDriver(\(driver.scheme))",
                object: driver))
    }
}

extension ProvidedAPI {
    /// An API registered under a key of its own rather than a protocol type.
    init(key: ObjectIdentifier, typeName: String, object: AnyObject) {
        self.key = key
        self.typeName = typeName
        self.object = object
    }
}

extension ModuleAPIRegistry {
    /// The driver a loaded module offers for `scheme`, if any.
    public func databaseDriver(scheme: String) -> (any DatabaseDriver)? {
        lookup(key: DatabaseDriverKeys.key(scheme)) as? any DatabaseDriver
    }
}

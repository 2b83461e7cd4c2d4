import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A module's handle on one database (`db_url`): Kamailio's `db_bind_mod` + `db_init` +
/// the `db_func_t` calls in one object. Create it in `mod_init` (it only finds the driver
/// and checks the URL); each thread that uses it gets its own connection, opened on first
/// use or by `connect()` in `child_init`, as each Kamailio process has its own `db1_con_t`.
///
/// Every operation runs on the calling thread's connection and blocks until the server
/// answers. When the connection broke (server restarted, network), the operation closes
/// it, connects again and runs again (up to the driver's `retries` times); if that fails it throws
/// `DatabaseError.connectionLost` (or `.connection` when the server cannot be reached), and
/// the next operation tries to connect again.
///
/// ```swift
/// let db = try Database(url: "postgres://kamailio:pw@127.0.0.1/kamailio", core: context.core)
/// try db.checkTableVersion("subscriber", version: 7)
/// let r = try db.query("subscriber", columns: ["ha1"],
///                      where: [.init("username", .equal, .string("alice")), .init("domain", .equal, .string("example.com"))])
/// if let ha1 = r.rows.first?[0].textValue { ... }
/// ```
///
/// Table and column names are quoted by the driver; values are written as escaped literals,
/// so any text (quotes, backslashes) and any bytes (blobs) are safe to pass.
public final class Database: @unchecked Sendable {
    public let url: DatabaseURL
    /// The driver of the URL's scheme.
    public let driver: any DatabaseDriver
    private let slot: Int

    /// Binds `url` to the driver a loaded module offers for its scheme (`db_bind_mod`).
    /// Throws `.badURL` or `.noDriver`; does not connect.
    public init(url: String, core: CoreContext) throws(DatabaseError) {
        let parsed = try DatabaseURL(parsing: url)
        guard let driver = core.apis.databaseDriver(scheme: parsed.scheme) else { throw .noDriver(parsed.scheme) }
        self.url = parsed
        self.driver = driver
        slot = DatabaseThreadConnections.newSlot()
    }

    /// Binds `url` to `driver` directly (for drivers used without a configuration).
    public init(url: DatabaseURL, driver: any DatabaseDriver) {
        self.url = url
        self.driver = driver
        slot = DatabaseThreadConnections.newSlot()
    }

    deinit { DatabaseThreadConnections.closeEverywhere(slot) }

    // MARK: Connections

    /// Opens the calling thread's connection now if it has none (`db_init` in `child_init`).
    public func connect() throws(DatabaseError) { _ = try connection() }

    /// Closes the calling thread's connection (`db_close`); the next operation opens another.
    public func disconnect() { DatabaseThreadConnections.current.remove(slot) }

    /// True when the calling thread holds an open connection.
    public var isConnected: Bool { DatabaseThreadConnections.current.connections[slot] != nil }

    private func connection() throws(DatabaseError) -> any DatabaseConnection {
        let state = DatabaseThreadConnections.current
        if let c = state.connections[slot] { return c }
        let c = try driver.connect(url)
        state.connections[slot] = c
        return c
    }

    /// Runs `body` on the thread's connection; on `.connectionLost` reconnects and runs it
    /// again, up to the driver's `reconnectRetries` times.
    private func run<T>(_ body: (any DatabaseConnection) throws(DatabaseError) -> T) throws(DatabaseError) -> T {
        var attempt = 0
        while true {
            let c = try connection()
            do {
                return try body(c)
            } catch .connectionLost(let message) {
                // Inside a transaction a new connection would run the statement outside it.
                let inTransaction = DatabaseThreadConnections.current.transactions.contains(slot)
                disconnect()
                attempt += 1
                guard attempt <= max(driver.reconnectRetries, 0), !inTransaction else {
                    throw .connectionLost(message)
                }
                Log.warning("db", "connection to \(url) lost (\(message)), reconnecting")
            } catch {
                throw error
            }
        }
    }

    // MARK: Statements (srdb1's db_func_t)

    /// `SELECT columns FROM table WHERE conditions [ORDER BY orderBy] [LIMIT limit]`
    /// (`query`). Empty `columns` selects all (`*`). `orderBy` is a column name.
    public func query(
        _ table: String, columns: [String] = [], where conditions: [DatabaseCondition] = [],
        orderBy: String? = nil, limit: Int? = nil
    ) throws(DatabaseError) -> DatabaseResult {
        try run { (c) throws(DatabaseError) in
            let d = c.dialect
            var sql = "SELECT " + (columns.isEmpty ? "*" : columns.map(d.quote).joined(separator: ","))
            sql += " FROM " + d.quote(table) + Self.whereClause(conditions, d)
            if let orderBy { sql += " ORDER BY " + d.quote(orderBy) }
            if let limit { sql += " LIMIT \(limit)" }
            return try c.execute(sql)
        }
    }

    /// `INSERT INTO table (keys) VALUES (values)` (`insert`).
    public func insert(_ table: String, _ values: [(String, DatabaseValue)]) throws(DatabaseError) {
        _ = try run { (c) throws(DatabaseError) in try c.execute(Self.insertSQL(table, values, c.dialect)) }
    }

    /// `UPDATE table SET assignments WHERE conditions` (`update`); returns the rows changed.
    @discardableResult
    public func update(
        _ table: String, set assignments: [(String, DatabaseValue)], where conditions: [DatabaseCondition]
    )
        throws(DatabaseError) -> Int
    {
        try run { (c) throws(DatabaseError) in
            _ = try c.execute(Self.updateSQL(table, assignments, conditions, c.dialect))
            return c.affectedRows
        }
    }

    static func updateSQL(
        _ table: String, _ assignments: [(String, DatabaseValue)], _ conditions: [DatabaseCondition],
        _ d: any SQLDialect
    ) -> String {
        let set = assignments.map { d.quote($0.0) + "=" + d.literal($0.1) }.joined(separator: ",")
        return "UPDATE " + d.quote(table) + " SET " + set + whereClause(conditions, d)
    }

    /// `DELETE FROM table WHERE conditions` (`delete`; no conditions deletes every row);
    /// returns the rows deleted.
    @discardableResult
    public func delete(_ table: String, where conditions: [DatabaseCondition]) throws(DatabaseError) -> Int {
        try run { (c) throws(DatabaseError) in
            _ = try c.execute(Self.deleteSQL(table, conditions, c.dialect))
            return c.affectedRows
        }
    }

    /// Appends the UTF-8 of `text` to `sql`.
    static func append(_ text: String, to sql: inout [UInt8]) {
        var text = text
        text.withUTF8 { sql.append(contentsOf: $0) }
    }

    static func deleteSQL(_ table: String, _ conditions: [DatabaseCondition], _ d: any SQLDialect) -> String {
        "DELETE FROM " + d.quote(table) + whereClause(conditions, d)
    }

    /// Inserts the row, or replaces the row that has the same values in the first
    /// `uniqueKeys` columns (`replace` with `_un`): MySQL's `REPLACE INTO`; elsewhere an
    /// UPDATE of the other columns on those keys, then an INSERT when no row matched (as
    /// db_postgres does).
    public func replace(_ table: String, _ values: [(String, DatabaseValue)], uniqueKeys: Int) throws(DatabaseError) {
        _ = try run { (c) throws(DatabaseError) in
            let d = c.dialect
            if d.hasReplace {
                _ = try c.execute("REPLACE" + Self.insertSQL(table, values, d).dropFirst("INSERT".count))
                return
            }
            let keys = values.prefix(uniqueKeys).map { DatabaseCondition($0.0, .equal, $0.1) }
            let rest = values.dropFirst(uniqueKeys)
            if !rest.isEmpty {
                let set = rest.map { d.quote($0.0) + "=" + d.literal($0.1) }.joined(separator: ",")
                _ = try c.execute("UPDATE " + d.quote(table) + " SET " + set + Self.whereClause(keys, d))
                if c.affectedRows > 0 { return }
            } else if try !c.execute("SELECT 1 FROM " + d.quote(table) + Self.whereClause(keys, d)).rows.isEmpty {
                return
            }
            _ = try c.execute(Self.insertSQL(table, values, d))
        }
    }

    /// Inserts the row, or updates `update` columns of the row that collides on a unique key
    /// (`insert_update`: MySQL's `ON DUPLICATE KEY UPDATE`, PostgreSQL's `ON CONFLICT
    /// (uniqueKeys) DO UPDATE`; `uniqueKeys` names the unique index's columns there).
    public func insertUpdate(
        _ table: String, _ values: [(String, DatabaseValue)], update: [String], uniqueKeys: [String]
    ) throws(DatabaseError) {
        _ = try run { (c) throws(DatabaseError) in
            let d = c.dialect
            let assignments = update.map { d.quote($0) }
            guard let clause = d.upsertClause(uniqueKeys: uniqueKeys, assignments: assignments) else {
                throw DatabaseError.query("insert_update is not supported by \(self.driver.scheme)")
            }
            _ = try c.execute(Self.insertSQL(table, values, d) + clause)
        }
    }

    /// Runs `sql` as it is (`raw_query`); returns its rows (empty when it has none).
    @discardableResult
    public func rawQuery(_ sql: String) throws(DatabaseError) -> DatabaseResult {
        try run { (c) throws(DatabaseError) in try c.execute(sql) }
    }

    /// The id the last INSERT on this thread's connection generated (`last_inserted_id`).
    public func lastInsertedID() throws(DatabaseError) -> Int64 {
        try connection().lastInsertedID()
    }

    /// Rows changed by this thread's last INSERT, UPDATE, DELETE or REPLACE (`affected_rows`).
    public func affectedRows() -> Int { DatabaseThreadConnections.current.connections[slot]?.affectedRows ?? 0 }

    /// A value as this engine's SQL literal (for modules that write raw queries).
    public func literal(_ value: DatabaseValue) throws(DatabaseError) -> String {
        try connection().dialect.literal(value)
    }

    // MARK: Statements sent together

    /// Runs `statements` in one transaction sent in one round trip, when the driver can
    /// (`DatabaseConnection.executeTogether`; PostgreSQL), and commits them when `accept`
    /// takes the rows each changed. Returns true when they all took effect; false when none
    /// did — the driver cannot, a statement failed, the connection broke, `accept` refused,
    /// or a transaction is open on this thread — and the caller then runs them its usual
    /// way (one by one, with its own error handling), so that the outcome is the same as
    /// that of separate statements. Used by usrloc's write-back flush, where one round trip
    /// per contact costs a wake-up each.
    public func applyTogether(_ statements: [DatabaseStatement], accept: ([Int]) -> Bool = { _ in true }) -> Bool {
        guard !statements.isEmpty else { return true }
        guard !isInTransaction, let c = try? connection(), c.executesTogether else { return false }
        let d = c.dialect
        var sql: [UInt8] = Array("BEGIN".utf8)
        sql.reserveCapacity(statements.count * 640)
        var prefixes = InsertPrefixes()
        for s in statements {
            sql.append(UInt8(ascii: ";"))
            s.append(d, to: &sql, prefixes: &prefixes)
        }
        let counts: [Int]?
        do {
            counts = try c.executeTogether(sql, statements: statements.count + 1)
        } catch .connectionLost {
            disconnect()
            return false
        } catch {
            if (try? c.execute("ROLLBACK")) == nil { disconnect() }
            return false
        }
        guard let counts else { return false }
        guard counts.count == statements.count + 1, accept(Array(counts.dropFirst())) else {
            if (try? c.execute("ROLLBACK")) == nil { disconnect() }
            return false
        }
        do {
            _ = try c.execute("COMMIT")
            return true
        } catch {
            if (try? c.execute("ROLLBACK")) == nil { disconnect() }
            return false
        }
    }

    // MARK: Transactions (srdb1's start_transaction / end_transaction / abort_transaction)

    /// `BEGIN` on this thread's connection: the statements up to `endTransaction()` or
    /// `abortTransaction()` apply together. A connection that breaks meanwhile is not opened
    /// again within the statement (the transaction is gone): the statement throws
    /// `.connectionLost`.
    public func startTransaction() throws(DatabaseError) {
        _ = try run { (c) throws(DatabaseError) in try c.execute("BEGIN") }
        DatabaseThreadConnections.current.transactions.insert(slot)
    }

    /// `COMMIT`.
    public func endTransaction() throws(DatabaseError) {
        defer { DatabaseThreadConnections.current.transactions.remove(slot) }
        _ = try connection().execute("COMMIT")
    }

    /// `ROLLBACK`.
    public func abortTransaction() throws(DatabaseError) {
        defer { DatabaseThreadConnections.current.transactions.remove(slot) }
        _ = try connection().execute("ROLLBACK")
    }

    /// True between `startTransaction()` and its end on this thread.
    public var isInTransaction: Bool { DatabaseThreadConnections.current.transactions.contains(slot) }

    // MARK: Table versions (srdb1's db_table_version / db_check_table_version)

    /// The `table_version` of `table` in the `version` table; 0 when it has no row
    /// (`db_table_version`).
    public func tableVersion(_ table: String) throws(DatabaseError) -> Int {
        let r = try query("version", columns: ["table_version"], where: [.init("table_name", .equal, .str(table))])
        if r.rows.isEmpty { return 0 }
        guard r.rows.count == 1 else { throw .query("invalid number of rows received: \(r.rows.count), \(table)") }
        switch r.rows[0][0] {
        case .int(let v): return v
        case .bigint(let v): return Int(v)
        case .double(let v): return Int(v)
        default: throw .query("invalid type or null version column for \(table)")
        }
    }

    /// Throws `.tableVersion` unless `table`'s row in `version` says `version`
    /// (`db_check_table_version`, which modules call in `mod_init` to refuse an old schema).
    public func checkTableVersion(_ table: String, version: Int) throws(DatabaseError) {
        let found = try tableVersion(table)
        if found != version { throw .tableVersion(table: table, found: found, expected: version) }
    }

    // MARK: SQL text

    static func whereClause(_ conditions: [DatabaseCondition], _ d: any SQLDialect) -> String {
        if conditions.isEmpty { return "" }
        return " WHERE "
            + conditions.map { c in
                let k = d.quote(c.key)
                switch (c.op, c.value) {
                case (.equal, .null): return k + " IS NULL"
                case (.notEqual, .null): return k + " IS NOT NULL"
                case (.bitwiseAnd, let v):
                    let l = d.literal(v)
                    return k + "&" + l + "=" + l
                default: return k + c.op.rawValue + d.literal(c.value)
                }
            }.joined(separator: " AND ")
    }

    static func insertSQL(_ table: String, _ values: [(String, DatabaseValue)], _ d: any SQLDialect) -> String {
        var sql: [UInt8] = []
        appendInsert(table, values, d, to: &sql)
        return String(decoding: sql, as: UTF8.self)
    }

    /// `INSERT INTO table (keys) VALUES (values)` appended as bytes: names and values go
    /// straight into one buffer, without a string per value (usrloc's write-back inserts a
    /// row of 21 columns per contact).
    static func appendInsert(
        _ table: String, _ values: [(String, DatabaseValue)], _ d: any SQLDialect, to sql: inout [UInt8]
    ) {
        sql.reserveCapacity(sql.count + 1024)
        sql.append(contentsOf: "INSERT INTO ".utf8)
        d.appendQuoted(table, to: &sql)
        sql.append(contentsOf: " (".utf8)
        for (i, v) in values.enumerated() {
            if i > 0 { sql.append(UInt8(ascii: ",")) }
            d.appendQuoted(v.0, to: &sql)
        }
        sql.append(contentsOf: ") VALUES (".utf8)
        for (i, v) in values.enumerated() {
            if i > 0 { sql.append(UInt8(ascii: ",")) }
            d.appendLiteral(v.1, to: &sql)
        }
        sql.append(UInt8(ascii: ")"))
    }
}

/// Each thread's open connections, by `Database` slot (closed when the thread ends).
final class DatabaseThreadConnections {
    var connections: [Int: any DatabaseConnection] = [:]
    /// Slots with a transaction open on this thread.
    var transactions: Set<Int> = []

    func remove(_ slot: Int) {
        connections[slot] = nil
        transactions.remove(slot)
    }

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<DatabaseThreadConnections>.fromOpaque(p).release() }
        }
        return key
    }()

    private static let lastSlot = Atomic<Int>(0)

    static func newSlot() -> Int { lastSlot.add(1, ordering: .relaxed).newValue }

    /// The calling thread's connections.
    static var current: DatabaseThreadConnections {
        if let p = pthread_getspecific(key) {
            return Unmanaged<DatabaseThreadConnections>.fromOpaque(p).takeUnretainedValue()
        }
        let s = DatabaseThreadConnections()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }

    /// A handle went away: its connection on this thread closes now; those of other threads
    /// close when those threads end (they are not touched from here).
    static func closeEverywhere(_ slot: Int) { current.remove(slot) }
}

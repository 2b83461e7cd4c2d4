/// One INSERT, UPDATE or DELETE for `Database.applyTogether`, written in the connection's
/// SQL dialect as `Database.insert`, `update` and `delete` write it.
public enum DatabaseStatement: Sendable {
    /// `INSERT INTO table (keys) VALUES (values)`.
    case insert(_ table: String, _ values: [(String, DatabaseValue)])
    /// The same INSERT with the names and the values apart: a caller that writes many rows
    /// of one table passes the same `columns` array each time, and the quoted names are
    /// then written once and copied (usrloc's write-back: 21 columns per contact).
    case insertRow(_ table: String, columns: [String], values: [DatabaseValue])
    /// `UPDATE table SET assignments WHERE conditions`.
    case update(_ table: String, set: [(String, DatabaseValue)], where: [DatabaseCondition])
    /// `DELETE FROM table WHERE conditions`.
    case delete(_ table: String, where: [DatabaseCondition])

    /// The statement's SQL in dialect `d`.
    public func sql(_ d: any SQLDialect) -> String {
        var prefixes = InsertPrefixes()
        var sql: [UInt8] = []
        append(d, to: &sql, prefixes: &prefixes)
        return String(decoding: sql, as: UTF8.self)
    }

    /// Appends the statement's SQL in dialect `d` to `sql`.
    func append(_ d: any SQLDialect, to sql: inout [UInt8], prefixes: inout InsertPrefixes) {
        switch self {
        case .insert(let table, let values): Database.appendInsert(table, values, d, to: &sql)
        case .insertRow(let table, let columns, let values):
            prefixes.append(table, columns, d, to: &sql)
            for (i, v) in values.enumerated() {
                if i > 0 { sql.append(UInt8(ascii: ",")) }
                d.appendLiteral(v, to: &sql)
            }
            sql.append(UInt8(ascii: ")"))
        case .update(let table, let set, let conditions):
            Database.append(Database.updateSQL(table, set, conditions, d), to: &sql)
        case .delete(let table, let conditions): Database.append(Database.deleteSQL(table, conditions, d), to: &sql)
        }
    }
}

/// The last `INSERT INTO table (columns) VALUES (` written, kept while the same table and
/// the same `columns` array (by identity) come again.
struct InsertPrefixes {
    private var table = ""
    private var columns: UnsafeRawPointer?
    private var count = 0
    private var prefix: [UInt8] = []

    mutating func append(_ table: String, _ columns: [String], _ d: any SQLDialect, to sql: inout [UInt8]) {
        let identity = columns.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        if identity == nil || identity != self.columns || columns.count != count || table != self.table {
            prefix.removeAll(keepingCapacity: true)
            prefix.append(contentsOf: "INSERT INTO ".utf8)
            d.appendQuoted(table, to: &prefix)
            prefix.append(contentsOf: " (".utf8)
            for (i, c) in columns.enumerated() {
                if i > 0 { prefix.append(UInt8(ascii: ",")) }
                d.appendQuoted(c, to: &prefix)
            }
            prefix.append(contentsOf: ") VALUES (".utf8)
            self.table = table
            self.columns = identity
            count = columns.count
        }
        sql.append(contentsOf: prefix)
    }
}

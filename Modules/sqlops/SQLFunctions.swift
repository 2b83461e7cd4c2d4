import SwiftletSDK

extension SQLOpsModule {
    var functions: [ScriptFunction] {
        [
            // sql_query(con, query[, result]): 1 rows stored; 2 no rows (or a statement
            // without a result set); 3 rows but no result name; -1 error.
            ScriptFunction("sql_query", parameters: 2...3, routes: .any) { args throws(FixupError) in
                let con = try self.requireConnection(try args[0].constantString())
                let query = try args[1].stringFormat()
                let result = args.count > 2 ? try args[2].constantString() : nil
                if let result { try self.declareResult(result) }
                return { ctx in self.query(con, query.render(ctx), into: result) }
            },
            // sql_xquery(con, query, xavp): each row becomes an xavp `xavp` whose fields are
            // the columns; $xavp(xavp[0]=>col) is the first row. 1, 2 (no rows), -1.
            ScriptFunction("sql_xquery", parameters: 3, routes: .any) { args throws(FixupError) in
                let con = try self.requireConnection(try args[0].constantString())
                let query = try args[1].stringFormat()
                let xavp = try args[2].stringFormat()
                return { ctx in self.xquery(con, query.render(ctx), xavp: xavp.render(ctx), ctx) }
            },
            pvQueryFunction,
            ScriptFunction("sql_result_free", parameters: 1, routes: .any) { args throws(FixupError) in
                let result = try args[0].constantString()
                try self.declareResult(result)
                return { _ in
                    SQLThreadState.current.store(self.slot, result, nil)
                    return 1
                }
            },
        ]
    }

    /// Kamailio's `sql_do_query`.
    func query(_ con: String, _ sql: String, into result: String?) -> Int {
        let state = SQLThreadState.current
        if let result { state.store(slot, result, nil) }
        guard let db = connections[con] else { return -1 }
        let rows: DatabaseResult
        do throws(DatabaseError) {
            rows = try db.rawQuery(sql)
        } catch {
            Log.error("sqlops", "cannot do the query [\(sql.prefix(64))]: \(error)")
            return -1
        }
        if rows.rows.isEmpty || rows.columns.isEmpty { return 2 }
        guard let result else { return 3 }
        state.store(slot, result, rows)
        return 1
    }

    /// Kamailio's `sql_exec_xquery`.
    func xquery(_ con: String, _ sql: String, xavp: String, _ ctx: MessageContext) -> Int {
        guard let db = connections[con], !xavp.isEmpty else { return -1 }
        let rows: DatabaseResult
        do throws(DatabaseError) {
            rows = try db.rawQuery(sql)
        } catch {
            Log.error("sqlops", "cannot do the query [\(sql.prefix(64))]: \(error)")
            return -1
        }
        if rows.rows.isEmpty || rows.columns.isEmpty { return 2 }
        for row in rows.rows.reversed() {
            var fields: [XAVP] = []
            for (c, value) in row.enumerated() {
                guard let v = Self.xavpValue(value) else { continue }  // NULL: the field is absent ($null)
                fields.append(XAVP(name: rows.columns[c], value: v))
            }
            ctx.xavps.insert(XAVP(name: xavp, value: .list(fields)), at: 0)
        }
        return 1
    }

    /// A column value as `$dbr` shows it (Kamailio's `sql_do_query` conversion): text and
    /// blobs as strings, int and datetime as integers, bigint and double as decimal strings.
    static func pvValue(_ v: DatabaseValue) -> PVValue {
        switch v {
        case .null: .null
        case .int(let i), .datetime(let i): .int(i)
        case .string(let s), .str(let s): .string(s)
        case .blob, .bigint, .double: .string(v.textValue ?? "")
        }
    }

    static func xavpValue(_ v: DatabaseValue) -> XAVP.Value? {
        switch pvValue(v) {
        case .null: nil
        case .int(let i): .int(i)
        case .string(let s): .string(s)
        }
    }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// htable's database settings (Kamailio's `ht_db.c` parameters).
struct HTableDatabaseSettings {
    var url = ""
    var nameColumn = "key_name"
    var keyTypeColumn = "key_type"
    var valueTypeColumn = "value_type"
    var valueColumn = "key_value"
    var expiresColumn = "expires"
    var arraySizeSuffix = "::size"
    var fetchRows = 100
    /// `db_expires`: load and save the `expires` column (absolute Unix time) for tables
    /// with `autoexpire`.
    var expires = false
}

/// One item read from a database table: name, value, and seconds left when it expires.
struct HTLoadedItem {
    let name: String
    let value: PVValue
    let expiresIn: Int?
}

/// Loading tables with `dbtable` from `db_url` at start-up and on `htable.reload`, and
/// writing them back at shutdown (`dbmode=1`) and on `htable.store` (Kamailio's `ht_db.c`).
extension HTableModule {
    var databaseParameters: [ModuleParameter] {
        func string(_ name: String, _ set: @escaping (String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(v) })
        }
        return [
            string("db_url") { self.db.url = $0 },
            string("key_name_column") { self.db.nameColumn = $0 },
            string("key_type_column") { self.db.keyTypeColumn = $0 },
            string("value_type_column") { self.db.valueTypeColumn = $0 },
            string("key_value_column") { self.db.valueColumn = $0 },
            string("expires_column") { self.db.expiresColumn = $0 },
            string("array_size_suffix") { self.db.arraySizeSuffix = $0.isEmpty ? "::size" : $0 },
            ModuleParameter("fetch_rows", .int { (v: Int) throws(FixupError) in self.db.fetchRows = v > 0 ? v : 100 }),
            ModuleParameter("db_expires", .int { (v: Int) throws(FixupError) in self.db.expires = v != 0 }),
        ]
    }

    /// mod_init: binds `db_url` and loads every table that has a `dbtable`; a failed load
    /// stops the start-up, as in Kamailio.
    func openDatabase(_ core: CoreContext) throws {
        guard !db.url.isEmpty else { return }
        do {
            database = try Database(url: db.url, core: core)
            for t in tableList where !t.definition.dbTable.isEmpty {
                try load(t, into: t)
                loadedTables.withLock { _ = $0.insert(t.name) }
            }
            database?.disconnect()
        } catch {
            throw FixupError("htable: cannot load the database tables: \(error)")
        }
    }

    /// Reads `t`'s database table and stores its items in `target`.
    func load(_ t: HashTable, into target: HashTable) throws(DatabaseError) {
        for item in try readItems(t) {
            guard target.set(item.name, item.value) else {
                throw DatabaseError.query("error adding to hash table [\(t.name)]")
            }
            if let left = item.expiresIn { target.setExpire(item.name, left) }
        }
    }

    /// Kamailio's `ht_db_load_table`: rows ordered by name; `key_type` 1 makes array items
    /// `name[0]`, `name[1]`, ... plus `name::size`; `value_type` 1 an integer value; with
    /// `cols`, the columns after the first packed into one string (`,` between, `*` for NULL).
    func readItems(_ t: HashTable) throws(DatabaseError) -> [HTLoadedItem] {
        guard let database else { throw DatabaseError.query("no db connection") }
        let d = t.definition
        let custom = d.columns.split(separator: ",").map { String($0) }
        let withExpires = custom.isEmpty && d.autoexpire > 0 && db.expires
        let columns =
            custom.isEmpty
            ? [db.nameColumn, db.keyTypeColumn, db.valueTypeColumn, db.valueColumn]
                + (withExpires ? [db.expiresColumn] : [])
            : custom
        let result = try database.query(d.dbTable, columns: columns, orderBy: columns[0])
        var items: [HTLoadedItem] = []
        let now = time(nil)
        var arrayName = ""
        var arrayCount = 0
        var lastKeyType = 0
        for (i, row) in result.rows.enumerated() {
            guard let key = Self.text(row[0]) else {
                throw DatabaseError.query("htable [\(t.name)] row [\(i)] has NULL key value")
            }
            if !custom.isEmpty {
                let packed = row.dropFirst().map { Self.text($0) ?? "*" }.joined(separator: ",")
                items.append(HTLoadedItem(name: key, value: .string(packed), expiresIn: nil))
                continue
            }
            var expires = 0
            if withExpires {
                expires = row[4].intValue ?? 0
                if expires > 0 && expires < now { continue }
            }
            guard let keyType = Self.integer(row[1]) else {
                throw DatabaseError.query("Wrong db type [\(row[1].typeCode)] for key_type column")
            }
            if lastKeyType == 1, !arrayName.isEmpty, arrayName != key {
                items.append(
                    HTLoadedItem(name: arrayName + db.arraySizeSuffix, value: .int(arrayCount), expiresIn: nil))
                arrayName = ""
                arrayCount = 0
            }
            lastKeyType = keyType
            arrayName = key
            var name = key
            if keyType == 1 {
                name = "\(key)[\(arrayCount)]"
                arrayCount += 1
            }
            guard let valueType = Self.integer(row[2]) else {
                throw DatabaseError.query("Wrong db type [\(row[2].typeCode)] for value_type column")
            }
            guard let text = Self.text(row[3]) else { throw DatabaseError.query("null value in row \(i)") }
            let value: PVValue = valueType == 1 ? .int(row[3].intValue ?? Int(text) ?? 0) : .string(text)
            items.append(
                HTLoadedItem(
                    name: name, value: value, expiresIn: d.autoexpire > 0 && expires > 0 ? expires - now : nil))
        }
        if lastKeyType == 1 {
            items.append(HTLoadedItem(name: arrayName + db.arraySizeSuffix, value: .int(arrayCount), expiresIn: nil))
        }
        return items
    }

    static func text(_ v: DatabaseValue) -> String? {
        switch v {
        case .string(let s), .str(let s): s
        case .blob(let b): String(decoding: b, as: UTF8.self)
        case .null: nil
        default: v.textValue
        }
    }

    static func integer(_ v: DatabaseValue) -> Int? {
        switch v {
        case .int(let i): i
        case .bigint(let i): Int(i)
        default: nil
        }
    }

    /// Kamailio's `ht_db_delete_records` + `ht_db_save_table`: replaces the rows of the
    /// table's `dbtable` with its items (expired ones left out; integers with `value_type` 1).
    func store(_ t: HashTable) throws(DatabaseError) {
        guard let database else { throw DatabaseError.query("no db connection") }
        let d = t.definition
        guard d.columns.isEmpty else {
            Log.warning("htable", "saving htable [\(t.name)] with custom db columns is not available")
            return
        }
        let now = t.clock()
        let wallNow = time(nil)
        var rows: [[(String, DatabaseValue)]] = []
        for slot in t.slots {
            slot.withLock {
                for cell in slot.cells {
                    if d.autoexpire > 0 && cell.expire != 0 && cell.expire <= now { continue }
                    var row: [(String, DatabaseValue)] = [
                        (db.nameColumn, .str(cell.nameString)), (db.keyTypeColumn, .int(0)),
                    ]
                    switch cell.value {
                    case .string(let b): row += [(db.valueTypeColumn, .int(0)), (db.valueColumn, .str(b.string))]
                    case .int(let n): row += [(db.valueTypeColumn, .int(1)), (db.valueColumn, .str(String(n)))]
                    }
                    if db.expires && d.autoexpire > 0 {
                        row.append((db.expiresColumn, .int(cell.expire == 0 ? 0 : wallNow + (cell.expire - now))))
                    }
                    rows.append(row)
                }
            }
        }
        try database.delete(d.dbTable, where: [])
        for row in rows {
            do {
                try database.insert(d.dbTable, row)
            } catch {
                Log.error(
                    "htable", "failed to store key [\(row[0].1.textValue ?? "")] in table [\(d.dbTable)]: \(error)")
            }
        }
    }

    /// mod_destroy: writes back the tables loaded with `dbmode` 1.
    func syncDatabase() {
        guard database != nil else { return }
        for t in tableList
        where t.definition.dbMode != 0 && loadedTables.withLock({ $0.contains(t.name) }) && t.definition.columns.isEmpty
        {
            do {
                try store(t)
            } catch {
                Log.error("htable", "failed syncing hash table [\(t.name)] to db: \(error)")
            }
        }
        database?.disconnect()
    }

    // MARK: RPC

    var databaseRPCs: [RPCCommand] {
        [
            RPCCommand("htable.reload", "Reload hash table from database.") { r throws(RPCError) in
                let t = try self.databaseTable(r)
                // A fresh table of the same shape, then each slot's items swapped in.
                let fresh = HashTable(t.definition, memory: t.memory, clock: t.clock)
                do {
                    try self.load(t, into: fresh)
                } catch {
                    Log.error("htable", "reload of [\(t.name)] failed: \(error)")
                    throw RPCError(500, "Htable reload failed")
                }
                for (old, new) in zip(t.slots, fresh.slots) {
                    let cells = new.withLock { new.cells }
                    let previous = old.withLock {
                        let previous = old.cells
                        old.cells = cells
                        return previous
                    }
                    _ = previous
                }
                self.loadedTables.withLock { _ = $0.insert(t.name) }
                self.database?.disconnect()
                return .string("Ok. Htable reloaded.")
            },
            RPCCommand("htable.store", "Store hash table to database.") { r throws(RPCError) in
                let t = try self.databaseTable(r)
                do {
                    try self.store(t)
                } catch {
                    Log.error("htable", "failed syncing hash table [\(t.name)] to db: \(error)")
                    throw RPCError(500, "Storing htable failed")
                }
                self.database?.disconnect()
                return .string("Ok. Htable successfully stored to DB.")
            },
        ]
    }

    func databaseTable(_ r: RPCRequest) throws(RPCError) -> HashTable {
        guard database != nil else { throw RPCError(500, "No htable db_url") }
        guard let name = try? r.string(0) else { throw RPCError(500, "No htable name given") }
        guard let t = table(name) else { throw RPCError(500, "No such htable") }
        guard !t.definition.dbTable.isEmpty else { throw RPCError(500, "No database htable") }
        return t
    }
}

import SwiftletSDK

/// `avp_db_load`, `avp_db_store`, `avp_db_delete` and `avp_db_query` on the SDK's
/// `Database` (Kamailio 5.6's avpops_impl.c and avpops_db.c).
extension AvpopsModule {
    /// Kamailio's type column: bit 1 an integer name, bit 0 an integer value.
    static let integerNameBit = 2
    static let integerValueBit = 1

    func load(_ ctx: MessageContext, _ source: AvpopsSource, _ name: AvpopsDBName) -> Int {
        guard let db = database,
            let conditionsForUser = source.conditions(ctx, columns, useDomain: useDomain, scheme: name.scheme),
            let attributeValue = name.attribute(ctx)
        else { return -1 }
        var conditions = conditionsForUser
        if let attributeValue, name.scheme == nil {
            conditions.append(DatabaseCondition(columns.attribute, .equal, .string(attributeValue)))
        }
        let table = name.scheme?.table ?? name.table ?? self.table
        let result: DatabaseResult
        do {
            if let scheme = name.scheme {
                result = try db.query(table, columns: [scheme.valueColumn ?? columns.value], where: conditions)
            } else {
                result = try db.query(
                    table, columns: [columns.value, columns.attribute, columns.type], where: conditions)
            }
        } catch {
            Log.error("avpops", "db_load failed: \(error)")
            return -1
        }
        let targetKey = name.avp?.key(ctx)
        var loaded = 0
        for row in result.rows {
            let added: (String, PVValue)?
            if let scheme = name.scheme {
                added = targetKey.flatMap { key in
                    Self.schemeValue(row[0], integer: scheme.integerValues).map { (key, $0) }
                }
            } else {
                added = Self.rowAVP(row, targetKey: targetKey, match: name.match, named: name.avp)
            }
            guard let (key, value) = added else { continue }
            AVPList.add(ctx, key, value, flags: AVPList.inDatabase | ((name.match?.scriptFlags ?? 0) << 8))
            loaded += 1
        }
        return loaded > 0 ? 1 : -1
    }

    /// An AVP from a `value, attribute, type` row (Kamailio's `dbrow2avp`), nil for a row it
    /// skips: NULLs, a name type the parameter does not match, a value that is not a number
    /// where the type says integer.
    static func rowAVP(_ row: [DatabaseValue], targetKey: String?, match: AVPMatchingFlags?, named: AVPReference?)
        -> (String, PVValue)?
    {
        guard row.count == 3, let value = row[0].textValue, let attribute = row[1].textValue,
            case .int(let type) = row[2]
        else { return nil }
        let integerName = type & integerNameBit != 0
        let integerValue = type & integerValueBit != 0
        if let targetKey {
            // A named AVP loads only rows of its name type.
            guard integerName == AVPList.isIntegerName(targetKey) else { return nil }
        } else if let t = match?.type, (t == .integer) != integerName {
            return nil
        }
        let key: String
        if let targetKey {
            key = targetKey
        } else if integerName {
            guard let n = unsignedNumber(attribute) else { return nil }
            key = "#\(n)"
        } else {
            key = attribute
        }
        _ = named
        if integerValue {
            guard let n = unsignedNumber(value) else { return nil }
            return (key, .int(n))
        }
        return (key, .string(value))
    }

    /// A value read through a scheme: its type is the scheme's `value_type`.
    static func schemeValue(_ v: DatabaseValue, integer: Bool) -> PVValue? {
        switch v {
        case .null: return nil
        case .int(let i): return integer ? .int(Int(Int32(truncatingIfNeeded: i))) : .string(String(i))
        default:
            guard let s = v.textValue else { return nil }
            if integer { return unsignedNumber(s).map { .int($0) } }
            return .string(s)
        }
    }

    func store(_ ctx: MessageContext, _ source: AvpopsSource, _ name: AvpopsDBName) -> Int {
        guard let db = database, let user = source.conditions(ctx, columns, useDomain: useDomain),
            let attributeValue = name.attribute(ctx)
        else { return -1 }
        func column(_ c: String) -> DatabaseValue {
            .string(user.first { $0.key == c }.flatMap { $0.value.textValue } ?? "")
        }
        let keys: [String]
        if let attributeValue {
            guard let key = name.avp?.key(ctx) else { return -1 }
            _ = attributeValue
            keys = [key]
        } else {
            keys = AVPList.names(ctx, type: name.match?.type)
        }
        var stored = 0
        for key in keys {
            let flags = AVPList.flags(ctx, key)
            for (i, value) in AVPList.values(ctx, key).enumerated() where flags[i] & AVPList.inDatabase == 0 {
                let integerValue: Bool
                let text: String
                switch value {
                case .int(let n):
                    integerValue = true
                    text = String(UInt32(truncatingIfNeeded: n))
                case .string(let s):
                    integerValue = false
                    text = s
                case .null: continue
                }
                let type =
                    (AVPList.isIntegerName(key) ? Self.integerNameBit : 0) | (integerValue ? Self.integerValueBit : 0)
                do {
                    try db.insert(
                        name.table ?? table,
                        [
                            (columns.uuid, column(columns.uuid)), (columns.attribute, .string(AVPList.plainName(key))),
                            (columns.value, .string(text)), (columns.type, .int(type)),
                            (columns.username, column(columns.username)), (columns.domain, column(columns.domain)),
                        ])
                } catch {
                    Log.error("avpops", "insert failed: \(error)")
                    continue
                }
                AVPList.setFlags(ctx, key, at: i, AVPList.inDatabase)
                stored += 1
            }
        }
        return stored == 0 ? -1 : 1
    }

    func delete(_ ctx: MessageContext, _ source: AvpopsSource, _ name: AvpopsDBName) -> Int {
        guard let db = database, var conditions = source.conditions(ctx, columns, useDomain: useDomain),
            let attributeValue = name.attribute(ctx)
        else { return -1 }
        if let attributeValue {
            conditions.append(DatabaseCondition(columns.attribute, .equal, .string(attributeValue)))
        }
        do {
            _ = try db.delete(name.table ?? table, where: conditions)
        } catch {
            Log.error("avpops", "delete failed: \(error)")
            return -1
        }
        return 1
    }

    /// `avp_db_query(query[, dest])`: each column of each row into the AVP named at its
    /// position in `dest` (`$avp(i:1)`, `$avp(i:2)`, ... without), the first row on top.
    /// 1, -2 when there is no row, -1 on an error.
    func query(_ ctx: MessageContext, _ sql: StringFormat, _ destinations: [AVPReference]?) -> Int {
        guard let db = database else { return -1 }
        let text = sql.render(ctx)
        guard !text.isEmpty, text.utf8.count < 1024 else {
            Log.error("avpops", "cannot print the query")
            return -1
        }
        let result: DatabaseResult
        do {
            result = try db.rawQuery(text)
        } catch {
            Log.error("avpops", "cannot do the query: \(error)")
            return -1
        }
        guard !result.rows.isEmpty, !result.columns.isEmpty else { return -2 }
        for row in result.rows.reversed() {
            for (j, cell) in row.enumerated() {
                if let destinations, j >= destinations.count { break }
                let key: String
                if let destinations {
                    guard let k = destinations[j].key(ctx) else { continue }
                    key = k
                } else {
                    key = "#\(j + 1)"
                }
                let value: PVValue
                switch cell {
                case .string(let s), .str(let s):
                    guard !s.isEmpty else { continue }
                    value = .string(s)
                case .blob(let b):
                    guard !b.isEmpty else { continue }
                    value = .string(String(decoding: b, as: UTF8.self))
                case .int(let i): value = .int(Int(Int32(truncatingIfNeeded: i)))
                case .bigint(let i): value = .int(Int(Int32(truncatingIfNeeded: i)))
                case .datetime(let t): value = .int(Int(Int32(truncatingIfNeeded: t)))
                case .null, .double: continue
                }
                AVPList.add(ctx, key, value)
            }
        }
        return 1
    }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Reading the `address` and `trusted` tables (and the address file): Kamailio's
/// `reload_address_db_table`, `reload_address_file_table` and `reload_trusted_table`.
extension PermissionsModule {
    /// The address tables from the database (or `address_file`); nil on an error or an
    /// invalid record.
    func loadAddresses() -> AddressTables? {
        var t = AddressTables()
        t.maxSubnets = maxSubnets
        if !addressFile.isEmpty { return loadAddressFile(into: t) }
        guard let db else { return nil }
        let r: DatabaseResult
        do {
            r = try db.query(addressTable, columns: [groupColumn, ipColumn, maskColumn, portColumn, tagColumn])
        } catch {
            Log.error("permissions", "failed to query database: \(error)")
            return nil
        }
        for row in r.rows {
            guard let group = Self.integer(row[0]), group > 0, let ip = row[1].textValue,
                let mask = Self.integer(row[2]),
                let port = Self.integer(row[3]),
                t.insert(group: group, address: ip, mask: mask, port: port, tag: row[4].textValue)
            else {
                Log.error("permissions", "database problem - invalid record")
                return nil
            }
        }
        return t
    }

    /// An integer column value (NULL and text are not).
    static func integer(_ v: DatabaseValue) -> Int? {
        switch v {
        case .int(let n): n
        case .bigint(let n): Int(n)
        default: nil
        }
    }

    /// `reload_address_file_table`: lines `group address [mask [port [tag]]]`, `#` comments.
    func loadAddressFile(into table: AddressTables) -> AddressTables? {
        var t = table
        let path = addressFile.hasPrefix("/") ? addressFile : "./" + addressFile
        guard let f = fopen(path, "r") else {
            Log.error("permissions", "can't open list file [\(path)]")
            return nil
        }
        defer { fclose(f) }
        var buffer = [CChar](repeating: 0, count: 1024)
        while fgets(&buffer, 1024, f) != nil {
            let line = Array(String(cString: buffer).utf8)
            var p = 0
            func skipSpace() { while p < line.count, [32, 9, 13, 10].contains(line[p]) { p += 1 } }
            func atEnd() -> Bool { p >= line.count || line[p] == UInt8(ascii: "#") }
            func number() -> Int {
                var n = 0
                while p < line.count, line[p] >= 48, line[p] <= 57 {
                    n = n &* 10 &+ Int(line[p] - 48)
                    p += 1
                }
                return n
            }
            func word() -> String {
                let start = p
                while p < line.count, ![32, 9, 13, 10, UInt8(ascii: "#")].contains(line[p]) { p += 1 }
                return String(decoding: line[start..<p], as: UTF8.self)
            }
            skipSpace()
            if atEnd() { continue }
            let group = number()
            skipSpace()
            if atEnd() { return nil }
            let address = word()
            var mask = 0
            var port = 0
            var tag: String?
            skipSpace()
            if !atEnd() {
                mask = number()
                skipSpace()
                if !atEnd() {
                    port = number()
                    skipSpace()
                    if !atEnd() { tag = word() }
                }
            }
            guard t.insert(group: group, address: address, mask: mask, port: port, tag: tag) else { return nil }
        }
        return t
    }

    /// The trusted table from the database; nil on an error or an invalid row.
    func loadTrusted() -> TrustedTable? {
        guard let db else { return nil }
        let r: DatabaseResult
        do {
            r = try db.query(
                trustedTable, columns: [sourceColumn, protoColumn, fromColumn, ruriColumn, tagColumn, priorityColumn])
        } catch {
            Log.error("permissions", "failed to query database: \(error)")
            return nil
        }
        var t = TrustedTable()
        for row in r.rows {
            guard let ip = row[0].textValue, let protoText = row[1].textValue else {
                Log.error("permissions", "database problem")
                return nil
            }
            guard let proto = TrustedProto.number(protoText) else {
                Log.error("permissions", "unknown protocol")
                return nil
            }
            if proto < 0 { continue }
            t.insert(
                TrustedPeer(
                    sourceIP: ip, proto: proto, fromPattern: row[2].textValue, ruriPattern: row[3].textValue,
                    tag: row[4].textValue, priority: row[5].intValue ?? 0))
        }
        return t
    }

    /// `permissions.addressReload`.
    func reloadAddresses() -> Bool {
        guard addressFile.isEmpty ? db != nil : true else {
            Log.error("permissions", "db_url not set")
            return false
        }
        defer { db?.disconnect() }
        guard let t = loadAddresses() else { return false }
        addresses.withLock { $0 = t }
        return true
    }

    /// `permissions.trustedReload`: only with the cache (`db_mode` 1).
    func reloadTrusted() -> Bool {
        guard db != nil else {
            Log.error("permissions", "db_url not set")
            return false
        }
        defer { db?.disconnect() }
        guard trusted.withLock({ $0 != nil }) else {
            Log.error("permissions", "in-memory hash table not initialized")
            return false
        }
        guard let t = loadTrusted() else { return false }
        trusted.withLock { $0 = t }
        return true
    }
}

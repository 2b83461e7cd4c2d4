import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// htable's RPC commands with Kamailio's parameters, faults and result shapes.
extension HTableModule {
    var rpcs: [RPCCommand] {
        [
            RPCCommand("htable.dump", "Dump the contents of hash table.") { r throws(RPCError) in try self.dump(r) },
            RPCCommand("htable.delete", "Delete one key from a hash table.") { r throws(RPCError) in
                let (t, key) = try self.tableAndKey(r, "Not enough parameters (htable name & key name")
                guard t.delete(key) else { throw RPCError(404, "Key not found in htable.") }
                return .string("Ok. Key deleted.")
            },
            RPCCommand("htable.get", "Get one key from a hash table.") { r throws(RPCError) in try self.get(r) },
            RPCCommand("htable.sets", "Set one key in a hash table to a string value.") { r throws(RPCError) in
                try self.set(r, integer: false)
            },
            RPCCommand("htable.seti", "Set one key in a hash table to an integer value.") { r throws(RPCError) in
                try self.set(r, integer: true)
            },
            RPCCommand("htable.setex", "Set expire in a hash table for the item referenced by key.") {
                r throws(RPCError) in
                let (t, key) = try self.tableAndKey(r, "Not enough parameters (htable name, item name and expire)")
                guard let seconds = try? r.int(2) else {
                    throw RPCError(500, "Not enough parameters (htable name, item name and expire)")
                }
                t.setExpire(key, seconds)
                return .string("Ok")
            },
            RPCCommand("htable.setxs", "Set one key in a hash table to a string value and its expire value.") {
                r throws(RPCError) in try self.setx(r, integer: false)
            },
            RPCCommand("htable.setxi", "Set one key in a hash table to an integer value and its expire value.") {
                r throws(RPCError) in try self.setx(r, integer: true)
            },
            RPCCommand("htable.listTables", "List all htables.") { _ throws(RPCError) in try self.listTables() },
            RPCCommand("htable.stats", "Statistics about htables.") { _ throws(RPCError) in try self.stats() },
            RPCCommand("htable.flush", "Flush hash table.") { r throws(RPCError) in
                guard let name = try? r.string(0) else { throw RPCError(500, "No htable name given") }
                guard let t = self.table(name) else { throw RPCError(500, "No such htable") }
                t.removeAll { _ in true }
                return .string("Ok. Htable flushed.")
            },
        ]
    }

    func tableAndKey(_ r: RPCRequest, _ missing: String) throws(RPCError) -> (HashTable, String) {
        guard let name = try? r.string(0), let key = try? r.string(1) else { throw RPCError(500, missing) }
        guard let t = table(name) else { throw RPCError(500, "No such htable") }
        return (t, key)
    }

    /// `htable.get table key` → `{item: {name, value, flags, expire}}` (expire as local
    /// time `%Y-%m-%d %H:%M:%S`, or `NEVER`).
    func get(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        let (t, key) = try tableAndKey(r, "Not enough parameters (htable name and key name)")
        guard let item = t.item(key) else { throw RPCError(500, "Key name doesn't exist in htable.") }
        let value: RPCValue
        let flags: Int
        switch item.value {
        case .string(let s): (value, flags) = (.string(s), 2)
        case .int(let i): (value, flags) = (.int(Int(Int32(truncatingIfNeeded: i))), 0)
        case .null: (value, flags) = (.int(0), 0)
        }
        let expire = item.expire == 0 ? "NEVER" : Self.localTime(time(nil) + (item.expire - clock()))
        return .object([
            (
                "item",
                .object([("name", .string(key)), ("value", value), ("flags", .int(flags)), ("expire", .string(expire))])
            )
        ])
    }

    /// `htable.sets table key value` / `htable.seti table key value`.
    func set(_ r: RPCRequest, integer: Bool) throws(RPCError) -> RPCValue {
        let missing = "Not enough parameters (htable name, key name and value)"
        let (t, key) = try tableAndKey(r, missing)
        let value: PVValue
        if integer {
            guard let i = try? r.int(2) else { throw RPCError(500, missing) }
            value = .int(i)
        } else {
            guard let s = try? r.string(2) else { throw RPCError(500, missing) }
            value = .string(s)
        }
        guard t.set(key, value) else { throw RPCError(500, "Failed to set the item") }
        return .string("Ok. Key set to new value.")
    }

    /// `htable.setxs table key value expire` / `htable.setxi ...`.
    func setx(_ r: RPCRequest, integer: Bool) throws(RPCError) -> RPCValue {
        let missing = "Not enough parameters (htable name, key name, value and expire)"
        guard let name = try? r.string(0), let key = try? r.string(1), let expires = try? r.int(3) else {
            throw RPCError(500, missing)
        }
        let value: PVValue
        if integer {
            guard let i = try? r.int(2) else { throw RPCError(500, missing) }
            value = .int(i)
        } else {
            guard let s = try? r.string(2) else { throw RPCError(500, missing) }
            value = .string(s)
        }
        guard let t = table(name), t.set(key, value, expires: expires) else {
            throw RPCError(500, "Failed to set the item")
        }
        return .string("Ok. Key set to new value.")
    }

    /// `htable.dump table` → `[{entry, size, slot: [{name, value, type}]}]`, non-empty
    /// slots only.
    func dump(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard let name = try? r.string(0) else { throw RPCError(500, "No htable name given") }
        guard let t = table(name) else { throw RPCError(500, "No such htable") }
        return .array(
            t.snapshot().map { slot in
                .object([
                    ("entry", .int(slot.slot)), ("size", .int(slot.items.count)),
                    (
                        "slot",
                        .array(
                            slot.items.map { item in
                                switch item.value {
                                case .string(let s):
                                    .object([
                                        ("name", .string(item.name)), ("value", .string(s)), ("type", .string("str")),
                                    ])
                                default:
                                    .object([
                                        ("name", .string(item.name)), ("value", Self.intValue(item.value)),
                                        ("type", .string("int")),
                                    ])
                                }
                            })
                    ),
                ])
            })
    }

    /// `htable.listTables` → `[{name, dbtable, dbmode, expire, updateexpire, size, dmqreplicate}]`.
    func listTables() throws(RPCError) -> RPCValue {
        guard !tableList.isEmpty else { throw RPCError(500, "No htables") }
        return .array(
            tableList.map { t in
                let d = t.definition
                return .object([
                    ("name", .string(d.name)), ("dbtable", .string(d.dbTable)), ("dbmode", .int(d.dbMode)),
                    ("expire", .int(d.autoexpire)), ("updateexpire", .int(d.updateExpire ? 1 : 0)),
                    ("size", .int(t.slots.count)), ("dmqreplicate", .int(d.dmqReplicate)),
                ])
            })
    }

    /// `htable.stats` → `[{name, slots, all, min, max}]` (items per slot).
    func stats() throws(RPCError) -> RPCValue {
        guard !tableList.isEmpty else { throw RPCError(500, "No htables") }
        return .array(
            tableList.map { t in
                let sizes = t.slots.map { slot in slot.withLock { slot.cells.count } }
                return .object([
                    ("name", .string(t.name)), ("slots", .int(t.slots.count)), ("all", .int(sizes.reduce(0, +))),
                    ("min", .int(sizes.min() ?? 0)), ("max", .int(sizes.max() ?? 0)),
                ])
            })
    }

    static func intValue(_ v: PVValue) -> RPCValue {
        if case .int(let i) = v { return .int(Int(Int32(truncatingIfNeeded: i))) }
        return .int(0)
    }

    /// `%Y-%m-%d %H:%M:%S` in local time, as Kamailio's `htable.get`.
    static func localTime(_ t: time_t) -> String {
        var seconds = t
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

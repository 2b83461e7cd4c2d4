import SwiftletSDK

/// The item functions: `sht_rm`, `sht_setxs`, `sht_setxi`, `sht_lock`, `sht_unlock`,
/// `sht_reset`, `sht_print`.
extension HTableModule {
    /// Renders a string argument; nil (logged) when it is empty.
    static func nonEmpty(_ format: StringFormat, _ ctx: MessageContext, _ what: String) -> String? {
        let s = format.render(ctx)
        guard !s.isEmpty else {
            Log.error("htable", "cannot get the \(what)")
            return nil
        }
        return s
    }

    /// The table named `name`, logging Kamailio's error when there is none.
    func existingTable(_ name: String) -> HashTable? {
        guard let t = table(name) else {
            Log.error("htable", "cannot get hash table [\(name)]")
            return nil
        }
        return t
    }

    var itemFunctions: [ScriptFunction] {
        [
            ScriptFunction("sht_rm", parameters: 2, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
                let (tname, key) = (try args[0].stringFormat(), try args[1].stringFormat())
                return { ctx in
                    guard let n = Self.nonEmpty(tname, ctx, "hash table name"),
                        let k = Self.nonEmpty(key, ctx, "item table name"), let t = self.existingTable(n)
                    else { return -1 }
                    t.delete(k)
                    return 1
                }
            },
            setx("sht_setxs", integer: false),
            setx("sht_setxi", integer: true),
            slotLock("sht_lock", lock: true),
            slotLock("sht_unlock", lock: false),
            ScriptFunction("sht_reset", parameters: 1, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
                let tname = try args[0].stringFormat()
                return { ctx in
                    guard let n = Self.nonEmpty(tname, ctx, "hash table name"), let t = self.existingTable(n) else {
                        return -1
                    }
                    t.removeAll { _ in true }
                    return 1
                }
            },
            ScriptFunction("sht_print", parameters: 0, routes: .any) { (_: [ScriptArgument]) throws(FixupError) in
                return { _ in
                    self.printTables()
                    return 1
                }
            },
        ]
    }

    /// `sht_setxs(table, key, value, expire)` / `sht_setxi(...)`: sets the item and its
    /// expiry (seconds from now; 0 or less: as a plain assignment).
    func setx(_ name: String, integer: Bool) -> ScriptFunction {
        ScriptFunction(name, parameters: 4, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
            let tname = try args[0].stringFormat()
            let key = try args[1].stringFormat()
            let text = integer ? nil : try args[2].stringFormat()
            let number = integer ? try args[2].intParameter() : nil
            let expires = try args[3].intParameter()
            return { ctx in
                guard let n = Self.nonEmpty(tname, ctx, "htable name"), let k = Self.nonEmpty(key, ctx, "item name")
                else { return -1 }
                let value: PVValue
                if let text {
                    value = .string(text.render(ctx))
                } else {
                    guard let i = number?.value(ctx) else {
                        Log.error("htable", "cannot get item value")
                        return -1
                    }
                    value = .int(i)
                }
                guard let ex = expires.value(ctx) else {
                    Log.error("htable", "cannot get expire value")
                    return -1
                }
                guard let t = self.table(n) else {
                    Log.error("htable", "No such htable: \(n)")
                    return -1
                }
                return t.set(k, value, expires: ex) ? 1 : -1
            }
        }
    }

    /// `sht_lock("table=>key")` / `sht_unlock(...)`: holds the key's slot (recursively, on
    /// this thread) so that a read-modify-write of items in it is atomic for the workers.
    func slotLock(_ name: String, lock: Bool) -> ScriptFunction {
        ScriptFunction(name, parameters: 1, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
            let ref = try HTKeyReference(parsing: try args[0].constantString())
            return { ctx in
                guard let t = self.table(ref.table) else {
                    Log.error("htable", "cannot get $sht root")
                    return -11
                }
                let slot = t.slot(for: ref.key.render(ctx))
                if lock { slot.lock() } else { slot.unlock() }
                return 1
            }
        }
    }

    /// `sht_print()`: every table and item, logged at the error level as Kamailio's `ht_dbg`.
    func printTables() {
        for t in tableList {
            Log.error("htable", "htable[\(t.name)] hid: \(CoreCaseHash.hash(t.name)) exp: \(t.autoexpire)>")
            for (i, slot) in t.slots.enumerated() {
                slot.withLock {
                    Log.error("htable", "htable[\(i)] -- <\(slot.cells.count)>")
                    for cell in slot.cells {
                        Log.error("htable", "\tcell: \(cell.nameString)")
                        Log.error(
                            "htable", "\thid: \(cell.id) flags: \(cell.value.isString ? 2 : 0) expire: \(cell.expire)")
                        switch cell.value {
                        case .string(let b): Log.error("htable", "\tv-s:\(b.string)")
                        case .int(let n): Log.error("htable", "\tv-i:\(n)")
                        }
                    }
                }
            }
        }
    }
}

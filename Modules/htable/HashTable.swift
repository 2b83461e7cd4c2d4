import SwiftletSDK

/// One shared hash table (Kamailio's `ht_t`): 2^size slots, each with its own recursive
/// lock, used by every worker thread at once. Expiry is in seconds of the core's clock
/// (`core.timers`: the timer thread in a server, the virtual clock under EmbeddedCore); as
/// in Kamailio, expiry only applies to tables with `autoexpire`.
final class HashTable: @unchecked Sendable {
    let definition: HashTableDefinition
    let slots: [HTSlot]
    let memory: SharedMemory
    /// Seconds of the module's clock (never 0, so that 0 keeps meaning "never").
    let clock: () -> Int

    init(_ definition: HashTableDefinition, memory: SharedMemory, clock: @escaping () -> Int) {
        self.definition = definition
        self.slots = (0..<definition.slotCount).map { _ in HTSlot() }
        self.memory = memory
        self.clock = clock
    }

    var name: String { definition.name }
    var autoexpire: Int { definition.autoexpire }

    @inline(__always) func slotIndex(_ id: UInt32) -> Int { Int(id & UInt32(slots.count - 1)) }

    /// The slot of `key` (for `sht_lock`).
    func slot(for key: String) -> HTSlot { slots[slotIndex(CoreCaseHash.hash(key))] }

    /// Kamailio's `now` in the set functions: the clock only for tables that expire.
    private var expiryNow: Int { autoexpire > 0 ? clock() : 0 }

    private func isExpired(_ cell: HTCell, _ now: Int) -> Bool {
        autoexpire > 0 && cell.expire != 0 && cell.expire < now
    }

    /// A value stored in shared memory; nil (logged) when the pool is full.
    func stored(_ value: PVValue) -> HTValue? {
        switch value {
        case .int(let i): return .int(i)
        case .null: return .int(0)
        case .string(let s):
            guard let b = SharedBytes(s, in: memory) else {
                Log.error("htable", "no more shm (\(s.utf8.count) bytes for a value of table \(name))")
                return nil
            }
            return .string(b)
        }
    }

    // MARK: items

    /// `$sht(t=>key)`: the value, nil when absent or expired (Kamailio's `ht_cell_pkg_copy`).
    func get(_ key: String) -> PVValue? {
        let id = CoreCaseHash.hash(key)
        let slot = slots[slotIndex(id)]
        let now = autoexpire > 0 ? clock() : 0
        return slot.withLock {
            guard let i = slot.find(key, id: id), !isExpired(slot.cells[i], now) else { return nil }
            return slot.cells[i].value.pv
        }
    }

    /// Kamailio's `ht_set_cell_ex`: stores `value` under `key`. `expires` > 0 sets the item
    /// to expire that many seconds from now; otherwise a new item gets `autoexpire` and an
    /// existing one is renewed when `updateexpire` is on. False when shared memory is full.
    @discardableResult
    func set(_ key: String, _ value: PVValue, expires: Int = 0) -> Bool {
        let id = CoreCaseHash.hash(key)
        let slot = slots[slotIndex(id)]
        guard let newValue = stored(value) else { return false }
        let now = expiryNow
        return slot.withLock {
            if let i = slot.find(key, id: id) {
                let cell = slot.cells[i]
                cell.value = newValue
                if expires > 0 {
                    cell.expire = now + expires
                } else if definition.updateExpire {
                    cell.expire = now + autoexpire
                }
                return true
            }
            guard let nameBytes = SharedBytes(key, in: memory) else {
                Log.error("htable", "no more shm (\(key.utf8.count) bytes for a name in table \(name))")
                return false
            }
            let cell = HTCell(
                id: id, name: nameBytes, value: newValue, expire: now + (expires > 0 ? expires : autoexpire))
            slot.cells.insert(cell, at: slot.insertionIndex(id))
            return true
        }
    }

    /// Kamailio's `ht_del_cell_confirm`: true when the item was there.
    @discardableResult
    func delete(_ key: String) -> Bool {
        let id = CoreCaseHash.hash(key)
        let slot = slots[slotIndex(id)]
        let removed: HTCell? = slot.withLock {
            guard let i = slot.find(key, id: id) else { return nil }
            return slot.cells.remove(at: i)
        }
        return removed != nil
    }

    /// Kamailio's `ht_cell_value_add` (`$shtinc`, `$shtdec`): adds `delta` to an integer
    /// item and returns the new value. A missing (or expired) item starts from `initval`
    /// when the table has one; otherwise, and for string items, nil.
    func add(_ key: String, _ delta: Int) -> Int? {
        let id = CoreCaseHash.hash(key)
        let slot = slots[slotIndex(id)]
        let now = expiryNow
        return slot.withLock { () -> Int? in
            if let i = slot.find(key, id: id) {
                let cell = slot.cells[i]
                if now > 0 && cell.expire != 0 && cell.expire < now {
                    guard let initial = definition.initialValue else { return nil }
                    cell.value = .int(initial)
                }
                guard case .int(let n) = cell.value else { return nil }
                cell.value = .int(n &+ delta)
                if definition.updateExpire { cell.expire = now + autoexpire }
                return n &+ delta
            }
            guard let initial = definition.initialValue,
                let nameBytes = SharedBytes(key, in: memory)
            else { return nil }
            let cell = HTCell(id: id, name: nameBytes, value: .int(initial &+ delta), expire: now + autoexpire)
            slot.cells.insert(cell, at: slot.insertionIndex(id))
            return initial &+ delta
        }
    }

    /// Kamailio's `ht_set_cell_expire` (`$shtex` assignment, `htable.setex`): the item
    /// expires `seconds` from now (0: never). Ignored for tables without `autoexpire`.
    func setExpire(_ key: String, _ seconds: Int) {
        guard autoexpire > 0 else { return }
        let id = CoreCaseHash.hash(key)
        let slot = slots[slotIndex(id)]
        let expire = seconds > 0 ? clock() + seconds : 0
        slot.withLock {
            if let i = slot.find(key, id: id) { slot.cells[i].expire = expire }
        }
    }

    /// Kamailio's `ht_get_cell_expire` (`$shtex`): seconds left (0 when absent, never
    /// expiring, or in a table without `autoexpire`).
    func expiresIn(_ key: String) -> Int {
        guard autoexpire > 0 else { return 0 }
        let id = CoreCaseHash.hash(key)
        let slot = slots[slotIndex(id)]
        let now = clock()
        return slot.withLock {
            guard let i = slot.find(key, id: id), slot.cells[i].expire != 0 else { return 0 }
            return max(0, slot.cells[i].expire - now)
        }
    }

    /// The item as stored (name, value, expiry), nil when absent or expired (`htable.get`).
    func item(_ key: String) -> (value: PVValue, expire: Int)? {
        let id = CoreCaseHash.hash(key)
        let slot = slots[slotIndex(id)]
        let now = autoexpire > 0 ? clock() : 0
        return slot.withLock {
            guard let i = slot.find(key, id: id), !isExpired(slot.cells[i], now) else { return nil }
            return (slot.cells[i].value.pv, slot.cells[i].expire)
        }
    }

    // MARK: whole-table operations

    /// Removes every item for which `matches` is true, slot by slot; the count removed.
    @discardableResult
    func removeAll(where matches: (HTCell) -> Bool) -> Int {
        var removed = 0
        for slot in slots {
            slot.withLock {
                let before = slot.cells.count
                slot.cells.removeAll(where: matches)
                removed += before - slot.cells.count
            }
        }
        return removed
    }

    /// True when some item matches (stops at the first).
    func contains(where matches: (HTCell) -> Bool) -> Bool {
        for slot in slots where slot.withLock({ slot.cells.contains(where: matches) }) { return true }
        return false
    }

    /// How many items match.
    func count(where matches: (HTCell) -> Bool) -> Int {
        slots.reduce(0) { total, slot in total + slot.withLock { slot.cells.count(where: matches) } }
    }

    /// The number of items (expired ones not yet removed included, as Kamailio's `esize`).
    var count: Int { slots.reduce(0) { total, slot in total + slot.withLock { slot.cells.count } } }

    /// Kamailio's `ht_timer` for one table: removes the items whose time is up and returns
    /// them (name and value) in slot order, for `event_route[htable:expired:<name>]`.
    func removeExpired() -> [(name: String, value: PVValue)] {
        guard autoexpire > 0 else { return [] }
        let now = clock()
        var expired: [(name: String, value: PVValue)] = []
        for slot in slots {
            slot.withLock {
                guard slot.cells.contains(where: { $0.expire != 0 && $0.expire < now }) else { return }
                slot.cells.removeAll { cell in
                    guard cell.expire != 0 && cell.expire < now else { return false }
                    expired.append((cell.nameString, cell.value.pv))
                    return true
                }
            }
        }
        return expired
    }

    /// Each slot's items (name and value), each slot read under its lock (`htable.dump`).
    func snapshot() -> [(slot: Int, items: [(name: String, value: PVValue)])] {
        var result: [(slot: Int, items: [(name: String, value: PVValue)])] = []
        for (i, slot) in slots.enumerated() {
            let items = slot.withLock { slot.cells.map { ($0.nameString, $0.value.pv) } }
            if !items.isEmpty { result.append((i, items)) }
        }
        return result
    }
}

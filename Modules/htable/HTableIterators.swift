import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// A named walk over a table (`sht_iterator_start/next/end`), Kamailio's `ht_iterator_t`:
/// while it stands on an item it holds that item's slot locked, so the script sees a stable
/// slot (and other workers wait for it) until `next` moves on or `end` releases it.
final class HTIterator {
    let name: String
    var table: HashTable?
    var slot = 0
    var current: HTCell?

    init(name: String) { self.name = name }

    /// Releases the slot held, if any.
    func release() {
        if let table, current != nil, slot < table.slots.count { table.slots[slot].unlock() }
        current = nil
    }

    /// Moves to the first item of the first non-empty slot from `slot` on, leaving that
    /// slot locked; false (nothing locked) at the end of the table.
    func seekFromSlot() -> Bool {
        guard let table else { return false }
        while slot < table.slots.count {
            let s = table.slots[slot]
            s.lock()
            if let first = s.cells.first {
                current = first
                return true
            }
            s.unlock()
            slot += 1
        }
        current = nil
        return false
    }

    /// Kamailio's `ht_iterator_next`: 0 on an item, -1 at the end.
    func next() -> Int {
        guard let table else { return -1 }
        guard let cell = current else {
            slot = 0
            return seekFromSlot() ? 0 : -1
        }
        let s = table.slots[slot]
        let cells = s.cells
        // The item after the current one in this slot (it may have been removed meanwhile:
        // then the first item with a higher id).
        let index = cells.firstIndex { $0 === cell }.map { $0 + 1 } ?? cells.firstIndex { $0.id > cell.id }
        if let index, index < cells.count {
            current = cells[index]
            return 0
        }
        current = nil
        s.unlock()
        slot += 1
        return seekFromSlot() ? 0 : -1
    }

    /// Kamailio's `ht_iterator_rm`: removes the current item and moves on; 0 on the next
    /// item, -2 at the end, -1 when not on an item.
    func removeCurrent() -> Int {
        guard let table, let cell = current else { return -1 }
        let s = table.slots[slot]
        if let i = s.cells.firstIndex(where: { $0 === cell }) {
            s.cells.remove(at: i)
            if i < s.cells.count {
                current = s.cells[i]
                return 0
            }
        }
        current = nil
        s.unlock()
        slot += 1
        return seekFromSlot() ? 0 : -2
    }
}

/// What each thread keeps per htable instance: its iterators (at most four, as Kamailio's
/// `HT_ITERATOR_SIZE`, each name under 32 bytes) and the item an expiry event route is
/// running for (`$shtrecord`).
final class HTableThreadState {
    static let maximumIterators = 4
    static let maximumIteratorName = 32

    var iterators: [HTIterator] = []
    var expired: (name: String, value: PVValue)?

    /// The iterator named `name`, created if there is room; nil when all four are in use.
    func iterator(_ name: String, create: Bool) -> HTIterator? {
        if let it = iterators.first(where: { $0.name == name }) { return it }
        guard create, iterators.count < Self.maximumIterators else { return nil }
        let it = HTIterator(name: name)
        iterators.append(it)
        return it
    }

    func endIterator(_ name: String) -> Bool {
        guard let i = iterators.firstIndex(where: { $0.name == name }) else { return false }
        iterators[i].release()
        iterators.remove(at: i)
        return true
    }

    // MARK: per thread, per instance

    final class Instances {
        var states: [ObjectIdentifier: HTableThreadState] = [:]
    }

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<Instances>.fromOpaque(p).release() }
        }
        return key
    }()

    /// The calling thread's state for the module instance `owner`.
    static func current(_ owner: ObjectIdentifier) -> HTableThreadState {
        let instances: Instances
        if let p = pthread_getspecific(key) {
            instances = Unmanaged<Instances>.fromOpaque(p).takeUnretainedValue()
        } else {
            instances = Instances()
            pthread_setspecific(key, Unmanaged.passRetained(instances).toOpaque())
        }
        if let s = instances.states[owner] { return s }
        let s = HTableThreadState()
        instances.states[owner] = s
        return s
    }
}

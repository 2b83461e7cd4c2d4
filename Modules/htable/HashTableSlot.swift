import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// A stored value: an integer, or a string kept in the core's shared memory pool.
enum HTValue {
    case int(Int)
    case string(SharedBytes)

    var pv: PVValue {
        switch self {
        case .int(let i): .int(i)
        case .string(let b): .string(b.string)
        }
    }

    var isString: Bool {
        if case .string = self { return true }
        return false
    }
}

/// One item (Kamailio's `ht_cell_t`): its name (in shared memory), value and expiry
/// (seconds of the module's clock, 0 = never).
final class HTCell {
    let id: UInt32
    let name: SharedBytes
    var value: HTValue
    var expire: Int

    init(id: UInt32, name: SharedBytes, value: HTValue, expire: Int) {
        self.id = id
        self.name = name
        self.value = value
        self.expire = expire
    }

    var nameString: String { name.string }

    func hasName(_ key: String) -> Bool {
        name.withUnsafeBytes { $0.elementsEqual(key.utf8) }
    }
}

/// One slot of a table: its items in Kamailio's order (by cell id, then insertion) behind a
/// recursive lock, so that a script holding the slot (`sht_lock`, an iterator) may still
/// read and write its items on the same thread, as Kamailio's `ht_slot_lock` allows.
final class HTSlot: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// The items; read and changed only with the slot locked.
    var cells: [HTCell] = []

    init() {
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always)
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    /// The index of the first item with an id not below `id`.
    func lowerBound(_ id: UInt32) -> Int {
        var low = 0
        var high = cells.count
        while low < high {
            let mid = (low + high) / 2
            if cells[mid].id < id { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The index of the item named `key` (with id `id`), or nil. Slot locked.
    func find(_ key: String, id: UInt32) -> Int? {
        var i = lowerBound(id)
        while i < cells.count, cells[i].id == id {
            if cells[i].hasName(key) { return i }
            i += 1
        }
        return nil
    }

    /// Where a new item with id `id` goes: after every item with an id not above it.
    func insertionIndex(_ id: UInt32) -> Int {
        var i = lowerBound(id)
        while i < cells.count, cells[i].id == id { i += 1 }
        return i
    }
}

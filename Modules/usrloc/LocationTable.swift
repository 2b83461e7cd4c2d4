import Glibc
import SwiftletSDK
import Synchronization

/// One slot of a location table: AoRs with their contacts behind one mutex (Kamailio's
/// `hslot_t` with its lock).
final class LocationSlot: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// AoR → contacts, highest q first.
    var records: [String: [UsrlocContact]] = [:]

    init() { pthread_mutex_init(mutex, nil) }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func locked<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// A location table (Kamailio's `udomain_t`): `2^hash_size` slots picked by the AoR's
/// `core_hash`, each with its own lock; changes go to the contact storage of `db_mode`.
class LocationTable: UsrlocDomain, @unchecked Sendable {
    let name: String
    let slots: [LocationSlot]
    /// Set once at start-up (`db_mode`), before workers run.
    var storage: ContactStorage
    /// AoRs and contacts in memory (the statistics `<table>_users`, `<table>_contacts`).
    let userCount = Atomic<Int>(0)
    let contactCount = Atomic<Int>(0)
    /// `<table>_expires`: contacts the timer removed because they expired.
    var expiredCounter: CounterHandle?

    init(name: String, slotCount: Int, storage: ContactStorage) {
        self.name = name
        self.slots = (0..<slotCount).map { _ in LocationSlot() }
        self.storage = storage
    }

    /// Counts a record that went from `old` to `new` contacts.
    func count(old: Int, new: Int) {
        let users = (new > 0 ? 1 : 0) - (old > 0 ? 1 : 0)
        if users != 0 { userCount.add(users, ordering: .relaxed) }
        if new != old { contactCount.add(new - old, ordering: .relaxed) }
    }

    func slot(for aor: String) -> LocationSlot {
        slots[Int(CoreHash.hash(aor) & UInt32(slots.count - 1))]
    }

    func record(_ aor: String) -> UsrlocRecord? {
        let s = slot(for: aor)
        guard let contacts = s.locked({ s.records[aor] }), !contacts.isEmpty else {
            return nil
        }
        return UsrlocRecord(aor: aor, aorHash: CoreHash.hash(aor), contacts: contacts)
    }

    // Specialised for registrar's `save()` (an `Int` result): called through the protocol,
    // the generic body looks up `Result<R, UsrlocError>`'s metadata on every call.
    @_specialize(where R == Int)
    func update<R>(_ aor: String, _ body: (inout [UsrlocContact]) -> R) -> Result<R, UsrlocError> {
        let s = slot(for: aor)
        return s.locked {
            let old = s.records[aor] ?? []
            var contacts = old
            let result = body(&contacts)
            contacts = Self.orderedByQ(contacts)
            s.records[aor] = contacts.isEmpty ? nil : contacts
            count(old: old.count, new: contacts.count)
            if let error = storage.apply(domain: name, aor: aor, old: old, new: contacts) { return .failure(error) }
            return .success(result)
        }
    }

    /// Highest q first; equal q keep their order, new contacts after the old ones of the same
    /// q (Kamailio's `mem_insert_ucontact`).
    static func orderedByQ(_ contacts: [UsrlocContact]) -> [UsrlocContact] {
        // Already in order (one contact, or q not rising): nothing to sort or copy.
        if contacts.count < 2 || zip(contacts, contacts.dropFirst()).allSatisfy({ $0.q >= $1.q }) { return contacts }
        let indexed = contacts.enumerated().map { ($0.offset, $0.element) }
        return indexed.sorted { a, b in a.1.q != b.1.q ? a.1.q > b.1.q : a.0 < b.0 }.map(\.1)
    }

    @discardableResult
    func removeRecord(_ aor: String) -> Bool {
        let s = slot(for: aor)
        return s.locked {
            guard let old = s.records.removeValue(forKey: aor) else { return false }
            count(old: old.count, new: 0)
            if let error = storage.apply(domain: name, aor: aor, old: old, new: []) {
                Log.error("usrloc", "failed to delete AoR \(aor): \(error)")
            }
            return true
        }
    }

    func records() -> [UsrlocRecord] {
        var all: [UsrlocRecord] = []
        for s in slots {
            s.locked {
                for (aor, contacts) in s.records {
                    all.append(UsrlocRecord(aor: aor, aorHash: CoreHash.hash(aor), contacts: contacts))
                }
            }
        }
        return all
    }

    /// Records per slot: the number of AoRs and the largest slot (`ul.dump`'s `Stats`).
    func slotStatistics() -> (records: Int, maxSlot: Int) {
        var n = 0
        var largest = 0
        for s in slots {
            let c = s.locked { s.records.count }
            n += c
            largest = max(largest, c)
        }
        return (n, largest)
    }

    func contact(ruid: String, aorHash: UInt32?) -> (aor: String, contact: UsrlocContact)? {
        let candidates = aorHash.map { [slots[Int($0 & UInt32(slots.count - 1))]] } ?? slots
        for s in candidates {
            let found: (String, UsrlocContact)? = s.locked {
                for (aor, contacts) in s.records {
                    if let c = contacts.first(where: { $0.ruid == ruid }) { return (aor, c) }
                }
                return nil
            }
            if let found { return found }
        }
        return nil
    }

    /// Removes the contacts that expired before `now` (Kamailio's `nodb_timer`/`wt_timer`);
    /// returns them with their AoRs. `delay` (`rm_expired_delay`) is for `db_mode` 3 only, as
    /// in Kamailio; `reportExpired` false: the caller does not need them.
    @discardableResult
    func expire(now: Int, delay: Int = 0, reportExpired: Bool = true) -> [(aor: String, contact: UsrlocContact)] {
        var expired: [(String, UsrlocContact)] = []
        for s in slots {
            s.locked {
                for (aor, contacts) in s.records where contacts.contains(where: { !$0.isValid(at: now) }) {
                    let kept = contacts.filter { $0.isValid(at: now) }
                    for c in contacts where !c.isValid(at: now) { expired.append((aor, c)) }
                    s.records[aor] = kept.isEmpty ? nil : kept
                    count(old: contacts.count, new: kept.count)
                    expiredCounter?.add(contacts.count - kept.count)
                    if let error = storage.apply(domain: name, aor: aor, old: contacts, new: kept) {
                        Log.error("usrloc", "failed to delete expired contacts of \(aor): \(error)")
                    }
                }
            }
        }
        return expired
    }

    /// Puts records read from the storage into memory (`preload` in database modes).
    func load(_ records: [UsrlocRecord]) {
        for r in records {
            let s = slot(for: r.aor)
            s.locked {
                count(old: s.records[r.aor]?.count ?? 0, new: r.contacts.count)
                s.records[r.aor] = r.contacts.isEmpty ? nil : Self.orderedByQ(r.contacts)
            }
        }
    }
}

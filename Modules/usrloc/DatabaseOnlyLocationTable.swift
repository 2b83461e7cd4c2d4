import SwiftletSDK

/// A location table with `db_mode` 3 (Kamailio's `DB_ONLY`): the database table is the only
/// copy. Every read queries it (`db_load_urecord`), every change is written at once, the
/// timer deletes expired rows (`db_timer_udomain`); nothing is kept in memory, so several
/// servers can share one table. The slot locks still serialize the changes this process makes
/// to one AoR, as Kamailio's `lock_udomain` does.
final class DatabaseOnlyLocationTable: LocationTable, @unchecked Sendable {
    /// The table's storage, set at start-up (`db_url`) before workers run.
    var database: DatabaseContactStorage? { storage as? DatabaseContactStorage }

    private func stored(_ aor: String) -> [UsrlocContact] {
        guard let database else { return [] }
        do {
            return try database.records(name, where: database.conditions(aor: aor)).first?.contacts ?? []
        } catch {
            Log.error("usrloc", "failed to load AoR \(aor) from table \(name): \(error)")
            return []
        }
    }

    override func record(_ aor: String) -> UsrlocRecord? {
        let contacts = Self.orderedByQ(stored(aor))
        guard !contacts.isEmpty else { return nil }
        return UsrlocRecord(aor: aor, aorHash: CoreHash.hash(aor), contacts: contacts)
    }

    override func update<R>(_ aor: String, _ body: (inout [UsrlocContact]) -> R) -> Result<R, UsrlocError> {
        let s = slot(for: aor)
        return s.locked {
            let old = Self.orderedByQ(stored(aor))
            var contacts = old
            let result = body(&contacts)
            contacts = Self.orderedByQ(contacts)
            if let error = storage.apply(domain: name, aor: aor, old: old, new: contacts) { return .failure(error) }
            return .success(result)
        }
    }

    @discardableResult
    override func removeRecord(_ aor: String) -> Bool {
        let s = slot(for: aor)
        return s.locked {
            let old = stored(aor)
            guard !old.isEmpty else { return false }
            if let error = storage.apply(domain: name, aor: aor, old: old, new: []) {
                Log.error("usrloc", "failed to delete AoR \(aor): \(error)")
            }
            return true
        }
    }

    /// Every AoR of the table, read from the database (RPC dumps, NAT pinging; Kamailio's
    /// `ul.dump` walks memory, which is empty in this mode, and shows nothing).
    override func records() -> [UsrlocRecord] {
        guard let database else { return [] }
        do {
            return try database.records(name, where: []).map {
                UsrlocRecord(aor: $0.aor, aorHash: $0.aorHash, contacts: Self.orderedByQ($0.contacts))
            }
        } catch {
            Log.error("usrloc", "failed to read table \(name): \(error)")
            return []
        }
    }

    override func slotStatistics() -> (records: Int, maxSlot: Int) {
        var perSlot: [Int: Int] = [:]
        let all = records()
        for r in all { perSlot[Int(r.aorHash & UInt32(slots.count - 1)), default: 0] += 1 }
        return (all.count, perSlot.values.max() ?? 0)
    }

    override func contact(ruid: String, aorHash: UInt32?) -> (aor: String, contact: UsrlocContact)? {
        guard let database else { return nil }
        do {
            let found = try database.records(name, where: [DatabaseCondition("ruid", .equal, .string(ruid))])
            guard let r = found.first, let c = r.contacts.first else { return nil }
            if let aorHash, aorHash != r.aorHash { return nil }
            return (r.aor, c)
        } catch {
            Log.error("usrloc", "failed to look up ruid \(ruid) in table \(name): \(error)")
            return nil
        }
    }

    /// Deletes the rows expired more than `delay` seconds ago (`rm_expired_delay`); with
    /// `reportExpired` (a contact-expired callback is registered) reads them first and returns
    /// them, as Kamailio's `udomain_contact_expired_cb` before `db_timer_udomain`. Otherwise the
    /// rows are gone without being read.
    @discardableResult
    override func expire(now: Int, delay: Int = 0, reportExpired: Bool = true) -> [(
        aor: String, contact: UsrlocContact
    )] {
        guard let database else { return [] }
        var expired: [(aor: String, contact: UsrlocContact)] = []
        if reportExpired {
            do {
                for r in try database.expiredRecords(domain: name, now: now, delay: delay) {
                    for c in r.contacts { expired.append((r.aor, c)) }
                }
            } catch {
                Log.error("usrloc", "failed to read expired contacts from table \(name): \(error)")
            }
        }
        do {
            let n = try database.deleteExpired(domain: name, now: now, delay: delay)
            if n > 0 {
                Log.debug("usrloc", "deleted \(n) expired contacts from table \(name)")
                expiredCounter?.add(n)
            }
        } catch {
            Log.error("usrloc", "failed to delete expired contacts from table \(name): \(error)")
        }
        return expired
    }

    /// Nothing is preloaded in this mode.
    override func load(_ records: [UsrlocRecord]) {}
}

import Glibc
import SwiftletSDK

/// usrloc's `db_mode` 1 (write-through) and 2 (write-back) storage: the table named like the
/// location table (`location`), with Kamailio's columns (schema version 9).
final class DatabaseContactStorage: ContactStorage, @unchecked Sendable {
    let db: Database
    let writeBack: Bool
    let useDomain: Bool
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Write-back: per table and AoR, the contacts as last written and as they are now.
    private var dirty: [String: (domain: String, aor: String, written: [UsrlocContact], now: [UsrlocContact])] = [:]

    static let tableVersion = 9

    init(db: Database, writeBack: Bool, useDomain: Bool) {
        self.db = db
        self.writeBack = writeBack
        self.useDomain = useDomain
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func apply(domain: String, aor: String, old: [UsrlocContact], new: [UsrlocContact]) -> UsrlocError? {
        if writeBack {
            let key = domain + "\u{0}" + aor
            pthread_mutex_lock(mutex)
            if let d = dirty[key] {
                dirty[key] = (domain, aor, d.written, new)
            } else {
                dirty[key] = (domain, aor, old, new)
            }
            pthread_mutex_unlock(mutex)
            return nil
        }
        return write(domain: domain, aor: aor, ContactChanges(old: old, new: new))
    }

    /// Writes what changed since the last flush (write-back; `ul.flush`, the timer).
    @discardableResult
    func flush() -> UsrlocError? {
        pthread_mutex_lock(mutex)
        let pending = dirty
        dirty.removeAll()
        pthread_mutex_unlock(mutex)
        var firstError: UsrlocError?
        // The AoRs' statements go to the database together, a few hundred at a time (one
        // round trip, one transaction); when that cannot be done or does not apply as
        // separate statements would (a failure, an UPDATE that finds no row), nothing of
        // it stays and those AoRs are written one statement at a time, as before.
        var group: [(domain: String, aor: String, changes: ContactChanges)] = []
        var statements: [DatabaseStatement] = []
        var updates: [Int] = []
        func writeGroup() {
            let applied =
                db.applyTogether(statements) { counts in
                    for i in updates where counts[i] == 0 { return false }
                    return true
                }
            if !applied {
                for g in group {
                    if let e = write(domain: g.domain, aor: g.aor, g.changes) { firstError = firstError ?? e }
                }
            }
            group.removeAll(keepingCapacity: true)
            statements.removeAll(keepingCapacity: true)
            updates.removeAll(keepingCapacity: true)
        }
        for (_, d) in pending {
            let changes = ContactChanges(old: d.written, new: d.now)
            if changes.isEmpty { continue }
            group.append((d.domain, d.aor, changes))
            for c in changes.deleted where c.flags & UsrlocContact.memoryOnlyFlag == 0 {
                statements.append(.delete(d.domain, where: [DatabaseCondition("ruid", .equal, .string(c.ruid))]))
            }
            for c in changes.updated where c.flags & UsrlocContact.memoryOnlyFlag == 0 {
                updates.append(statements.count)
                statements.append(
                    .update(
                        d.domain, set: Array(row(d.aor, c).dropFirst(3)),
                        where: [DatabaseCondition("ruid", .equal, .string(c.ruid))]))
            }
            for c in changes.inserted where c.flags & UsrlocContact.memoryOnlyFlag == 0 {
                statements.append(.insertRow(d.domain, columns: Self.columns, values: values(d.aor, c)))
            }
            if statements.count >= Self.statementsTogether { writeGroup() }
        }
        if !group.isEmpty { writeGroup() }
        return firstError
    }

    /// About how many statements the write-back flush sends together.
    static let statementsTogether = 256

    func write(domain: String, aor: String, _ changes: ContactChanges) -> UsrlocError? {
        do {
            for c in changes.deleted where c.flags & UsrlocContact.memoryOnlyFlag == 0 {
                try db.delete(domain, where: [DatabaseCondition("ruid", .equal, .string(c.ruid))])
            }
            for c in changes.updated where c.flags & UsrlocContact.memoryOnlyFlag == 0 {
                let n = try db.update(
                    domain, set: Array(row(aor, c).dropFirst(3)),
                    where: [DatabaseCondition("ruid", .equal, .string(c.ruid))])
                if n == 0 { try db.insert(domain, row(aor, c)) }
            }
            for c in changes.inserted where c.flags & UsrlocContact.memoryOnlyFlag == 0 {
                try db.insert(domain, row(aor, c))
            }
            return nil
        } catch {
            Log.error("usrloc", "failed to write contacts of \(aor) to table \(domain): \(error)")
            return UsrlocError("\(error)")
        }
    }

    /// A contact as a row: ruid, username, domain first, then the other columns.
    func row(_ aor: String, _ c: UsrlocContact) -> [(String, DatabaseValue)] {
        Array(zip(Self.columns, values(aor, c)))
    }

    /// The values of a contact's row, in the order of `columns`.
    func values(_ aor: String, _ c: UsrlocContact) -> [DatabaseValue] {
        var user = aor
        var dom: DatabaseValue = .null
        if useDomain, let at = aor.firstIndex(of: "@") {
            user = String(aor[..<at])
            dom = .string(String(aor[aor.index(after: at)...]))
        }
        func optional(_ s: String) -> DatabaseValue { s.isEmpty ? .null : .string(s) }
        return [
            .string(c.ruid), .string(user), dom, .string(c.address), optional(c.received), optional(c.path),
            .datetime(c.expires), .double(Double(c.q) / 1000), .string(c.callID), .int(c.cseq),
            .datetime(c.lastModified), .int(Int(c.flags)), .int(Int(Int32(bitPattern: c.cflags))),
            .string(c.userAgent), optional(c.socket), .int(Int(Int32(bitPattern: c.methods))),
            optional(c.instance), .int(c.regID), .int(c.serverID), .int(c.connectionID), .int(c.keepalive),
        ]
    }

    static let columns = [
        "ruid", "username", "domain", "contact", "received", "path", "expires", "q", "callid", "cseq",
        "last_modified", "flags", "cflags", "user_agent", "socket", "methods", "instance", "reg_id", "server_id",
        "connection_id", "keepalive",
    ]

    func load(domain: String) throws(UsrlocError) -> [UsrlocRecord] {
        try checkVersion(domain: domain)
        return try records(domain, where: [])
    }

    /// Checks the table's row in `version` (9).
    func checkVersion(domain: String) throws(UsrlocError) {
        do {
            try db.checkTableVersion(domain, version: Self.tableVersion)
        } catch {
            throw UsrlocError("\(error)")
        }
    }

    /// The rows of `domain` matching `conditions`, grouped by AoR in the order read.
    func records(_ domain: String, where conditions: [DatabaseCondition]) throws(UsrlocError) -> [UsrlocRecord] {
        let result: DatabaseResult
        do {
            result = try db.query(domain, columns: Self.columns, where: conditions, orderBy: "q")
        } catch {
            throw UsrlocError("\(error)")
        }
        var byAoR: [String: [UsrlocContact]] = [:]
        var order: [String] = []
        for r in result.rows {
            let (aor, c) = contact(r)
            if byAoR[aor] == nil { order.append(aor) }
            byAoR[aor, default: []].append(c)
        }
        return order.map { UsrlocRecord(aor: $0, aorHash: CoreHash.hash($0), contacts: byAoR[$0]!) }
    }

    /// The conditions selecting the rows of one AoR (`username`, and `domain` with
    /// `use_domain`; Kamailio's `db_load_urecord`).
    func conditions(aor: String) -> [DatabaseCondition] {
        guard useDomain else { return [DatabaseCondition("username", .equal, .string(aor))] }
        guard let at = aor.firstIndex(of: "@") else {
            return [
                DatabaseCondition("username", .equal, .string("")), DatabaseCondition("domain", .equal, .string(aor)),
            ]
        }
        return [
            DatabaseCondition("username", .equal, .string(String(aor[..<at]))),
            DatabaseCondition("domain", .equal, .string(String(aor[aor.index(after: at)...]))),
        ]
    }

    /// The conditions of the rows the timer removes (Kamailio's `db_timer_udomain`): `expires`
    /// before now + 1 - `delay` (`rm_expired_delay`) and not 0, which marks a permanent contact.
    static func expiredConditions(now: Int, delay: Int) -> [DatabaseCondition] {
        [
            DatabaseCondition("expires", .less, .datetime(now + 1 - delay)),
            DatabaseCondition("expires", .notEqual, .datetime(0)),
        ]
    }

    /// The rows the timer will remove (for the contact-expired callbacks).
    func expiredRecords(domain: String, now: Int, delay: Int) throws(UsrlocError) -> [UsrlocRecord] {
        try records(domain, where: Self.expiredConditions(now: now, delay: delay))
    }

    /// Deletes the rows that expired (see `expiredConditions`); the number deleted.
    func deleteExpired(domain: String, now: Int, delay: Int) throws(UsrlocError) -> Int {
        do {
            return try db.delete(domain, where: Self.expiredConditions(now: now, delay: delay))
        } catch {
            throw UsrlocError("\(error)")
        }
    }

    /// One row as its AoR and contact (columns in the order of `columns`).
    func contact(_ r: [DatabaseValue]) -> (aor: String, contact: UsrlocContact) {
        func text(_ i: Int) -> String { r[i].textValue ?? "" }
        func int(_ i: Int) -> Int { r[i].intValue ?? 0 }
        var aor = text(1)
        if useDomain, !text(2).isEmpty { aor += "@" + text(2) }
        let q = r[7].textValue.flatMap(Double.init) ?? -0.001
        var c = UsrlocContact(address: text(3), ruid: text(0))
        c.received = text(4)
        c.path = text(5)
        c.expires = int(6)
        c.q = q < 0 ? UsrlocContact.qUnspecified : Int((q * 1000).rounded())
        c.callID = text(8)
        c.cseq = int(9)
        c.lastModified = int(10)
        c.flags = UInt32(truncatingIfNeeded: int(11))
        c.cflags = UInt32(truncatingIfNeeded: int(12))
        c.userAgent = text(13)
        c.socket = text(14)
        c.methods = r[15].isNull ? UsrlocContact.allMethods : UInt32(truncatingIfNeeded: int(15))
        c.instance = text(16)
        c.regID = int(17)
        c.serverID = int(18)
        c.connectionID = int(19)
        c.keepalive = int(20)
        return (aor, c)
    }
}

import Glibc
import SwiftletSDK
import Synchronization

/// The `usrloc` module (Kamailio's `modules/usrloc`): the location tables registrar saves
/// REGISTER bindings in and `lookup()` reads, with the expiry timer and the `ul.*` RPCs.
final class UsrlocModule: UsrlocAPI, UsrlocTableListing, UsrlocContactCallbacks, @unchecked Sendable {
    /// `use_domain`: AoRs are `user@domain`.
    var useDomain = false
    /// `nat_bflag`: the branch flag marking contacts behind NAT (-1: none).
    var natBranchFlag = -1
    /// `timer_interval`: seconds between expiry runs.
    var timerInterval = 60
    /// `db_mode`: 0 memory only, 1 write-through, 2 write-back, 3 database only, 4 read-only
    /// (loaded at start-up, never written).
    var dbMode = 0
    /// `db_url`.
    var dbURL = ""
    /// `hash_size`: each table has 2^hash_size slots.
    var hashSize = 10
    /// `matching_mode`, `cseq_delay`.
    var matchingMode = 0
    var cseqDelay = 20
    /// `preload`: tables created at start-up.
    var preload: [String] = []
    /// `rm_expired_delay`: seconds past their expiry before the timer deletes contacts
    /// (`db_mode` 3 only, as in Kamailio).
    var removalDelay = 0
    /// The contact-expired callbacks (`register_ulcb(UL_CONTACT_EXPIRE)`), registered at start-up.
    private var expiredCallbacks: [@Sendable (String, String, UsrlocContact) -> Void] = []

    private var tables: [String: LocationTable] = [:]
    private var tableOrder: [String] = []
    private var storage: ContactStorage = MemoryOnlyStorage()
    private var timers: TimerScheduling?
    /// Unix time when the core's clock read `startTicks`.
    private var startTime = Int(time(nil))
    private var startTicks: UInt64 = 0
    private let ruidCounter = Atomic<Int>(0)
    private let ruidPrefix: String

    init() {
        ruidPrefix = "uloc-\(String(UInt32(truncatingIfNeeded: time(nil)), radix: 16))-\(String(getpid(), radix: 16))"
    }

    var natFlagMask: UInt64 { natBranchFlag >= 0 && natBranchFlag < 64 ? UInt64(1) << UInt64(natBranchFlag) : 0 }

    var exports: ModuleExports {
        let e = ModuleExports(name: "usrloc")
        e.parameters = [
            ModuleParameter("use_domain", .int { (v: Int) throws(FixupError) in self.useDomain = v != 0 }),
            ModuleParameter(
                "nat_bflag",
                .int { (v: Int) throws(FixupError) in
                    guard (-1...63).contains(v) else { throw FixupError("nat_bflag must be -1 to 63, got \(v)") }
                    self.natBranchFlag = v
                }),
            ModuleParameter(
                "timer_interval",
                .int { (v: Int) throws(FixupError) in
                    guard v > 0 else { throw FixupError("timer_interval must be positive, got \(v)") }
                    self.timerInterval = v
                }),
            ModuleParameter(
                "db_mode",
                .int { (v: Int) throws(FixupError) in
                    guard (0...4).contains(v) else { throw FixupError("db_mode must be 0-4, got \(v)") }
                    self.dbMode = v
                }),
            ModuleParameter("db_url", .string { (v: String) throws(FixupError) in self.dbURL = v }),
            ModuleParameter(
                "hash_size",
                .int { (v: Int) throws(FixupError) in
                    self.hashSize = v < 1 ? 1 : min(v, 16)
                }),
            ModuleParameter(
                "matching_mode",
                .int { (v: Int) throws(FixupError) in
                    guard (0...3).contains(v) else { throw FixupError("matching_mode must be 0-3, got \(v)") }
                    self.matchingMode = v
                }),
            ModuleParameter("cseq_delay", .int { (v: Int) throws(FixupError) in self.cseqDelay = v }),
            // Kamailio runs the expiry in timer_procs processes; here it is one timer.
            ModuleParameter("timer_procs", .int { (_: Int) throws(FixupError) in }),
            ModuleParameter("preload", .string { (v: String) throws(FixupError) in self.preload.append(v) }),
            ModuleParameter("rm_expired_delay", .int { (v: Int) throws(FixupError) in self.removalDelay = v }),
        ]
        e.provide(self, as: UsrlocAPI.self)
        e.provide(self, as: UsrlocTableListing.self)
        e.provide(self, as: UsrlocContactCallbacks.self)
        registerStatistics()
        e.rpcs = UsrlocRPC(module: self).commands
        e.initialize = { (context: ModuleInitContext) in
            self.timers = context.core.timers
            try self.openStorage(context.core)
            self.startTicks = context.core.timers.ticks
            self.startTime = Int(time(nil))
            for name in self.preload { _ = try self.registerDomain(name) }
            context.core.timers.every(milliseconds: self.timerInterval * 1000, name: "usrloc-timer") {
                self.runExpiry()
                self.flush()
            }
        }
        e.destroy = { self.flush() }
        return e
    }

    // MARK: UsrlocAPI

    func registerDomain(_ name: String) throws(FixupError) -> UsrlocDomain {
        if let t = tables[name] { return t }
        let t =
            dbMode == 3
            ? DatabaseOnlyLocationTable(name: name, slotCount: 1 << hashSize, storage: storage)
            : LocationTable(name: name, slotCount: 1 << hashSize, storage: storage)
        if storageReady { try load(t) }
        try registerStatistics(of: t)
        tables[name] = t
        tableOrder.append(name)
        return t
    }

    func domain(named name: String) -> UsrlocDomain? { tables[name] }

    func tableNames() -> [String] { tableOrder }

    private var storageReady = false
    /// Where tables are read from at start-up (`db_mode` 1-4).
    private var loader: DatabaseContactStorage?

    /// `db_mode` 1 to 4: binds `db_url`; loads the tables registered so far (Kamailio
    /// preloads them in every database mode but 3, which reads the table on each use and only
    /// checks its version here). Mode 4 then keeps changes in memory only.
    func openStorage(_ core: CoreContext) throws(FixupError) {
        defer { storageReady = true }
        guard dbMode != 0 else { return }
        guard !dbURL.isEmpty else { throw FixupError("usrloc: db_mode \(dbMode) needs db_url") }
        do {
            let db = try Database(url: dbURL, core: core)
            let database = DatabaseContactStorage(db: db, writeBack: dbMode == 2, useDomain: useDomain)
            loader = database
            if dbMode != 4 { storage = database }
        } catch {
            throw FixupError("usrloc: cannot use db_url \(dbURL): \(error)")
        }
        for t in allTables {
            t.storage = storage
            try load(t)
        }
    }

    func load(_ t: LocationTable) throws(FixupError) {
        guard let loader else { return }
        do {
            if t is DatabaseOnlyLocationTable {
                try loader.checkVersion(domain: t.name)
            } else {
                t.load(try loader.load(domain: t.name))
            }
        } catch {
            throw FixupError("usrloc: cannot load table \(t.name): \(error)")
        }
    }

    /// Writes pending changes (`db_mode` 2); false when a write failed.
    @discardableResult
    func flush() -> Bool {
        guard let db = storage as? DatabaseContactStorage, db.writeBack else { return true }
        return db.flush() == nil
    }

    /// The tables in registration order (RPC dumps).
    var allTables: [LocationTable] { tableOrder.compactMap { tables[$0] } }

    func table(named name: String) -> LocationTable? { tables[name] }

    func now() -> Int {
        guard let timers else { return Int(time(nil)) }
        return startTime + Int((timers.ticks &- startTicks) / UInt64(Timers.ticksPerSecond))
    }

    func newRUID() -> String {
        let n = ruidCounter.add(1, ordering: .relaxed).newValue
        // `prefix-n` written in place: the prefix, a dash and the decimal digits.
        var prefix = ruidPrefix
        return prefix.withUTF8 { head in
            String(unsafeUninitializedCapacity: head.count + 21) { out in
                _ = out.initialize(from: head)
                out[head.count] = UInt8(ascii: "-")
                var digits = 1
                var rest = n.magnitude / 10
                while rest > 0 {
                    digits += 1
                    rest /= 10
                }
                var at = head.count + 1
                if n < 0 {
                    out[at] = UInt8(ascii: "-")
                    at += 1
                }
                var v = n.magnitude
                for k in stride(from: at + digits - 1, through: at, by: -1) {
                    out[k] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
                return at + digits
            }
        }
    }

    func aorHash(_ aor: String) -> UInt32 { CoreHash.hash(aor) }

    func onContactExpired(_ callback: @escaping @Sendable (String, String, UsrlocContact) -> Void) {
        expiredCallbacks.append(callback)
    }

    /// The expiry timer: drops contacts past their expiry from every table, then runs the
    /// contact-expired callbacks for each (outside the table's locks).
    func runExpiry() {
        let t = now()
        let callbacks = expiredCallbacks
        for table in allTables {
            for (aor, c) in table.expire(now: t, delay: removalDelay, reportExpired: !callbacks.isEmpty) {
                Log.debug("usrloc", "Binding '\(aor)','\(c.address)' has expired")
                for callback in callbacks { callback(table.name, aor, c) }
            }
        }
    }

    /// An AoR given to an RPC as Kamailio's `rpc_fix_aor` takes it: without `use_domain` the
    /// part after `@` is dropped; with it, a domain is required; lower case.
    func rpcAoR(_ aor: String) -> String? {
        var a = aor
        if let at = a.firstIndex(of: "@") {
            if !useDomain { a = String(a[..<at]) }
        } else if useDomain {
            return nil
        }
        return a.lowercased()
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "usrloc") { UsrlocModule().exports }
}

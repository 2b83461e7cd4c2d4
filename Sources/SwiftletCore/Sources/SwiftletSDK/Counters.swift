import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A registered counter (Kamailio's `counter_handle_t`). Incrementing it costs one
/// thread-local lookup and one add on the calling thread's own row: no lock, no atomic
/// instruction, no shared cache line, so it can be used on every message.
public struct CounterHandle: Hashable, Sendable {
    /// The counter's index in the registry.
    public let id: Int

    public init(id: Int) { self.id = id }

    /// Adds 1.
    @inlinable @inline(__always) public func increment() { CounterShards.row()[id] &+= 1 }

    /// Adds `value` (may be negative).
    @inlinable @inline(__always) public func add(_ value: Int) { CounterShards.row()[id] &+= value }
}

/// How a counter behaves.
public struct CounterFlags: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Resets leave it unchanged (Kamailio's `CNT_F_NO_RESET` / `STAT_NO_RESET`).
    public static let noReset = CounterFlags(rawValue: 1)
}

/// Counters grouped by name ("core", "sl", "tm", "script", ...): Kamailio's counters API
/// (`counter_register`, `counter_inc`, `counter_get_val`, ...) which its statistics API
/// (`register_stat`, `update_stat`, `get_stat`) also uses.
///
/// Values are sharded: each thread that increments gets its own row (Kamailio: one row per
/// process), and a value is the sum of the rows. Register counters while the configuration
/// loads or in `mod_init` (registration takes a lock; reading the name tables afterwards
/// does not). A counter with a `read` closure reports what the closure returns (Kamailio's
/// `STAT_IS_FUNC`), e.g. a memory figure.
public final class Counters: @unchecked Sendable {
    /// The process-wide registry.
    public static let shared = Counters()

    /// The most counters the process can have (Kamailio allows 32767; the rows are this wide).
    public static let capacity = CounterShards.rowLength

    struct Record {
        let group: String
        let name: String
        let description: String
        let flags: CounterFlags
        let read: (@Sendable () -> Int)?
    }

    private let lock = Mutex(())
    private var records: [Record] = []
    private var byName: [String: [Int]] = [:]
    private var byGroup: [String: [Int]] = [:]
    /// Subtracted from the sum of the rows: a reset records the sum here instead of writing
    /// to rows that other threads own.
    private let base = UnsafeMutablePointer<Int>.allocate(capacity: CounterShards.rowLength)

    /// One registry per process: the rows are process-wide.
    private init() {
        base.initialize(repeating: 0, count: CounterShards.rowLength)
        CoreCounters.register(in: self)
    }

    /// Registers `group.name`. Fails when it exists already (unless `existingIsFine`, then
    /// the existing handle is returned) or the registry is full.
    @discardableResult
    public func register(
        group: String, name: String, description: String = "", flags: CounterFlags = [],
        existingIsFine: Bool = false, read: (@Sendable () -> Int)? = nil
    ) throws(FixupError) -> CounterHandle {
        guard !group.isEmpty, !name.isEmpty else { throw FixupError("a counter needs a group and a name") }
        return try lock.withLock { _ throws(FixupError) -> CounterHandle in
            if let id = byName[name]?.first(where: { records[$0].group == group }) {
                guard existingIsFine else { throw FixupError("counter \(group).\(name) already registered") }
                return CounterHandle(id: id)
            }
            guard records.count < CounterShards.rowLength else {
                throw FixupError("too many counters (at most \(CounterShards.rowLength))")
            }
            let id = records.count
            records.append(Record(group: group, name: name, description: description, flags: flags, read: read))
            byName[name, default: []].append(id)
            byGroup[group, default: []].append(id)
            base[id] = CounterShards.sum(id)
            return CounterHandle(id: id)
        }
    }

    /// The counter `group.name`; with an empty or nil group, the first counter registered
    /// with that name in any group (as Kamailio's `counter_lookup` and `get_stat`).
    public func lookup(group: String?, name: String) -> CounterHandle? {
        lock.withLock { _ in
            guard let ids = byName[name] else { return nil }
            guard let group, !group.isEmpty else { return ids.first.map(CounterHandle.init) }
            return ids.first { records[$0].group == group }.map(CounterHandle.init)
        }
    }

    /// The value: the `read` closure's result, or the sum of the rows since the last reset.
    public func value(_ h: CounterHandle) -> Int {
        if let read = record(h).read { return read() }
        return rawValue(h)
    }

    /// The sum of the rows since the last reset, ignoring a `read` closure (`cnt.get_raw`).
    public func rawValue(_ h: CounterHandle) -> Int { CounterShards.sum(h.id) &- base[h.id] }

    /// Sets the counter back to 0, unless it has `noReset`.
    public func reset(_ h: CounterHandle) {
        guard !record(h).flags.contains(.noReset) else { return }
        base[h.id] = CounterShards.sum(h.id)
    }

    public func group(_ h: CounterHandle) -> String { record(h).group }
    public func name(_ h: CounterHandle) -> String { record(h).name }
    public func description(_ h: CounterHandle) -> String { record(h).description }

    /// The group names, sorted (bytewise, as Kamailio's `counter_iterate_grp_names`).
    public var groups: [String] { lock.withLock { _ in byGroup.keys.sorted(by: Counters.bytewise) } }

    /// The counters of `group` sorted by name; empty for an unknown group.
    public func counters(inGroup group: String) -> [CounterHandle] {
        lock.withLock { _ in
            (byGroup[group] ?? []).sorted { Counters.bytewise(records[$0].name, records[$1].name) }
                .map(CounterHandle.init)
        }
    }

    /// Forgets every counter but the core ones and zeroes all values (a configuration
    /// loaded again in the same process, in tests).
    public func removeAll() {
        lock.withLock { _ in
            records.removeAll()
            byName.removeAll()
            byGroup.removeAll()
        }
        CounterShards.zeroAll()
        base.update(repeating: 0, count: CounterShards.rowLength)
        CoreCounters.register(in: self)
    }

    private func record(_ h: CounterHandle) -> Record { lock.withLock { _ in records[h.id] } }

    static func bytewise(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}

/// The per-thread rows of counter values. A thread gets a row on its first increment; when
/// it ends, its row goes back to a pool for the next new thread, so the counts it made stay
/// in the sums.
@usableFromInline enum CounterShards {
    @usableFromInline static let rowLength = 4096

    private static let state = Mutex(State())
    private struct State: @unchecked Sendable {
        var rows: [UnsafeMutablePointer<Int>] = []
        var free: [UnsafeMutablePointer<Int>] = []
    }

    @usableFromInline static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { row in
            guard let row else { return }
            CounterShards.release(row.assumingMemoryBound(to: Int.self))
        }
        return key
    }()

    /// The calling thread's row.
    @inlinable @inline(__always) static func row() -> UnsafeMutablePointer<Int> {
        if let p = pthread_getspecific(key) { return p.assumingMemoryBound(to: Int.self) }
        return attach()
    }

    @usableFromInline @inline(never) static func attach() -> UnsafeMutablePointer<Int> {
        let row = state.withLock { s in
            if let r = s.free.popLast() { return r }
            let r = UnsafeMutablePointer<Int>.allocate(capacity: rowLength)
            r.initialize(repeating: 0, count: rowLength)
            s.rows.append(r)
            return r
        }
        pthread_setspecific(key, row)
        return row
    }

    private static func release(_ row: UnsafeMutablePointer<Int>) {
        state.withLock { $0.free.append(row) }
    }

    /// The sum of counter `id` over every row (rows are read without a lock: each word is
    /// written by its owner thread only, as Kamailio reads its per-process rows).
    static func sum(_ id: Int) -> Int {
        let rows = state.withLock { $0.rows }
        var total = 0
        for r in rows { total &+= r[id] }
        return total
    }

    static func zeroAll() {
        state.withLock { s in
            for r in s.rows { r.update(repeating: 0, count: rowLength) }
        }
    }
}

import Synchronization

/// Why an operation on shared state failed. Both cases are a failure of that one operation,
/// never of the server: tm answers them with a 500/503 reply, an RPC with an error.
public enum SharedStateError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The bounded shared memory pool (`SharedMemory`) had no free block of `requested`
    /// bytes.
    case outOfMemory(requested: Int)
    /// The table holds its `maxEntries` (`limit`) entries already.
    case tableFull(limit: Int)

    /// A line for the log or an error reply that names the cause.
    public var description: String {
        switch self {
        case .outOfMemory(let requested):
            "shared memory is full: cannot allocate \(requested) bytes (raise -m or shm_mem_size)"
        case .tableFull(let limit):
            "table is full: it holds its limit of \(limit) entries"
        }
    }
}

/// A `ShardedTable` whose values are bytes kept in the bounded shared memory pool; fill it
/// with `insertBytes`.
public typealias ShardedByteTable<Key: Hashable & Sendable> = ShardedTable<Key, SharedBytes>

/// A hash table for state that all workers share (transactions, dialogs, htable items,
/// registrations), as Kamailio keeps them in shm hash tables with a lock per slot.
///
/// The table is split into a power-of-two number of shards; the key's hash picks the shard,
/// and each shard is a dictionary behind its own lock, so threads working on different keys
/// rarely wait for each other. Every operation locks one shard at a time, never two.
///
/// Entries may carry an expiry in abstract ticks (`UInt64`: milliseconds or timer ticks of a
/// clock the caller owns; the table never reads a clock). Lookups do not look at it:
/// `expire(now:)`, called from a timer, removes and returns what is due. Each shard keeps a
/// min-heap of expiries, so expiring costs O((expired + stale) · log n) per shard, where
/// stale items are left behind by entries that were removed, replaced or touched since.
///
/// ```swift
/// let dialogs = ShardedTable<String, Dialog>(shards: 64, maxEntries: 100_000)
/// let lifetime = UInt64(Timers.ticksPerSecond * 43_200)           // 12 h in timer ticks
/// switch dialogs.insert(dialog, for: callID, expiresAt: Timers.ticks + lifetime) {
/// case .success: break
/// case .failure(let error): Log.error("dialog", "\(error)"); return -1   // .tableFull
/// }
/// dialogs.withValue(for: callID) { $0.state = .confirmed }
/// Timers.every(seconds: 1, name: "dialog-expiry") {
///     for (id, dialog) in dialogs.expire(now: Timers.ticks) { dialog.timeout(id) }
/// }
/// ```
///
/// Thread safety: `@unchecked Sendable` because all mutable state lives in the shards, each
/// read and changed only with its own lock held, plus an atomic entry counter; the rest is
/// immutable after `init`. The lock is not recursive: a closure run under it (`withValue`,
/// `forEach`, `removeValue(for:where:)`) must not use the same table. Values are never
/// released under a lock (replaced and removed values are handed back or dropped after it).
/// The table makes its own operations safe, not the values: a value read by one thread while
/// another holds it too must be immutable, `Sendable`, or changed only inside `withValue`.
public final class ShardedTable<Key: Hashable & Sendable, Value>: @unchecked Sendable {
    /// Number of shards (a power of two).
    public let shardCount: Int
    /// The most entries the table holds (nil: no limit); an insert of a new key beyond it
    /// fails with `SharedStateError.tableFull`.
    public let maxEntries: Int?

    let shards: [Shard]
    private let shift: UInt64
    private let total = Atomic<Int>(0)

    /// A table of `shards` shards (rounded up to a power of two, from 1 to 65536) holding at
    /// most `maxEntries` entries (nil: no limit; negative counts as 0).
    public init(shards: Int = 64, maxEntries: Int? = nil) {
        var n = 1
        while n < min(max(shards, 1), 65536) { n <<= 1 }
        shardCount = n
        shift = UInt64(64 - n.trailingZeroBitCount)
        self.shards = (0..<n).map { _ in Shard() }
        self.maxEntries = maxEntries.map { max($0, 0) }
    }

    /// The shard that holds `key`: the high bits of its hash times a Fibonacci constant.
    public func shardIndex(for key: Key) -> Int {
        let h = UInt64(UInt(bitPattern: key.hashValue)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: h >> shift)  // a shift by 64 (one shard) gives 0
    }

    @inline(__always) private func shard(for key: Key) -> Shard { shards[shardIndex(for: key)] }

    /// Number of entries, O(1): a counter that each insert and removal updates under its
    /// shard lock. While other threads change the table it is a value the table had during
    /// the call, possibly stale by the time it is used.
    public var count: Int { total.load(ordering: .relaxed) }

    /// True when `count` is 0.
    public var isEmpty: Bool { count == 0 }

    /// Takes one place for a new entry (under the new entry's shard lock); false when the
    /// table holds `maxEntries` already.
    private func reserve() -> Bool {
        guard let limit = maxEntries else {
            total.wrappingAdd(1, ordering: .relaxed)
            return true
        }
        var current = total.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = total.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    private func released(_ n: Int) {
        if n > 0 { total.wrappingSubtract(n, ordering: .relaxed) }
    }

    // MARK: single entries

    /// Stores `value` for `key` with an expiry (nil: never expires), replacing any value the
    /// key had and its expiry. Returns `.success(true)` when it replaced one, `.success(false)`
    /// for a new entry, `.failure(.tableFull)` when the key is new and the table holds
    /// `maxEntries` entries (the table is then unchanged). A table without `maxEntries` never
    /// fails, so its callers may ignore the result.
    @discardableResult
    public func insert(_ value: Value, for key: Key, expiresAt: UInt64? = nil) -> Result<Bool, SharedStateError> {
        let slot = Slot(value: value, expiresAt: expiresAt)
        let (old, full): (Slot?, Bool) = shard(for: key).withLock { s in
            if let i = s.entries.index(forKey: key) {
                let old = s.entries.values[i]
                s.entries.values[i] = slot
                s.expiryChanged(for: key, from: old.expiresAt, to: expiresAt)
                return (old, false)
            }
            guard reserve() else { return (nil, true) }
            s.entries[key] = slot
            s.expiryChanged(for: key, from: nil, to: expiresAt)
            return (nil, false)
        }
        if full { return .failure(.tableFull(limit: maxEntries ?? 0)) }
        return .success(old != nil)  // `old` is released here, after the lock
    }

    /// The value stored for `key`, or nil (expired entries stay until `expire` removes them).
    public func value(for key: Key) -> Value? {
        shard(for: key).withLock { $0.entries[key]?.value }
    }

    /// The value stored for `key` and its expiry, or nil.
    public func entry(for key: Key) -> (value: Value, expiresAt: UInt64?)? {
        shard(for: key).withLock { s in s.entries[key].map { ($0.value, $0.expiresAt) } }
    }

    /// True when the table holds `key`.
    public func contains(_ key: Key) -> Bool {
        shard(for: key).withLock { $0.entries.index(forKey: key) != nil }
    }

    /// Calls `body` with the value of `key`, which it may change in place, under the shard's
    /// lock (other operations on that shard wait; `body` must not use this table). Returns
    /// what `body` returned, or nil without calling it when the key is absent.
    @discardableResult
    public func withValue<R, E: Error>(for key: Key, _ body: (inout Value) throws(E) -> R) throws(E) -> R? {
        try shard(for: key).withLock { (s: Shard) throws(E) -> R? in
            guard let i = s.entries.index(forKey: key) else { return nil }
            return try body(&s.entries.values[i].value)
        }
    }

    /// Removes `key`; returns its value, or nil when it was absent.
    @discardableResult
    public func removeValue(for key: Key) -> Value? {
        shard(for: key).withLock { s in
            guard let i = s.entries.index(forKey: key) else { return nil }
            released(1)
            return s.remove(at: i).value.value
        }
    }

    /// Removes `key` only when `predicate` (run under the shard lock, must not use this
    /// table) accepts its value, so that a check and the removal happen at once; returns the
    /// removed value.
    @discardableResult
    public func removeValue(for key: Key, where predicate: (Value) -> Bool) -> Value? {
        shard(for: key).withLock { s in
            guard let i = s.entries.index(forKey: key), predicate(s.entries.values[i].value) else { return nil }
            released(1)
            return s.remove(at: i).value.value
        }
    }

    // MARK: expiry

    /// Gives `key` a new expiry (nil: never expires). Returns false when the key is absent.
    @discardableResult
    public func touch(_ key: Key, expiresAt: UInt64?) -> Bool {
        shard(for: key).withLock { s in
            guard let i = s.entries.index(forKey: key) else { return false }
            let old = s.entries.values[i].expiresAt
            s.entries.values[i].expiresAt = expiresAt
            s.expiryChanged(for: key, from: old, to: expiresAt)
            return true
        }
    }

    /// Removes every entry whose expiry is `<= now` and returns them, shard by shard (in
    /// expiry order within a shard). Holds one shard lock at a time, so other threads keep
    /// working meanwhile; an entry inserted or touched during the walk may or may not be
    /// taken. Cost per shard: O((expired + stale items) · log n), see `ShardedTable`.
    public func expire(now: UInt64) -> [(key: Key, value: Value)] {
        var all: [(key: Key, value: Value)] = []
        expire(now: now) { all.append(($0, $1)) }
        return all
    }

    /// Like `expire(now:)`, but hands each expired entry to `body` instead of collecting
    /// them: called after each shard is unlocked, so `body` may use the table. Returns the
    /// number of entries expired.
    @discardableResult
    public func expire(now: UInt64, _ body: (Key, Value) -> Void) -> Int {
        var n = 0
        for shard in shards {
            let expired = shard.withLock { s in
                let expired = s.expire(now: now)
                released(expired.count)
                return expired
            }
            n += expired.count
            for (key, value) in expired { body(key, value) }
        }
        return n
    }

    /// A time before which no entry expires (nil: no entry has an expiry), to schedule the
    /// next `expire` call. It is a lower bound: an entry removed or touched since may have
    /// set it, so no entry need expire then.
    public func earliestExpiry() -> UInt64? {
        shards.compactMap { shard in shard.withLock { $0.earliestItem } }.min()
    }

    // MARK: the whole table

    /// Calls `body` with every entry (key, value, expiry), shard by shard, each shard's lock
    /// held while its entries are visited (`body` must not use this table). Not a snapshot of
    /// one moment: shards visited earlier may change while later ones are walked.
    public func forEach<E: Error>(_ body: (Key, Value, UInt64?) throws(E) -> Void) throws(E) {
        for shard in shards {
            try shard.withLock { (s: Shard) throws(E) in
                for (key, slot) in s.entries { try body(key, slot.value, slot.expiresAt) }
            }
        }
    }

    /// A copy of the entries of shard `shard` (0 ..< `shardCount`; empty for another index),
    /// taken under its lock: an RPC dump can walk the table one shard per call.
    public func snapshot(shard: Int) -> [(key: Key, value: Value, expiresAt: UInt64?)] {
        guard shards.indices.contains(shard) else { return [] }
        return shards[shard].withLock { s in s.entries.map { ($0.key, $0.value.value, $0.value.expiresAt) } }
    }

    /// A copy of every entry, taken shard by shard (each consistent in itself, the whole not
    /// one moment's state when other threads change the table).
    public func snapshot() -> [(key: Key, value: Value, expiresAt: UInt64?)] {
        (0..<shardCount).flatMap { snapshot(shard: $0) }
    }

    /// Removes every entry, shard by shard; the values are released after each shard's lock.
    public func removeAll() {
        for shard in shards {
            let removed = shard.withLock { s in
                let all = s.takeAll()
                released(all.count)
                return all
            }
            _ = removed  // released at the end of this iteration, after the lock
        }
    }
}

extension ShardedTable where Value == SharedBytes {
    /// Stores a copy of `bytes` in shared memory (`memory`, the core's pool by default) for
    /// `key`, as `insert` does. Fails with `.outOfMemory(requested:)` when the pool has no
    /// block that large, or `.tableFull` (the copy is then freed at once); the table is
    /// unchanged after a failure. The copy is made before the shard is locked.
    public func insertBytes(
        _ bytes: some Collection<UInt8>, for key: Key, expiresAt: UInt64? = nil, in memory: SharedMemory = .shared
    ) -> Result<Bool, SharedStateError> {
        guard let value = SharedBytes(bytes, in: memory) else { return .failure(.outOfMemory(requested: bytes.count)) }
        return insert(value, for: key, expiresAt: expiresAt)
    }

    /// Stores the UTF-8 bytes of `string` in shared memory for `key`; see `insertBytes(_:for:expiresAt:in:)`.
    public func insertBytes(
        _ string: String, for key: Key, expiresAt: UInt64? = nil, in memory: SharedMemory = .shared
    ) -> Result<Bool, SharedStateError> {
        insertBytes(string.utf8, for: key, expiresAt: expiresAt, in: memory)
    }
}

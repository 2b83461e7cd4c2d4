#if canImport(Glibc)
    import Glibc
#endif

extension ShardedTable {
    /// One entry: the value and its expiry (nil: never expires).
    struct Slot {
        var value: Value
        var expiresAt: UInt64?
    }

    /// An item of a shard's expiry heap: "`key` expires at `at`".
    struct ExpiryItem {
        var at: UInt64
        var key: Key
    }

    /// One shard of a `ShardedTable`: a dictionary, its expiry heap and the lock that guards
    /// both. Every member but `withLock` must be used with the lock held.
    ///
    /// The expiry heap is a binary min-heap ordered by `at`, kept with lazy deletion: setting
    /// an entry's expiry pushes an item and nothing is searched or removed, so an item whose
    /// entry was removed, replaced or touched since stays behind (stale) until it reaches the
    /// top. The invariant is: every entry with expiry `e` has at least one item `(e, key)` in
    /// the heap. `expire(now:)` pops items while the top is `<= now` and removes an entry only
    /// when its current expiry is the item's `at`, so it removes exactly the entries that are
    /// due. Stale items are bounded: when a push leaves more than twice as many items as
    /// entries with an expiry (plus 64), the heap is rebuilt from the dictionary in O(n),
    /// which keeps the amortised cost of a push O(log n).
    final class Shard {
        /// The lock, alone on its own 128 bytes (aligned to 64) so that the locks of two
        /// shards never share a cache line.
        private let mutex: UnsafeMutablePointer<pthread_mutex_t>
        var entries: [Key: Slot] = [:]
        private(set) var heap: [ExpiryItem] = []
        /// Number of entries with an expiry.
        private(set) var timed = 0

        init() {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 64)
            mutex = raw.bindMemory(to: pthread_mutex_t.self, capacity: 1)
            mutex.initialize(to: pthread_mutex_t())
            pthread_mutex_init(mutex, nil)
        }

        deinit {
            pthread_mutex_destroy(mutex)
            mutex.deinitialize(count: 1)
            UnsafeMutableRawPointer(mutex).deallocate()
        }

        /// Runs `body` with the lock held. The lock is not recursive: `body` must not use the
        /// table this shard belongs to.
        @inline(__always)
        func withLock<R, E: Error>(_ body: (Shard) throws(E) -> R) throws(E) -> R {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return try body(self)
        }

        /// Records that an entry's expiry changed from `old` to `new` (nil: none; `old` is nil
        /// for a new entry). Call it after `entries` holds the new expiry.
        func expiryChanged(for key: Key, from old: UInt64?, to new: UInt64?) {
            if old != nil { timed -= 1 }
            guard let new else { return }
            timed += 1
            // An item (new, key) is in the heap already when the expiry did not change.
            if old != new { push(ExpiryItem(at: new, key: key)) }
        }

        /// Removes the entry at `index`, keeping the expiry count; returns it.
        func remove(at index: Dictionary<Key, Slot>.Index) -> (key: Key, value: Slot) {
            let removed = entries.remove(at: index)
            if removed.value.expiresAt != nil { timed -= 1 }
            return removed
        }

        /// Removes and returns every entry whose expiry is `<= now`, in expiry order.
        func expire(now: UInt64) -> [(key: Key, value: Value)] {
            var expired: [(key: Key, value: Value)] = []
            while let top = heap.first, top.at <= now {
                popTop()
                if let i = entries.index(forKey: top.key), entries.values[i].expiresAt == top.at {
                    let (key, slot) = remove(at: i)
                    expired.append((key, slot.value))
                }
            }
            if timed == 0, !heap.isEmpty { heap.removeAll() }  // only stale items are left
            return expired
        }

        /// Empties the shard and returns what it held, so that the caller can release the
        /// values after unlocking.
        func takeAll() -> [Key: Slot] {
            let all = entries
            entries = [:]
            heap = []
            timed = 0
            return all
        }

        /// The earliest expiry an item of the heap names: no entry of this shard expires
        /// before it (it may be stale, so no entry need expire at it either).
        var earliestItem: UInt64? { heap.first?.at }

        // MARK: the heap

        private func push(_ item: ExpiryItem) {
            if heap.count >= 2 * timed + 64 {
                rebuild()
                return  // the rebuilt heap holds the new expiry already (it is in `entries`)
            }
            heap.append(item)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                if heap[parent].at <= heap[child].at { break }
                heap.swapAt(parent, child)
                child = parent
            }
        }

        private func popTop() {
            let last = heap.removeLast()
            guard !heap.isEmpty else { return }
            heap[0] = last
            siftDown(0)
        }

        private func siftDown(_ start: Int) {
            var parent = start
            let n = heap.count
            while true {
                let left = 2 * parent + 1
                if left >= n { return }
                var smallest = left
                if left + 1 < n, heap[left + 1].at < heap[left].at { smallest = left + 1 }
                if heap[parent].at <= heap[smallest].at { return }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }

        /// Replaces the heap by one item per entry with an expiry (drops every stale item).
        private func rebuild() {
            heap.removeAll(keepingCapacity: true)
            for (key, slot) in entries {
                if let at = slot.expiresAt { heap.append(ExpiryItem(at: at, key: key)) }
            }
            var i = heap.count / 2
            while i > 0 {
                i -= 1
                siftDown(i)
            }
        }
    }
}

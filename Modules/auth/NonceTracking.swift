import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Kamailio's nonce-id pools (`nid.c`): each pool a 32-bit counter, started at a random
/// value and advanced by `NID_INC` (257) for every nonce with an id; a worker uses the
/// pool of its thread. Shared by every worker, lock-free.
final class NonceIDPools: @unchecked Sendable {
    static let increment: UInt32 = 257
    let count: Int
    let bits: Int
    private let ids: UnsafeMutablePointer<Atomic<UInt32>>

    /// `nid_pool_no` rounded down to a power of two, 1 to 64.
    init(pools: Int) {
        var n = max(1, min(pools, 64))
        var k = 0
        while 1 << (k + 1) <= n { k += 1 }
        n = 1 << k
        count = n
        bits = k
        ids = .allocate(capacity: n)
        for i in 0..<n { (ids + i).initialize(to: Atomic(UInt32.random(in: 0...UInt32.max))) }
    }

    deinit {
        _ = ids.deinitialize(count: count)
        ids.deallocate()
    }

    /// `nid_get`: the current id of `pool`.
    func current(_ pool: Int) -> UInt32 { ids[pool].load(ordering: .relaxed) }

    /// `nid_inc`: advances `pool` and returns the new id.
    func next(_ pool: Int) -> UInt32 {
        ids[pool].wrappingAdd(Self.increment, ordering: .relaxed).newValue
    }

    /// `nid_get_pool`: Kamailio uses the process number; here the calling thread picks one.
    func poolForCurrentThread() -> Int {
        guard count > 1 else { return 0 }
        return Int(truncatingIfNeeded: UInt(bitPattern: Int(bitPattern: UInt(pthread_self())))) >> 6 & (count - 1)
    }
}

/// The nonce-count array of Kamailio's `nc.c`: one byte per nonce id (the highest `nc`
/// seen), partitioned by pool. A new nonce's cell is set to 0; a received `nc` must be
/// above the stored one (then stored), else it is a replay. Cells start at 255, so ids from
/// before a start are never accepted.
final class NonceCountArray: @unchecked Sendable {
    enum Check { case ok, idOverflow, tooBig, replay, invalidPool }

    let size: Int
    let partitionBits: Int
    let partitionMask: UInt32
    let pools: NonceIDPools
    private let words: UnsafeMutablePointer<Atomic<UInt32>>
    private let wordCount: Int

    /// `size` is rounded down to a power of two (`nc_array_size`, or 2^`order`).
    init(size requested: Int, pools: NonceIDPools) throws(NonceTrackingError) {
        var k = 0
        while 1 << (k + 1) <= max(requested, 1) { k += 1 }
        size = 1 << k
        guard pools.count < size else {
            throw NonceTrackingError("nid_pool_no (\(pools.count)) too high for the configured nc_array_size (\(size))")
        }
        partitionBits = k - pools.bits
        guard UInt32(size >> pools.bits) < UInt32.max / NonceIDPools.increment else {
            throw NonceTrackingError("nc_array_size too big, try decreasing it or increasing the number of pools")
        }
        partitionMask = UInt32((1 << partitionBits) - 1)
        self.pools = pools
        wordCount = (size + 3) / 4
        words = .allocate(capacity: wordCount)
        for i in 0..<wordCount { (words + i).initialize(to: Atomic(UInt32.max)) }
    }

    deinit {
        _ = words.deinitialize(count: wordCount)
        words.deallocate()
    }

    private func cell(_ id: UInt32, _ pool: Int) -> (word: Int, shift: UInt32) {
        let n = Int(id & partitionMask) + (pool << partitionBits)
        return (n / 4, UInt32(n % 4) * 8)
    }

    /// `nc_new`: a nonce with this id was just issued.
    func issued(_ id: UInt32, pool: Int) {
        let (w, shift) = cell(id, pool)
        var v = words[w].load(ordering: .relaxed)
        while true {
            let new = v & ~(UInt32(0xff) << shift)
            let (done, seen) = words[w].compareExchange(
                expected: v, desired: new, ordering: .relaxed)
            if done { return }
            v = seen
        }
    }

    /// `nc_check_val`.
    func check(_ id: UInt32, pool: Int, nc: UInt32) -> Check {
        guard pool < pools.count else { return .invalidPool }
        if pools.current(pool) &- id >= NonceIDPools.increment &* UInt32(size >> pools.bits) { return .idOverflow }
        guard nc < 256 else { return .tooBig }
        let (w, shift) = cell(id, pool)
        var v = words[w].load(ordering: .relaxed)
        while true {
            if (v >> shift) & 0xff >= nc { return .replay }
            let new = (v & ~(UInt32(0xff) << shift)) | (nc << shift)
            let (done, seen) = words[w].compareExchange(expected: v, desired: new, ordering: .relaxed)
            if done { return .ok }
            v = seen
        }
    }
}

/// The one-time nonce bits of Kamailio's `ot_nonce.c`: one bit per nonce id, cleared when
/// the nonce is issued and set when it is used; a set bit is a replay. Bits start set.
final class OneTimeNonceBits: @unchecked Sendable {
    enum Check { case ok, idOverflow, replay, invalidPool }

    let size: Int
    let partitionBits: Int
    let partitionMask: UInt32
    let pools: NonceIDPools
    private let cells: UnsafeMutablePointer<Atomic<UInt64>>
    private let cellCount: Int

    /// `size` (`otn_in_flight_no`, or 2^`order`) is rounded down to a power of two.
    init(size requested: Int, pools: NonceIDPools) throws(NonceTrackingError) {
        var k = 0
        while 1 << (k + 1) <= max(requested, 1) { k += 1 }
        size = 1 << k
        guard pools.count < size / 64 else {
            throw NonceTrackingError(
                "nid_pool_no (\(pools.count)) too high for the configured otn_in_flight_no (\(size))")
        }
        partitionBits = k - pools.bits
        guard UInt32(size >> pools.bits) < UInt32.max / NonceIDPools.increment else {
            throw NonceTrackingError("otn_in_flight_no too big, try decreasing it or increasing the number of pools")
        }
        partitionMask = UInt32((1 << partitionBits) - 1)
        self.pools = pools
        cellCount = (size + 63) / 64
        cells = .allocate(capacity: cellCount)
        for i in 0..<cellCount { (cells + i).initialize(to: Atomic(UInt64.max)) }
    }

    deinit {
        _ = cells.deinitialize(count: cellCount)
        cells.deallocate()
    }

    private func bit(_ id: UInt32, _ pool: Int) -> (cell: Int, mask: UInt64) {
        let n = Int(id & partitionMask) + (pool << partitionBits)
        return (n / 64, UInt64(1) << UInt64(n % 64))
    }

    /// `otn_new`.
    func issued(_ id: UInt32, pool: Int) {
        let (c, mask) = bit(id, pool)
        cells[c].bitwiseAnd(~mask, ordering: .relaxed)
    }

    /// `otn_check_id`: marks the id used.
    func check(_ id: UInt32, pool: Int) -> Check {
        guard pool < pools.count else { return .invalidPool }
        if pools.current(pool) &- id >= NonceIDPools.increment &* UInt32(size >> pools.bits) { return .idOverflow }
        let (c, mask) = bit(id, pool)
        if cells[c].bitwiseOr(mask, ordering: .relaxed).oldValue & mask != 0 { return .replay }
        return .ok
    }
}

/// A start-up error of the nonce tracking parameters.
struct NonceTrackingError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

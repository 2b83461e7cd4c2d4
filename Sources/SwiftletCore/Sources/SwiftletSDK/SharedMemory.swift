import SwiftletAllocator
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The figures of a shared memory pool, as Kamailio's `core.shmmem` reports them.
public struct SharedMemoryStatistics: Equatable, Sendable {
    /// Size of the pool in bytes.
    public var total: Int
    /// `total - realUsed`.
    public var free: Int
    /// Bytes handed out (payloads of the blocks in use, rounded up to 16).
    public var used: Int
    /// `used` plus the allocator's own overhead (block headers, end marker).
    public var realUsed: Int
    /// The highest `realUsed` seen.
    public var maxUsed: Int
    /// Number of free blocks (Kamailio's `fragments`).
    public var fragments: Int
}

/// The core's bounded shared-memory allocator (Kamailio's `shm_malloc`/`shm_free`): one
/// mapped region of a fixed size (`-m MB`, `shm_mem_size`, default 64 MB), O(1) allocation
/// and release (TLSF, see `TLSFHeap`), safe to use from any thread. Modules keep the bulk
/// bytes of shared state in it (values, message clones), so that a server that runs out
/// fails one operation with a log line instead of being killed by the system.
///
/// Most code uses `SharedBytes` (an owned buffer freed with its last reference); `allocate`
/// and `free` are the raw interface.
public final class SharedMemory: @unchecked Sendable {
    /// Kamailio's default pool size: 64 MB.
    public static let defaultSize = 64 * 1024 * 1024

    private let region: UnsafeMutableRawPointer
    private let heap: Mutex<TLSFHeap>
    /// Whether a failed allocation logs an error line.
    private let logsFailures: Bool

    /// Maps a pool of `size` bytes (rounded down to 16); nil when the mapping fails or the
    /// size is too small (below 64 bytes). Pages are touched only when used.
    public init?(size: Int, logsFailures: Bool = true) {
        guard size >= 64 else { return nil }
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { return nil }
        region = p
        heap = Mutex(TLSFHeap(base: p, size: size))
        self.logsFailures = logsFailures
    }

    deinit {
        let total = heap.withLock { h in
            h.deallocate()
            return h.total
        }
        munmap(region, total)
    }

    /// Allocates `count` bytes, 16-byte aligned, uninitialised. Returns nil when the pool has
    /// no free block that large, after logging the cause (`shared memory is full: ...`).
    public func allocate(_ count: Int) -> UnsafeMutableRawBufferPointer? {
        let offset = heap.withLock { $0.allocate(count) }
        guard let offset else {
            if logsFailures {
                let s = statistics
                Log.error(
                    "core",
                    "shared memory is full: cannot allocate \(count) bytes (free \(s.free) of \(s.total) bytes in "
                        + "\(s.fragments) fragments, largest free block \(largestFree) bytes; raise -m or shm_mem_size)"
                )
            }
            return nil
        }
        return UnsafeMutableRawBufferPointer(start: region + offset, count: count)
    }

    /// Releases memory returned by `allocate`. A pointer that is not an allocated block of
    /// this pool (a double free, a foreign pointer) is refused with a critical log line and
    /// changes nothing.
    public func free(_ pointer: UnsafeMutableRawPointer) {
        let offset = pointer - region
        let done = heap.withLock { $0.free(offset) }
        if !done {
            Log.log(.crit, "core", "shm free of \(pointer), which is not an allocated shared memory block: ignored")
        }
    }

    /// Releases a buffer returned by `allocate`.
    public func free(_ buffer: UnsafeMutableRawBufferPointer) {
        if let p = buffer.baseAddress { free(p) }
    }

    /// True when `pointer` lies inside this pool.
    public func contains(_ pointer: UnsafeRawPointer) -> Bool {
        let offset = pointer - UnsafeRawPointer(region)
        return offset >= 0 && offset < heap.withLock { $0.total }
    }

    /// The current figures.
    public var statistics: SharedMemoryStatistics {
        heap.withLock { h in
            SharedMemoryStatistics(
                total: h.total, free: h.total - h.realUsed, used: h.used, realUsed: h.realUsed, maxUsed: h.maxUsed,
                fragments: h.fragments)
        }
    }

    /// The payload of the largest free block, in bytes.
    public var largestFree: Int { heap.withLock { $0.largestFree } }

    /// Checks the allocator's invariants (every block and free list); nil when consistent.
    func verify() -> String? { heap.withLock { $0.verify() } }

    // MARK: the process-wide pool

    nonisolated(unsafe) private static var sharedSize = defaultSize
    nonisolated(unsafe) private static var sharedCreated = false

    /// The process-wide pool that modules use. Created on first use with the size set by
    /// `configureShared(size:)` (the runtime calls it before any module loads).
    public static let shared: SharedMemory = {
        sharedCreated = true
        guard let m = SharedMemory(size: sharedSize) else {
            fatalError("cannot map \(sharedSize) bytes of shared memory: \(String(cString: strerror(errno)))")
        }
        return m
    }()

    /// Sets the size of the process-wide pool. Call at start-up, before anything uses
    /// `shared`; returns false (and changes nothing) when the pool exists already with
    /// another size.
    @discardableResult
    public static func configureShared(size: Int) -> Bool {
        if sharedCreated { return shared.statistics.total == size & ~15 }
        sharedSize = size
        return true
    }
}

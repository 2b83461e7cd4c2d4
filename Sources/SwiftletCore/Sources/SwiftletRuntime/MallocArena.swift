#if canImport(Glibc)
    import Glibc
#endif

/// Grows the calling thread's malloc arena up front, as Kamailio allocates its memory pools
/// at start.
///
/// glibc gives each worker thread an arena of its own, whose heap (a 64 MB reservation,
/// glibc's `HEAP_MAX_SIZE` on 64-bit) is made writable one `mprotect()` per new high-water
/// page as it grows: a thread arena grows by exactly what a request needs (`M_TOP_PAD` applies
/// to the main arena only). A fresh server under load grows its workers' arenas by several KB
/// per call alive (transactions wait 5 s after their final reply; at 1000 calls/s a stateful
/// worker's heap passes 40 MB), about one `mprotect()` per call until the heap stops growing.
/// Allocating `bytes` once and freeing it again leaves the arena's writable size at its
/// high-water mark (glibc returns the pages with `madvise`, so the resident size does not
/// grow): later growth up to it needs no system call.
enum MallocArena {
    /// Below glibc's mmap threshold (128 KB), so that the blocks come from the arena.
    static let blockBytes = 64 * 1024

    /// Grows the calling thread's arena to at least `bytes`, then frees the memory again.
    static func reserve(bytes: Int) {
        let count = max(0, bytes / blockBytes)
        var blocks: [UnsafeMutableRawPointer] = []
        blocks.reserveCapacity(count)
        for _ in 0..<count {
            guard let p = malloc(blockBytes) else { break }
            blocks.append(p)
        }
        // In allocation order: the blocks merge into one free chunk, given back in one go.
        for p in blocks { free(p) }
    }
}

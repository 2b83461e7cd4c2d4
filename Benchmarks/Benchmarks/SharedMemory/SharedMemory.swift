import Benchmark
import Foundation
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Sizes of a mixed workload (header copies, small values, message clones).
let mixedSizes: [Int] = (0..<1024).map { i in [24, 64, 100, 200, 512, 1500, 4000][(i &* 2_654_435_761) % 7] }

/// One pool for every benchmark (64 MB, as the server's default).
let pool = SharedMemory(size: 64 << 20)!

/// Allocates and frees `count` blocks of `size` bytes one after the other.
@inline(never) func shmPairs(_ count: Int, size: Int) {
    for _ in 0..<count {
        let b = pool.allocate(size)!
        blackHole(b.baseAddress)
        pool.free(b)
    }
}

@inline(never) func mallocPairs(_ count: Int, size: Int) {
    for _ in 0..<count {
        let p = malloc(size)!
        blackHole(p)
        free(p)
    }
}

/// Keeps a window of 128 live blocks of mixed sizes: each step frees the oldest and allocates.
@inline(never) func shmMixed(_ count: Int) {
    var window = [UnsafeMutableRawPointer?](repeating: nil, count: 128)
    for i in 0..<count {
        let slot = i & 127
        if let p = window[slot] { pool.free(p) }
        window[slot] = pool.allocate(mixedSizes[i & 1023])!.baseAddress
    }
    for case let p? in window { pool.free(p) }
}

@inline(never) func mallocMixed(_ count: Int) {
    var window = [UnsafeMutableRawPointer?](repeating: nil, count: 128)
    for i in 0..<count {
        let slot = i & 127
        if let p = window[slot] { free(p) }
        window[slot] = malloc(mixedSizes[i & 1023])
    }
    for case let p? in window { free(p) }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        // Each sample runs 1000 allocate/free pairs; figures are per pair.
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 5_000
    )
    Benchmark("shm allocate+free 64 B") { b in shmPairs(b.scaledIterations.count, size: 64) }
    Benchmark("malloc+free 64 B") { b in mallocPairs(b.scaledIterations.count, size: 64) }
    Benchmark("shm mixed sizes, 128 live") { b in shmMixed(b.scaledIterations.count) }
    Benchmark("malloc mixed sizes, 128 live") { b in mallocMixed(b.scaledIterations.count) }
    // Two threads at once (this VM has 2 cores): wall clock per pair of one thread; shows
    // what the pool's single lock costs under contention compared with malloc's arenas.
    Benchmark("shm mixed, 2 threads") { b in
        let n = b.scaledIterations.count
        DispatchQueue.concurrentPerform(iterations: 2) { _ in shmMixed(n) }
    }
    Benchmark("malloc mixed, 2 threads") { b in
        let n = b.scaledIterations.count
        DispatchQueue.concurrentPerform(iterations: 2) { _ in mallocMixed(n) }
    }
}

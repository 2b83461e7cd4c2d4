import Foundation
import Testing

@testable import SwiftletAllocator
@testable import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The TLSF shared-memory allocator: exact figures, alignment, coalescing, fragmentation,
/// exhaustion, refused frees, a random sequence checked against a model, several threads.
struct SharedMemoryTests {
    static let mb = 1 << 20

    func pool(_ size: Int = mb) throws -> SharedMemory {
        try #require(SharedMemory(size: size, logsFailures: false))
    }

    @Test func figuresAreExact() throws {
        let m = try pool()
        #expect(
            m.statistics
                == SharedMemoryStatistics(
                    total: Self.mb, free: Self.mb - 16, used: 0, realUsed: 16, maxUsed: 16, fragments: 1))
        // 100 bytes: payload rounded to 112, plus a 16-byte header.
        let a = try #require(m.allocate(100))
        #expect(a.count == 100)
        var s = m.statistics
        #expect((s.used, s.realUsed, s.free, s.fragments) == (112, 16 + 128, Self.mb - 144, 1))
        // 0 bytes still take a minimum block (32 bytes: header + room for the free-list links).
        let b = try #require(m.allocate(0))
        s = m.statistics
        #expect((s.used, s.realUsed, s.maxUsed) == (112 + 16, 16 + 128 + 32, 16 + 128 + 32))
        m.free(a)
        s = m.statistics
        #expect((s.used, s.realUsed, s.maxUsed, s.fragments) == (16, 16 + 32, 176, 2))
        m.free(b)
        #expect(
            m.statistics
                == SharedMemoryStatistics(
                    total: Self.mb, free: Self.mb - 16, used: 0, realUsed: 16, maxUsed: 176, fragments: 1))
        #expect(m.verify() == nil)
    }

    @Test func blocksAreAlignedAndDoNotOverlap() throws {
        let m = try pool()
        var blocks: [UnsafeMutableRawBufferPointer] = []
        for (i, n) in [1, 15, 16, 17, 31, 100, 511, 512, 513, 4000, 70_000].enumerated() {
            let b = try #require(m.allocate(n))
            #expect(Int(bitPattern: b.baseAddress) % 16 == 0)
            b.initializeMemory(as: UInt8.self, repeating: UInt8(i))
            blocks.append(b)
        }
        for (i, b) in blocks.enumerated() { #expect(b.allSatisfy { $0 == UInt8(i) }) }
        #expect(m.verify() == nil)
        for b in blocks { m.free(b) }
        #expect(m.statistics.used == 0)
        #expect(m.statistics.fragments == 1)
    }

    @Test func freeBlocksMergeWithBothNeighbours() throws {
        let m = try pool()
        let a = try #require(m.allocate(1000))
        let b = try #require(m.allocate(1000))
        let c = try #require(m.allocate(1000))
        let d = try #require(m.allocate(1000))  // keeps c away from the free tail
        m.free(a)
        m.free(c)
        #expect(m.statistics.fragments == 3)  // a, c, the tail
        m.free(b)  // joins a and c into one block
        #expect(m.statistics.fragments == 2)
        #expect(m.verify() == nil)
        // The merged hole (3 × 1024 bytes) takes a request of 3050 (3056 + 16) whole.
        let e = try #require(m.allocate(3050))
        #expect(e.baseAddress == a.baseAddress)
        #expect(m.statistics.fragments == 1)
        m.free(d)
        m.free(e)
        #expect(m.statistics.fragments == 1)
        #expect(m.largestFree == Self.mb - 32)
        #expect(m.verify() == nil)
    }

    @Test func holesAreReusedAndCounted() throws {
        let m = try pool()
        // 1008 bytes: 1024-byte blocks, the lower bound of a size class.
        let blocks = try (0..<100).map { _ in try #require(m.allocate(1008)) }
        let holes = blocks.enumerated().filter { $0.offset % 2 == 0 }.map { $0.element.baseAddress }
        for b in blocks.enumerated() where b.offset % 2 == 0 { m.free(b.element) }
        #expect(m.statistics.fragments == 51)  // 50 holes and the tail
        // A block larger than any hole comes from the tail; a hole-sized one fills a hole,
        // a smaller one splits a hole (its rest stays free).
        let big = try #require(m.allocate(2048))
        #expect(big.baseAddress! > blocks[99].baseAddress!)
        #expect(m.statistics.fragments == 51)
        let exact = try #require(m.allocate(1008))
        #expect(holes.contains(exact.baseAddress))
        #expect(m.statistics.fragments == 50)
        let smaller = try #require(m.allocate(500))
        #expect(holes.contains(smaller.baseAddress))
        #expect(m.statistics.fragments == 50)
        #expect(m.verify() == nil)
    }

    @Test func aFullPoolReturnsNilAndRecovers() throws {
        let m = try pool(64 * 1024)
        var blocks: [UnsafeMutableRawBufferPointer] = []
        while let b = m.allocate(1000) { blocks.append(b) }
        // (64 KB - 16 end marker) / (1008 payload + 16 header) = 63 blocks.
        #expect(blocks.count == 63)
        #expect(m.allocate(1000) == nil)
        #expect(m.statistics.free < 1024)
        #expect(m.verify() == nil)
        m.free(blocks.removeLast())
        #expect(m.allocate(1000) != nil)
        #expect(m.allocate(64 * 1024) == nil)
        #expect(m.allocate(-1) == nil)
    }

    @Test func theLargestFreeBlockCanBeTakenWhole() throws {
        let m = try pool()
        let all = try #require(m.allocate(m.largestFree))
        #expect(m.statistics.free == 0)
        #expect(m.statistics.fragments == 0)
        #expect(m.allocate(0) == nil)
        m.free(all)
        #expect(m.statistics.realUsed == 16)
    }

    @Test func badFreesChangeNothing() throws {
        let m = try pool()
        let a = try #require(m.allocate(64))
        let keep = try #require(m.allocate(64))
        m.free(a)
        let before = m.statistics
        m.free(a)  // double free
        m.free(a.baseAddress! + 8)  // not a block
        var outside = 0
        m.free(&outside)  // not in the pool
        #expect(m.statistics == before)
        #expect(m.verify() == nil)
        m.free(keep)
    }

    @Test func aRandomSequenceMatchesTheModel() throws {
        let m = try pool(256 * 1024)
        var rng = SplitMix(seed: 42)
        var live: [(UnsafeMutableRawBufferPointer, UInt8)] = []
        var failures = 0
        for step in 0..<30_000 {
            if live.isEmpty || rng.next(3) != 0 {
                let n = rng.next(4) == 0 ? rng.next(20_000) : rng.next(300)
                if let b = m.allocate(n) {
                    let tag = UInt8(truncatingIfNeeded: step)
                    b.initializeMemory(as: UInt8.self, repeating: tag)
                    live.append((b, tag))
                } else {
                    failures += 1
                    // Free some so the sequence keeps moving.
                    for _ in 0..<min(5, live.count) {
                        let (b, tag) = live.remove(at: rng.next(live.count))
                        #expect(b.allSatisfy { $0 == tag })
                        m.free(b)
                    }
                }
            } else {
                let (b, tag) = live.remove(at: rng.next(live.count))
                #expect(b.allSatisfy { $0 == tag }, "block contents changed")
                m.free(b)
            }
            if step % 1000 == 0 { try #require(m.verify() == nil, "step \(step): \(m.verify() ?? "")") }
            if step % 97 == 0 {
                // A block keeps a rest smaller than a minimum block: up to 16 bytes more.
                let asked = live.reduce(0) { $0 + TLSFHeap.blockSize(for: $1.0.count) - 16 }
                let used = m.statistics.used
                #expect(used >= asked && used <= asked + 16 * live.count)
            }
        }
        #expect(failures > 0, "the sequence should have filled the pool at times")
        for (b, _) in live { m.free(b) }
        #expect(m.statistics.used == 0)
        #expect(m.statistics.fragments == 1)
        #expect(m.verify() == nil)
    }

    @Test func threadsAllocatingAtOnceKeepThePoolConsistent() throws {
        let m = try pool(4 * Self.mb)
        let threads = 4
        let corrupted = AtomicCounter()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var rng = SplitMix(seed: UInt64(t + 1))
            var live: [(UnsafeMutableRawBufferPointer, UInt8)] = []
            for step in 0..<20_000 {
                if live.count < 50, rng.next(2) == 0, let b = m.allocate(rng.next(2000)) {
                    let tag = UInt8(truncatingIfNeeded: step &* 7 &+ t)
                    b.initializeMemory(as: UInt8.self, repeating: tag)
                    live.append((b, tag))
                } else if !live.isEmpty {
                    let (b, tag) = live.remove(at: rng.next(live.count))
                    if !b.allSatisfy({ $0 == tag }) { corrupted.add() }
                    m.free(b)
                }
            }
            for (b, _) in live { m.free(b) }
        }
        #expect(corrupted.value == 0)
        #expect(m.verify() == nil)
        let s = m.statistics
        #expect((s.used, s.realUsed, s.fragments) == (0, 16, 1))
        #expect(s.maxUsed > 16)
    }

    @Test func sharedBytesAreFreedWithTheirLastReference() throws {
        let m = try pool(64 * 1024)
        do {
            let text = try #require(SharedBytes("hello, shm", in: m))
            #expect(text.string == "hello, shm")
            #expect(text.count == 10)
            let bytes = try #require(SharedBytes([1, 2, 3] as [UInt8], in: m))
            #expect(bytes.bytes == [1, 2, 3])
            let lazy = try #require(SharedBytes((0..<5).lazy.map { UInt8($0 * 2) }, in: m))
            #expect(lazy.bytes == [0, 2, 4, 6, 8])
            #expect(m.statistics.used == 16 * 3)
        }
        #expect(m.statistics.used == 0)
        #expect(SharedBytes(String(repeating: "x", count: 70_000), in: m) == nil)
        struct Failed: Error {}
        #expect(throws: Failed.self) {
            _ = try SharedBytes(count: 100, in: m) { (_: UnsafeMutableRawBufferPointer) throws(Failed) in throw Failed()
            }
        }
        #expect(m.statistics.used == 0)
    }

    @Test func sizeClassesCoverEverySize() {
        var previous = (fl: 0, sl: 0)
        for size in stride(from: 32, through: 1 << 22, by: 16) {
            let i = TLSFHeap.listIndex(size)
            #expect(i.sl >= 0 && i.sl < 32)
            #expect(i.fl > previous.fl || (i.fl == previous.fl && i.sl >= previous.sl))
            previous = i
        }
    }
}

/// A small deterministic random generator for repeatable sequences.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(max(1, bound)))
    }
}

/// A counter several threads add to.
final class AtomicCounter: @unchecked Sendable {
    private var n = 0
    private let lock = NSLock()
    func add() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}

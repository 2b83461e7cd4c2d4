import Foundation
import Synchronization
import Testing

@testable import SwiftletSDK

/// The sharded shared-state table: lookups across shards, in-place changes, expiry (checked
/// against a model too), values in a bounded shared memory pool, the entry limit, and several
/// threads at once with exact final contents.
@Suite struct ShardedTableTests {
    @Test func insertLookupReplaceAndRemoveAcrossShards() {
        let table = ShardedTable<String, Int>(shards: 16)
        #expect(table.shardCount == 16)
        #expect(table.isEmpty)
        var shardsUsed = Set<Int>()
        for i in 0..<1000 {
            #expect(table.insert(i, for: "key-\(i)") == .success(false))
            shardsUsed.insert(table.shardIndex(for: "key-\(i)"))
        }
        #expect(shardsUsed == Set(0..<16))
        #expect(table.count == 1000)
        for i in 0..<1000 { #expect(table.value(for: "key-\(i)") == i) }
        #expect(table.value(for: "absent") == nil)
        #expect(!table.contains("absent"))

        for i in stride(from: 0, to: 1000, by: 3) {
            #expect(table.insert(i * 10, for: "key-\(i)") == .success(true))
        }
        #expect(table.count == 1000)
        for i in stride(from: 0, to: 1000, by: 2) {
            #expect(table.removeValue(for: "key-\(i)") == (i % 3 == 0 ? i * 10 : i))
            #expect(table.removeValue(for: "key-\(i)") == nil)
        }
        #expect(table.count == 500)

        var model: [String: Int] = [:]
        for i in stride(from: 1, to: 1000, by: 2) { model["key-\(i)"] = i % 3 == 0 ? i * 10 : i }
        let all = table.snapshot()
        #expect(all.count == 500)
        #expect(Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0.value) }) == model)
        for shard in 0..<16 {
            let part = table.snapshot(shard: shard)
            #expect(!part.isEmpty)
            #expect(part.allSatisfy { table.shardIndex(for: $0.key) == shard })
        }
        #expect(table.snapshot(shard: 16).isEmpty)
        var visited = 0
        table.forEach { key, value, expiresAt in
            visited += 1
            #expect(model[key] == value && expiresAt == nil)
        }
        #expect(visited == 500)

        table.removeAll()
        #expect(table.count == 0)
        #expect(table.snapshot().isEmpty)
        #expect(table.value(for: "key-1") == nil)
    }

    @Test func shardCountsAreRoundedToPowersOfTwo() {
        #expect(ShardedTable<Int, Int>(shards: 100).shardCount == 128)
        #expect(ShardedTable<Int, Int>(shards: 0).shardCount == 1)
        #expect(ShardedTable<Int, Int>(shards: 1 << 20).shardCount == 65536)
        let one = ShardedTable<Int, Int>(shards: 1)
        for i in 0..<100 {
            one.insert(i, for: i)
            #expect(one.shardIndex(for: i) == 0)
        }
        #expect(one.count == 100)
    }

    @Test func valuesChangeInPlaceUnderTheLock() throws {
        struct Dialog {
            var state = "early"
            var events: [String] = []
        }
        let table = ShardedTable<String, Dialog>(shards: 4)
        table.insert(Dialog(), for: "call-1")
        let n = table.withValue(for: "call-1") { dialog -> Int in
            dialog.state = "confirmed"
            dialog.events.append("200")
            return dialog.events.count
        }
        #expect(n == 1)
        table.withValue(for: "call-1") { $0.events.append("BYE") }
        #expect(table.value(for: "call-1")?.state == "confirmed")
        #expect(table.value(for: "call-1")?.events == ["200", "BYE"])
        var called = false
        #expect(table.withValue(for: "call-2") { _ in called = true } == nil)
        #expect(!called)

        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try table.withValue(for: "call-1") { (_: inout Dialog) throws(Refused) -> Void in throw Refused() }
        }
        // A conditional removal checks and removes at once.
        #expect(table.removeValue(for: "call-1", where: { $0.state == "early" }) == nil)
        #expect(table.removeValue(for: "call-1", where: { $0.state == "confirmed" })?.events == ["200", "BYE"])
        #expect(table.isEmpty)
    }

    @Test func expireReturnsExactlyTheDueEntries() {
        let table = ShardedTable<String, Int>(shards: 8)
        table.insert(1, for: "a", expiresAt: 10)
        table.insert(2, for: "b", expiresAt: 20)
        table.insert(3, for: "c", expiresAt: 30)
        table.insert(4, for: "d")  // never expires
        table.insert(5, for: "e", expiresAt: 20)
        table.insert(6, for: "f", expiresAt: 5)
        table.insert(60, for: "f", expiresAt: 100)  // replaced: the expiry 5 no longer holds
        table.insert(7, for: "g", expiresAt: 15)
        table.removeValue(for: "g")  // removed: never returned
        #expect(table.entry(for: "f")?.expiresAt == 100)
        #expect(table.entry(for: "d").map { $0.expiresAt == nil } == true)
        #expect(table.earliestExpiry().map { $0 <= 10 } == true)

        #expect(table.expire(now: 4).isEmpty)
        #expect(table.expire(now: 9).isEmpty)
        #expect(table.count == 6)
        let due = table.expire(now: 20).sorted { $0.key < $1.key }
        #expect(due.map(\.key) == ["a", "b", "e"])
        #expect(due.map(\.value) == [1, 2, 5])
        #expect(table.count == 3)
        #expect(table.expire(now: 20).isEmpty)
        #expect(table.expire(now: 99).map(\.key) == ["c"])
        #expect(Set(table.snapshot().map(\.key)) == ["d", "f"])
        #expect(table.expire(now: .max).map { [$0.key: $0.value] } == [["f": 60]])
        #expect(table.snapshot().map(\.key) == ["d"])
        #expect(table.earliestExpiry() == nil)
    }

    @Test func touchMovesTheExpiry() {
        let table = ShardedTable<String, Int>(shards: 4)
        table.insert(1, for: "x", expiresAt: 10)
        table.insert(2, for: "y", expiresAt: 10)
        table.insert(3, for: "z")
        table.insert(4, for: "w", expiresAt: 100)
        #expect(table.touch("x", expiresAt: 50))
        #expect(table.touch("y", expiresAt: nil))
        #expect(table.touch("z", expiresAt: 5))
        #expect(table.touch("w", expiresAt: 1))
        #expect(!table.touch("absent", expiresAt: 1))
        #expect(table.entry(for: "x")?.expiresAt == 50)

        var seen: [String: Int] = [:]
        let n = table.expire(now: 10) { key, value in seen[key] = value }
        #expect(n == 2)
        #expect(seen == ["z": 3, "w": 4])
        #expect(table.expire(now: 49).isEmpty)
        #expect(table.expire(now: 50).map(\.key) == ["x"])
        #expect(table.expire(now: .max).isEmpty)
        #expect(table.snapshot().map(\.key) == ["y"])
    }

    @Test func expiryMatchesAModelUnderRandomOperations() {
        let table = ShardedTable<Int, Int>(shards: 4)
        var model: [Int: (value: Int, expiresAt: UInt64?)] = [:]
        var rng = TableRandom(seed: 7)
        var now: UInt64 = 0
        for step in 0..<30_000 {
            let key = rng.next(300)
            let expiry: UInt64? = rng.next(5) == 0 ? nil : now + UInt64(rng.next(200))
            switch rng.next(10) {
            case 0..<4:
                #expect(table.insert(step, for: key, expiresAt: expiry) == .success(model[key] != nil))
                model[key] = (step, expiry)
            case 4..<7:
                #expect(table.touch(key, expiresAt: expiry) == (model[key] != nil))
                model[key]?.expiresAt = expiry
            case 7:
                #expect(table.removeValue(for: key) == model.removeValue(forKey: key)?.value)
            default:
                now += UInt64(rng.next(20))
                let expected = model.filter { $0.value.expiresAt.map { $0 <= now } ?? false }
                let expired = table.expire(now: now)
                #expect(expired.count == expected.count)
                #expect(
                    Dictionary(uniqueKeysWithValues: expired.map { ($0.key, $0.value) }) == expected.mapValues(\.value))
                for key in expected.keys { model[key] = nil }
            }
            #expect(table.count == model.count)
        }
        // Stale heap items stay bounded (rebuilt past twice the timed entries, plus 64).
        for shard in table.shards {
            shard.withLock { s in #expect(s.heap.count <= 2 * s.timed + 65) }
        }
        let final = table.snapshot()
        #expect(final.count == model.count)
        for entry in final {
            #expect(model[entry.key]?.value == entry.value && model[entry.key]?.expiresAt == entry.expiresAt)
        }
    }

    @Test func aFullPoolFailsTheInsertAndKeepsTheTable() throws {
        let memory = try #require(SharedMemory(size: 64 * 1024, logsFailures: false))
        let table = ShardedByteTable<Int>(shards: 8)
        func block(_ i: Int, _ n: Int = 1000) -> [UInt8] { [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: n) }
        var stored = 0
        var failure: SharedStateError?
        while failure == nil {
            switch table.insertBytes(block(stored), for: stored, in: memory) {
            case .success(let replaced):
                #expect(!replaced)
                stored += 1
            case .failure(let error): failure = error
            }
        }
        // (64 KB - 16) / (1008 + 16): 63 values fit.
        #expect(stored == 63)
        #expect(failure == .outOfMemory(requested: 1000))
        #expect("\(failure!)" == "shared memory is full: cannot allocate 1000 bytes (raise -m or shm_mem_size)")
        #expect(table.count == 63)
        #expect(table.value(for: 63) == nil)
        // A replacement that does not fit leaves the old value.
        #expect(table.insertBytes(block(99), for: 5, in: memory) == .failure(.outOfMemory(requested: 1000)))
        for i in 0..<63 { #expect(table.value(for: i)?.bytes == block(i)) }
        #expect(memory.verify() == nil)

        let full = memory.statistics.used
        for i in 0..<10 { #expect(table.removeValue(for: i) != nil) }
        #expect(memory.statistics.used == full - 10 * 1008)
        #expect(table.insertBytes("short", for: 20, in: memory) == .success(true))  // 1008 -> 16 bytes
        #expect(memory.statistics.used == full - 11 * 1008 + 16)
        #expect(table.value(for: 20)?.string == "short")
        for i in 63..<72 { #expect(table.insertBytes(block(i), for: i, in: memory) == .success(false)) }
        #expect(table.count == 62)

        table.removeAll()
        #expect(table.count == 0)
        #expect(memory.statistics.used == 0)
        #expect(memory.statistics.realUsed == 16)
        #expect(memory.verify() == nil)
    }

    @Test func maxEntriesRefusesNewKeys() throws {
        let table = ShardedTable<String, Int>(shards: 4, maxEntries: 3)
        #expect(table.insert(1, for: "a") == .success(false))
        #expect(table.insert(2, for: "b") == .success(false))
        #expect(table.insert(3, for: "c", expiresAt: 10) == .success(false))
        #expect(table.insert(4, for: "d") == .failure(.tableFull(limit: 3)))
        #expect("\(SharedStateError.tableFull(limit: 3))" == "table is full: it holds its limit of 3 entries")
        #expect(!table.contains("d"))
        #expect(table.insert(30, for: "c") == .success(true))  // a replacement is not a new entry
        #expect(table.count == 3)
        table.removeValue(for: "a")
        #expect(table.insert(4, for: "d") == .success(false))
        #expect(table.insert(5, for: "e") == .failure(.tableFull(limit: 3)))
        table.touch("d", expiresAt: 1)
        #expect(table.expire(now: 1).map(\.key) == ["d"])
        #expect(table.insert(5, for: "e") == .success(false))

        // A byte value refused for the limit gives its memory back at once.
        let memory = try #require(SharedMemory(size: 64 * 1024, logsFailures: false))
        let bytes = ShardedByteTable<Int>(shards: 2, maxEntries: 2)
        #expect(bytes.insertBytes("one", for: 1, in: memory) == .success(false))
        #expect(bytes.insertBytes("two", for: 2, in: memory) == .success(false))
        let used = memory.statistics.used
        #expect(bytes.insertBytes("three", for: 3, in: memory) == .failure(.tableFull(limit: 2)))
        #expect(memory.statistics.used == used)
        #expect(bytes.value(for: 2)?.string == "two")
    }

    @Test func threadsWorkingAtOnceLeaveExactContents() {
        let table = ShardedTable<String, Int>(shards: 16)
        for c in 0..<16 { table.insert(0, for: "counter-\(c)") }
        let threads = 4
        let errors = TableTally()
        let sharedFirstInserts = TableTally()
        let churnInserts = TableTally()
        let churnRemoves = TableTally()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            // Disjoint keys: each thread inserts 2500 and removes the even ones.
            for i in 0..<2500 {
                if table.insert(i, for: "t\(t)-\(i)") != .success(false) { errors.add() }
            }
            for i in stride(from: 0, to: 2500, by: 2) {
                if table.removeValue(for: "t\(t)-\(i)") != i { errors.add() }
            }
            // Overlapping keys: 16 counters changed in place by every thread.
            for i in 0..<2560 {
                if table.withValue(for: "counter-\(i % 16)", { $0 += 1 }) == nil { errors.add() }
            }
            // Overlapping inserts: each of 500 keys is new for exactly one thread.
            for i in 0..<500 {
                if case .success(false) = table.insert(t, for: "shared-\(i)") { sharedFirstInserts.add() }
            }
            // Overlapping inserts and removals of 100 keys.
            for i in 0..<1500 {
                if case .success(false) = table.insert(i, for: "churn-\(i % 100)") { churnInserts.add() }
                if table.removeValue(for: "churn-\((i + 50) % 100)") != nil { churnRemoves.add() }
            }
        }
        #expect(errors.value == 0)
        #expect(sharedFirstInserts.value == 500)
        let all = table.snapshot()
        let contents = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0.value) })
        for t in 0..<threads {
            for i in 0..<2500 { #expect(contents["t\(t)-\(i)"] == (i % 2 == 0 ? nil : i)) }
        }
        for c in 0..<16 { #expect(contents["counter-\(c)"] == threads * 2560 / 16) }
        for i in 0..<500 { #expect(contents["shared-\(i)"].map { (0..<threads).contains($0) } == true) }
        let churnLeft = contents.keys.filter { $0.hasPrefix("churn-") }.count
        #expect(churnLeft == churnInserts.value - churnRemoves.value)
        #expect(all.count == threads * 1250 + 16 + 500 + churnLeft)
        #expect(table.count == all.count)
    }

    @Test func concurrentInsertsStopExactlyAtMaxEntries() {
        let table = ShardedTable<Int, Int>(shards: 8, maxEntries: 1000)
        let inserted = TableTally()
        let refused = TableTally()
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for i in 0..<500 {
                switch table.insert(i, for: t * 1000 + i) {
                case .success(false): inserted.add()
                case .failure(.tableFull(limit: 1000)): refused.add()
                default: break
                }
            }
        }
        #expect(inserted.value == 1000)
        #expect(refused.value == 1000)
        #expect(table.count == 1000)
        #expect(table.snapshot().count == 1000)
    }

    @Test func concurrentExpiryTakesEachEntryOnce() {
        let table = ShardedTable<String, Int>(shards: 16)
        let expired = TableKeys()
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            if t < 3 {
                for i in 0..<5000 { table.insert(i, for: "t\(t)-\(i)", expiresAt: UInt64(i)) }
            } else {
                for now in stride(from: UInt64(0), to: 5000, by: 5) {
                    table.expire(now: now) { key, _ in expired.add(key) }
                }
            }
        }
        table.expire(now: .max) { key, _ in expired.add(key) }
        let keys = expired.all
        #expect(keys.count == 15_000)
        #expect(Set(keys).count == 15_000)
        #expect(table.count == 0)
        #expect(table.earliestExpiry() == nil)
    }
}

/// A small deterministic random generator (SplitMix64).
private struct TableRandom {
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

/// A counter that several threads add to.
private final class TableTally: Sendable {
    private let n = Atomic<Int>(0)
    func add() { n.wrappingAdd(1, ordering: .relaxed) }
    var value: Int { n.load(ordering: .relaxed) }
}

/// Keys collected from several threads.
private final class TableKeys: Sendable {
    private let keys = Mutex<[String]>([])
    func add(_ key: String) { keys.withLock { $0.append(key) } }
    var all: [String] { keys.withLock { $0 } }
}

import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The transactions, found by the received request's key and by the number their label and
/// id are made from (Kamailio's `tm` hash table): 256 shards, each two dictionaries behind
/// its own lock, with concrete types so that the hot path is specialised in this module.
/// Bounded by `max_transactions` (0: no limit beyond shared memory).
///
/// A transaction's label is its number in hex and its id (`TransactionKey.id`) a bijection
/// of that number: both find it in one dictionary keyed by the number, the id after
/// inverting the bijection (and comparing the id, so a forged one finds nothing). tm's local
/// requests, numbered by their own counter and with ids made otherwise, have dictionaries by
/// id and by label of their own.
final class TransactionTable: @unchecked Sendable {
    /// One shard: the dictionaries behind one pthread mutex (Transaction is not Sendable,
    /// so Synchronization.Mutex's `sending` rules do not fit).
    private final class Shard: @unchecked Sendable {
        var byKey: [HashedKey: Transaction] = [:]
        var byNumber: [NumberKey: Transaction] = [:]
        /// Local requests' transactions (whose id is not `TransactionKey.id(number)`), by id
        /// and by label.
        var byID: [String: Transaction] = [:]
        var byLabel: [String: Transaction] = [:]
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        init() { pthread_mutex_init(mutex, nil) }
        deinit {
            pthread_mutex_destroy(mutex)
            mutex.deallocate()
        }
        @inline(__always) func locked<R>(_ body: (Shard) -> R) -> R {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return body(self)
        }
    }
    private static let shardCount = 256
    private let shards = (0..<TransactionTable.shardCount).map { _ in Shard() }
    private let live = Atomic<Int>(0)
    private let limit: Int

    init(maxTransactions: Int) { limit = maxTransactions }

    var count: Int { live.load(ordering: .relaxed) }

    /// A request's key with its hash computed once (not SipHash: the key is hashed for its
    /// shard and again by the shard's dictionary on every lookup, insertion and removal).
    struct HashedKey: Hashable {
        let text: String
        let hash: UInt64

        init(_ text: String) {
            self.text = text
            var t = text
            hash = t.withUTF8 { Self.hash($0) }
        }

        /// A key whose hash is known (a transaction's `keyHash`).
        init(_ text: String, hash: UInt64) {
            self.text = text
            self.hash = hash
        }

        /// A multiply-xorshift hash of the UTF-8 bytes, eight at a time (the keys hold a
        /// branch: enough entropy for the dictionaries, which hash this value again).
        static func hash(_ u: UnsafeBufferPointer<UInt8>) -> UInt64 {
            var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(u.count)
            guard let base = u.baseAddress else { return h }
            let raw = UnsafeRawPointer(base)
            var i = 0
            @inline(__always) func mix(_ w: UInt64) {
                h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
                h ^= h >> 31
            }
            while i + 8 <= u.count {
                mix(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                i += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < u.count {
                tail |= UInt64(u[i]) << shift
                shift += 8
                i += 1
            }
            mix(tail)
            h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
            return h ^ (h >> 31)
        }

        func hash(into hasher: inout Hasher) { hasher.combine(hash) }

        /// The dictionaries' hash: the mixed value itself (with their seed), not SipHash of it
        /// again (a lookup, insertion or removal, and each entry a removal shifts, hashes).
        func _rawHashValue(seed: Int) -> Int { Int(truncatingIfNeeded: hash) ^ seed }

        static func == (a: HashedKey, b: HashedKey) -> Bool { a.hash == b.hash && a.text == b.text }
    }

    /// A transaction number as a dictionary key, hashed by one multiply-xorshift instead of
    /// SipHash (numbers are consecutive: mixed so that they spread over the buckets).
    struct NumberKey: Hashable {
        let value: UInt64

        init(_ value: UInt64) { self.value = value }

        func hash(into hasher: inout Hasher) { hasher.combine(value) }

        func _rawHashValue(seed: Int) -> Int {
            var h = (value ^ UInt64(truncatingIfNeeded: seed)) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
            return Int(truncatingIfNeeded: h)
        }
    }

    @inline(__always) private func shard(_ key: HashedKey) -> Shard {
        shards[Int(truncatingIfNeeded: key.hash >> 32) & (Self.shardCount - 1)]
    }

    /// The shard of a transaction number: its low bits (numbers are consecutive).
    @inline(__always) private func shard(ofNumber n: UInt64) -> Shard {
        shards[Int(truncatingIfNeeded: n) & (Self.shardCount - 1)]
    }

    /// The shard of an irregular id: its last two bytes, which vary from one transaction to
    /// the next (hex digits of a hash), pick it without hashing the string again.
    @inline(__always) private func shard(ofTag tag: String) -> Shard {
        // A hex digit's value (0-9, a-f; any other byte gives some value too).
        @inline(__always) func nibble(_ c: UInt8) -> Int { Int(c & 0x0f) + (c > 0x39 ? 9 : 0) }
        var tag = tag
        let n = tag.withUTF8 { u in u.count >= 2 ? nibble(u[u.count - 2]) << 4 | nibble(u[u.count - 1]) : u.count }
        return shards[n & (Self.shardCount - 1)]
    }

    /// Adds `tx`; a full table is returned as the error.
    func insert(_ tx: Transaction) -> Result<Void, SharedStateError> {
        if limit > 0 {
            var current = live.load(ordering: .relaxed)
            repeat {
                guard current < limit else { return .failure(.tableFull(limit: limit)) }
                let (done, original) = live.compareExchange(
                    expected: current, desired: current + 1, ordering: .relaxed)
                if done { break }
                current = original
            } while true
        } else {
            live.add(1, ordering: .relaxed)
        }
        let key = HashedKey(tx.key, hash: tx.keyHash)
        shard(key).locked { $0.byKey[key] = tx }
        if tx.hasNumberedID {
            shard(ofNumber: tx.number).locked { $0.byNumber[NumberKey(tx.number)] = tx }
        } else {
            shard(ofTag: tx.id).locked { $0.byID[tx.id] = tx }
            shard(ofTag: tx.label).locked { $0.byLabel[tx.label] = tx }
        }
        return .success(())
    }

    func transaction(key: String) -> Transaction? { transaction(key: HashedKey(key)) }

    /// The transaction of a key hashed already (a new request's, whose transaction gets the
    /// hash if there is none).
    func transaction(key: HashedKey) -> Transaction? { shard(key).locked { $0.byKey[key] } }

    /// The transaction whose id is `id`.
    func transaction(id: String) -> Transaction? {
        var id = id
        return id.withUTF8 { transaction(id: $0) } ?? shard(ofTag: id).locked { $0.byID[id] }
    }

    /// The transaction whose id is in `b[range]` (a received branch), without making a string
    /// when it is a numbered one.
    func transaction(id b: [UInt8], _ range: Range<Int>) -> Transaction? {
        if let tx = b.withUnsafeBufferPointer({ transaction(id: UnsafeBufferPointer(rebasing: $0[range])) }) {
            return tx
        }
        let id = String(decoding: b[range], as: UTF8.self)
        return shard(ofTag: id).locked { $0.byID[id] }
    }

    /// The numbered transaction whose id is `id`, or nil.
    private func transaction(id: UnsafeBufferPointer<UInt8>) -> Transaction? {
        guard let n = TransactionKey.number(ofID: id) else { return nil }
        return shard(ofNumber: n).locked { s -> Transaction? in
            guard let tx = s.byNumber[NumberKey(n)], tx.hasID(id) else { return nil }
            return tx
        }
    }

    /// The transaction whose label (its number in hex) is `label` and that `accept`s: a
    /// relayed request's, else a local request's (their numbers are counted apart).
    func transaction(label: String, where accept: (Transaction) -> Bool = { _ in true }) -> Transaction? {
        if let n = UInt64(label, radix: 16),
            let tx = shard(ofNumber: n).locked({ $0.byNumber[NumberKey(n)] }), tx.label == label, accept(tx)
        {
            return tx
        }
        guard let tx = shard(ofTag: label).locked({ $0.byLabel[label] }), accept(tx) else { return nil }
        return tx
    }

    func remove(_ tx: Transaction) {
        // Found by index, removed at that index, with the hash the transaction keeps.
        let key = HashedKey(tx.key, hash: tx.keyHash)
        let removed: Bool = shard(key).locked { s in
            guard let i = s.byKey.index(forKey: key), s.byKey[i].value === tx else { return false }
            s.byKey.remove(at: i)
            return true
        }
        if removed { live.subtract(1, ordering: .relaxed) }
        if tx.hasNumberedID {
            shard(ofNumber: tx.number).locked { s in
                if let i = s.byNumber.index(forKey: NumberKey(tx.number)), s.byNumber[i].value === tx {
                    s.byNumber.remove(at: i)
                }
            }
            return
        }
        shard(ofTag: tx.id).locked { s in
            if let i = s.byID.index(forKey: tx.id), s.byID[i].value === tx { s.byID.remove(at: i) }
        }
        shard(ofTag: tx.label).locked { s in
            if let i = s.byLabel.index(forKey: tx.label), s.byLabel[i].value === tx { s.byLabel.remove(at: i) }
        }
    }

    /// Every transaction (for `tm.list`).
    var all: [Transaction] { shards.flatMap { $0.locked { Array($0.byKey.values) } } }
}
/// How transactions are matched (Kamailio's `t_lookup.c`).
enum TransactionKey {
    /// The method class of a request: an ACK belongs to its INVITE's transaction, a CANCEL
    /// has its own (found with the INVITE's key).
    static func methodClass(_ m: SIPMethod?, text: String) -> String {
        switch m {
        case .invite, .ack: "INVITE"
        default: text
        }
    }

    /// The key of the request in `ctx` for method class `cls`: the RFC 3261 branch with the
    /// sent-by of the top Via when the branch has the magic cookie, else the RFC 2543 fields
    /// (Call-ID, CSeq number, From tag, Request-URI, top Via).
    static func key(_ ctx: MessageContext, methodClass cls: String) -> String? {
        let msg = ctx.message
        let b = msg.buffer
        guard let via = ctx.via1 else { return nil }
        if let branch = via.branch?.value, hasMagicCookie(b, branch) {
            return rfc3261Key(b, branch: branch, host: via.host, port: via.port ?? 5060, methodClass: cls)
        }
        let cseq = (try? msg.cseq()).map { String($0.number) } ?? ""
        return "2543|" + (msg.callID ?? "") + "|" + cseq + "|" + (msg.fromTag ?? "") + "|"
            + (msg.requestURI ?? "") + "|" + b.tmText(via.range) + "|" + cls
    }

    /// `ViaHeader.hasRFC3261Branch`: the branch starts with `z9hG4bK` (compared in place).
    static func hasMagicCookie(_ b: [UInt8], _ branch: Range<Int>) -> Bool {
        let cookie: StaticString = "z9hG4bK"
        guard branch.count >= cookie.utf8CodeUnitCount else { return false }
        for i in 0..<cookie.utf8CodeUnitCount where b[branch.lowerBound + i] != cookie.utf8Start[i] { return false }
        return true
    }

    /// Our branch parameter for branch `n` of a transaction: Kamailio's layout
    /// `z9hG4bK<label>.<id>.<n>`.
    static func branch(label: String, id: String, index: Int) -> String {
        var label = label
        var id = id
        let number = String(index)
        return label.withUTF8 { l in
            id.withUTF8 { i in
                // Written in one go: this runs for every branch sent.
                String(
                    unsafeUninitializedCapacity: BranchGenerator.magicCookie.utf8.count + l.count + 1 + i.count + 1
                        + number.utf8.count
                ) { out in
                    var n = 0
                    for c in BranchGenerator.magicCookie.utf8 {
                        out[n] = c
                        n += 1
                    }
                    for c in l {
                        out[n] = c
                        n += 1
                    }
                    out[n] = UInt8(ascii: ".")
                    n += 1
                    for c in i {
                        out[n] = c
                        n += 1
                    }
                    out[n] = UInt8(ascii: ".")
                    n += 1
                    for c in number.utf8 {
                        out[n] = c
                        n += 1
                    }
                    return n
                }
            }
        }
    }

    /// The id and branch index in a branch we generated, or nil.
    static func parse(branch text: String) -> (id: String, index: Int)? {
        let b = Array(text.utf8)
        return parse(b, 0..<b.count)
    }
}

import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The transactions, found by the received request's key and by the number their label and
/// id are made from (Kamailio's `tm` hash table): two tables of 65,536 buckets (by key hash
/// and by number), each bucket a list linked through the transactions themselves
/// (`Transaction.nextByKey`, `nextByNumber`), guarded by one of 256 locks (the bucket's low
/// byte). Adding and removing a transaction allocate and free nothing and hash nothing (its
/// key's hash is kept). Bounded by `max_transactions` (0: no limit beyond shared memory).
///
/// A transaction's label is its number in hex and its id (`TransactionKey.id`) a bijection
/// of that number: both find it in the table by number, the id after inverting the bijection
/// (and comparing the id, so a forged one finds nothing). tm's local requests, numbered by
/// their own counter and with ids made otherwise, have dictionaries by id and by label of
/// their own.
final class TransactionTable: @unchecked Sendable {
    /// One lock and what it guards: the buckets whose index ends in its number, and the local
    /// requests' dictionaries of its share of ids and labels (Transaction is not Sendable, so
    /// Synchronization.Mutex's `sending` rules do not fit).
    private final class Shard: @unchecked Sendable {
        /// Local requests' transactions (whose id is not `TransactionKey.id(number)`), by id
        /// and by label.
        var byID: [String: Transaction] = [:]
        var byLabel: [String: Transaction] = [:]
        /// The shard's lock, one of the table's `mutexes` (which the table frees).
        private let mutex: UnsafeMutablePointer<pthread_mutex_t>
        init(mutex: UnsafeMutablePointer<pthread_mutex_t>) { self.mutex = mutex }
        @inline(__always) func locked<R>(_ body: (Shard) -> R) -> R {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return body(self)
        }
    }
    private static let shardCount = 256
    /// Buckets per table (Kamailio's `TABLE_ENTRIES`).
    private static let bucketCount = 1 << 16
    /// The shards' locks, apart from the shards: the bucket lists (every relayed request's
    /// transaction) are locked without reading, retaining and releasing a `Shard`.
    private let mutexes: UnsafeMutablePointer<pthread_mutex_t>
    private let shards: [Shard]
    /// The first transaction of each bucket by key hash and by number; each list holds one
    /// reference to each transaction in it (taken in `insert`, given back in `remove`), its
    /// links none. Zeroed pages from `calloc`: untouched buckets cost no memory.
    private let keyBuckets: UnsafeMutablePointer<Unmanaged<Transaction>?>
    private let numberBuckets: UnsafeMutablePointer<Unmanaged<Transaction>?>
    private let live = Atomic<Int>(0)
    /// `max_transactions` (0: no limit): set by tm's `mod_init`, before any worker runs.
    var limit: Int

    init(maxTransactions: Int) {
        limit = maxTransactions
        let mutexes = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: Self.shardCount)
        for i in 0..<Self.shardCount { pthread_mutex_init(mutexes + i, nil) }
        self.mutexes = mutexes
        shards = (0..<Self.shardCount).map { Shard(mutex: mutexes + $0) }
        let size = MemoryLayout<Unmanaged<Transaction>?>.stride
        keyBuckets = calloc(Self.bucketCount, size)!.bindMemory(
            to: Unmanaged<Transaction>?.self, capacity: Self.bucketCount)
        numberBuckets = calloc(Self.bucketCount, size)!.bindMemory(
            to: Unmanaged<Transaction>?.self, capacity: Self.bucketCount)
    }

    deinit {
        for i in 0..<Self.bucketCount {
            var next = keyBuckets[i]
            while let u = next {
                next = u._withUnsafeGuaranteedRef { $0.nextByKey }
                u.release()
            }
            next = numberBuckets[i]
            while let u = next {
                next = u._withUnsafeGuaranteedRef { $0.nextByNumber }
                u.release()
            }
        }
        free(keyBuckets)
        free(numberBuckets)
        for i in 0..<Self.shardCount { pthread_mutex_destroy(mutexes + i) }
        mutexes.deallocate()
    }

    var count: Int { live.load(ordering: .relaxed) }

    /// The hash of the keys (`TransactionKey.Probe`).
    enum HashedKey {
        /// A multiply-xorshift hash of the UTF-8 bytes, eight at a time (the keys hold a
        /// branch: enough entropy for the buckets).
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

    }

    /// The bucket of a key hash (its high half; the shard is the bucket's low byte).
    @inline(__always) private static func bucket(ofHash hash: UInt64) -> Int {
        Int(truncatingIfNeeded: hash >> 32) & (bucketCount - 1)
    }

    /// The bucket of a transaction number: its low bits (numbers are consecutive).
    @inline(__always) private static func bucket(ofNumber n: UInt64) -> Int {
        Int(truncatingIfNeeded: n) & (bucketCount - 1)
    }

    /// Runs `body` with the lock of bucket `b`'s shard held.
    @inline(__always) private func lockedBucket<R>(_ b: Int, _ body: () -> R) -> R {
        let mutex = mutexes + (b & (Self.shardCount - 1))
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
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
        let kb = Self.bucket(ofHash: tx.keyHash)
        lockedBucket(kb) { linkByKey(tx, bucket: kb) }
        if tx.hasNumberedID {
            let nb = Self.bucket(ofNumber: tx.number)
            lockedBucket(nb) { linkByNumber(tx, bucket: nb) }
        } else {
            shard(ofTag: tx.id).locked { $0.byID[tx.id] = tx }
            shard(ofTag: tx.label).locked { $0.byLabel[tx.label] = tx }
        }
        return .success(())
    }

    /// Puts `tx` first in its key bucket, in place of a transaction with the same key (which
    /// the table no longer holds: its own `remove` then finds nothing). Shard lock held.
    private func linkByKey(_ tx: Transaction, bucket b: Int) {
        var previous: Unmanaged<Transaction>? = nil
        var next = keyBuckets[b]
        while let u = next {
            let same = u._withUnsafeGuaranteedRef { $0.keyHash == tx.keyHash && $0.hasSameKey(as: tx) }
            if same {
                unlinkByKey(u, previous: previous, bucket: b)
                u.release()
                break
            }
            previous = u
            next = u._withUnsafeGuaranteedRef { $0.nextByKey }
        }
        tx.nextByKey = keyBuckets[b]
        keyBuckets[b] = Unmanaged.passRetained(tx)
    }

    /// As `linkByKey`, by number. Shard lock held.
    private func linkByNumber(_ tx: Transaction, bucket b: Int) {
        var previous: Unmanaged<Transaction>? = nil
        var next = numberBuckets[b]
        while let u = next {
            if u._withUnsafeGuaranteedRef({ $0.number == tx.number }) {
                unlinkByNumber(u, previous: previous, bucket: b)
                u.release()
                break
            }
            previous = u
            next = u._withUnsafeGuaranteedRef { $0.nextByNumber }
        }
        tx.nextByNumber = numberBuckets[b]
        numberBuckets[b] = Unmanaged.passRetained(tx)
    }

    /// Takes `u` (after `previous`, nil when first) out of key bucket `b`; the caller gives
    /// back the list's reference. Shard lock held.
    private func unlinkByKey(_ u: Unmanaged<Transaction>, previous: Unmanaged<Transaction>?, bucket b: Int) {
        u._withUnsafeGuaranteedRef { tx in
            let next = tx.nextByKey
            if let previous {
                previous._withUnsafeGuaranteedRef { $0.nextByKey = next }
            } else {
                keyBuckets[b] = next
            }
            tx.nextByKey = nil
        }
    }

    /// As `unlinkByKey`, by number. Shard lock held.
    private func unlinkByNumber(_ u: Unmanaged<Transaction>, previous: Unmanaged<Transaction>?, bucket b: Int) {
        u._withUnsafeGuaranteedRef { tx in
            let next = tx.nextByNumber
            if let previous {
                previous._withUnsafeGuaranteedRef { $0.nextByNumber = next }
            } else {
                numberBuckets[b] = next
            }
            tx.nextByNumber = nil
        }
    }

    /// The transaction of key `key` in its bucket. Shard lock held.
    private func findByKey(_ key: TransactionKey.Probe) -> Transaction? {
        var next = keyBuckets[Self.bucket(ofHash: key.hash)]
        while let u = next {
            let found = u._withUnsafeGuaranteedRef { $0.keyHash == key.hash && $0.hasKey(key) }
            if found { return u.takeUnretainedValue() }
            next = u._withUnsafeGuaranteedRef { $0.nextByKey }
        }
        return nil
    }

    /// The transaction numbered `n` in its bucket. Shard lock held.
    private func findByNumber(_ n: UInt64) -> Transaction? {
        var next = numberBuckets[Self.bucket(ofNumber: n)]
        while let u = next {
            if u._withUnsafeGuaranteedRef({ $0.number == n }) { return u.takeUnretainedValue() }
            next = u._withUnsafeGuaranteedRef { $0.nextByNumber }
        }
        return nil
    }

    /// The transaction of `key`.
    func transaction(key: TransactionKey.Probe) -> Transaction? {
        lockedBucket(Self.bucket(ofHash: key.hash)) { findByKey(key) }
    }

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
        return lockedBucket(Self.bucket(ofNumber: n)) { () -> Transaction? in
            guard let tx = findByNumber(n), tx.hasID(id) else { return nil }
            return tx
        }
    }

    /// The transaction whose label (its number in hex) is `label` and that `accept`s: a
    /// relayed request's, else a local request's (their numbers are counted apart).
    func transaction(label: String, where accept: (Transaction) -> Bool = { _ in true }) -> Transaction? {
        if let n = UInt64(label, radix: 16),
            let tx = lockedBucket(Self.bucket(ofNumber: n), { findByNumber(n) }), tx.label == label,
            accept(tx)
        {
            return tx
        }
        guard let tx = shard(ofTag: label).locked({ $0.byLabel[label] }), accept(tx) else { return nil }
        return tx
    }

    func remove(_ tx: Transaction) {
        let kb = Self.bucket(ofHash: tx.keyHash)
        let removed: Bool = lockedBucket(kb) {
            guard let u = unlinkByKey(tx, bucket: kb) else { return false }
            u.release()
            return true
        }
        if removed { live.subtract(1, ordering: .relaxed) }
        if tx.hasNumberedID {
            let nb = Self.bucket(ofNumber: tx.number)
            lockedBucket(nb) {
                unlinkByNumber(tx, bucket: nb)?.release()
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

    /// Takes `tx` out of key bucket `b` and returns the list's reference to it, or nil when
    /// it is not there (another transaction with its key took its place). Shard lock held.
    private func unlinkByKey(_ tx: Transaction, bucket b: Int) -> Unmanaged<Transaction>? {
        var previous: Unmanaged<Transaction>? = nil
        var next = keyBuckets[b]
        while let u = next {
            if u.toOpaque() == Unmanaged.passUnretained(tx).toOpaque() {
                unlinkByKey(u, previous: previous, bucket: b)
                return u
            }
            previous = u
            next = u._withUnsafeGuaranteedRef { $0.nextByKey }
        }
        return nil
    }

    /// As `unlinkByKey(_:bucket:)`, by number. Shard lock held.
    private func unlinkByNumber(_ tx: Transaction, bucket b: Int) -> Unmanaged<Transaction>? {
        var previous: Unmanaged<Transaction>? = nil
        var next = numberBuckets[b]
        while let u = next {
            if u.toOpaque() == Unmanaged.passUnretained(tx).toOpaque() {
                unlinkByNumber(u, previous: previous, bucket: b)
                return u
            }
            previous = u
            next = u._withUnsafeGuaranteedRef { $0.nextByNumber }
        }
        return nil
    }

    /// Every transaction (for `tm.list`).
    var all: [Transaction] {
        var result: [Transaction] = []
        for i in 0..<Self.shardCount {
            shards[i].locked { _ in
                for b in stride(from: i, to: Self.bucketCount, by: Self.shardCount) {
                    var next = keyBuckets[b]
                    while let u = next {
                        result.append(u.takeUnretainedValue())
                        next = u._withUnsafeGuaranteedRef { $0.nextByKey }
                    }
                }
            }
        }
        return result
    }
}
/// How transactions are matched (Kamailio's `t_lookup.c`).
enum TransactionKey {
    /// The method class of a request: an ACK belongs to its INVITE's transaction, a CANCEL
    /// has its own (found with the INVITE's key).
    static func methodClass(_ m: SIPMethod?, text: @autoclosure () -> String) -> String {
        // A known method's text is its name (methods are classified case-sensitively): a
        // literal, not a string decoded from the request.
        switch m {
        case .invite, .ack: "INVITE"
        case .bye: "BYE"
        case .cancel: "CANCEL"
        case .options: "OPTIONS"
        case .register: "REGISTER"
        case .info: "INFO"
        case .prack: "PRACK"
        case .subscribe: "SUBSCRIBE"
        case .notify: "NOTIFY"
        case .update: "UPDATE"
        case .message: "MESSAGE"
        case .refer: "REFER"
        case .publish: "PUBLISH"
        case .kdmq: "KDMQ"
        default: text()
        }
    }

    /// The key of the request in `ctx` for method class `cls`: the RFC 3261 branch with the
    /// sent-by of the top Via when the branch has the magic cookie, else the RFC 2543 fields
    /// (Call-ID, CSeq number, From tag, Request-URI, top Via). The request has a top Via
    /// (`ctx.via1`): the caller checks (a request without one has no key).
    static func key(_ ctx: MessageContext, methodClass cls: String) -> Probe {
        let msg = ctx.message
        let b = msg.buffer
        guard let via = ctx.via1 else { preconditionFailure("a transaction key without a top Via") }
        if let branch = via.branch?.value, hasMagicCookie(b, branch) {
            return Probe(b, parts: Parts(branch: branch, host: via.host, port: via.port ?? 5060, methodClass: cls))
        }
        let cseq = (try? msg.cseq()).map { String($0.number) } ?? ""
        return Probe(
            text: "2543|" + (msg.callID ?? "") + "|" + cseq + "|" + (msg.fromTag ?? "") + "|"
                + (msg.requestURI ?? "") + "|" + b.tmText(via.range) + "|" + cls)
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

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// One subscription: a row of `active_watchers` (Kamailio's `subs_t`).
struct Subscription: Sendable {
    /// The presentity's URI (`sip:user@domain`).
    var presentityURI: String
    var watcherUser: String
    var watcherDomain: String
    var toUser: String
    var toDomain: String
    var fromUser: String
    var fromDomain: String
    var event: String
    var eventID: String
    var toTag: String
    var fromTag: String
    var callID: String
    var localCSeq: Int
    var remoteCSeq: Int
    /// The watcher's Contact URI (the NOTIFY's Request-URI).
    var contact: String
    /// The SUBSCRIBE's Record-Route set, as the NOTIFY's Route set.
    var recordRoute: String
    /// Unix time at which it expires.
    var expires: Int
    var status: PresenceSubscriptionStatus
    var reason: String
    var version: Int
    /// The receiving socket (`udp:127.0.0.1:5060`).
    var socket: String
    var localContact: String
    var userAgent: String
    var flags: Int

    /// The dialog key.
    var key: SubscriptionKey { SubscriptionKey(callID: callID, toTag: toTag, fromTag: fromTag) }

    /// The watcher's URI (`sip:user@domain`).
    var watcherURI: String { "sip:\(watcherUser)@\(watcherDomain)" }
}

/// What identifies a subscription: its dialog.
struct SubscriptionKey: Hashable, Sendable {
    var callID: String
    var toTag: String
    var fromTag: String
}

/// A pthread mutex for the module's tables.
final class PresenceLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always) func locked<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// The subscriptions in memory (Kamailio's `subs_htable`): by dialog, and by presentity and
/// event for the NOTIFYs of a PUBLISH. `dirty` holds the keys written back in `subs_db_mode`
/// 2; `deleted` those to delete there.
final class SubscriptionTable: @unchecked Sendable {
    private let lock = PresenceLock()
    private var byKey: [SubscriptionKey: Subscription] = [:]
    private var byPresentity: [String: Set<SubscriptionKey>] = [:]
    private(set) var dirty: Set<SubscriptionKey> = []
    private(set) var inserted: Set<SubscriptionKey> = []
    private(set) var deleted: [Subscription] = []

    /// `subs_db_mode` 3: every operation reads and writes `active_watchers`, nothing is kept
    /// in memory (set in mod_init, before the workers run).
    private(set) var database: WatcherDatabase?

    private static func index(_ uri: String, _ event: String) -> String { uri.lowercased() + "\u{0}" + event }

    /// Keeps the subscriptions in the database only (`subs_db_mode` 3).
    func keepInDatabase(_ db: WatcherDatabase) { database = db }

    /// The subscription of a dialog.
    func find(_ key: SubscriptionKey) -> Subscription? {
        if let database { return databaseFind(database, key) }
        return lock.locked { byKey[key] }
    }

    /// Inserts or replaces a subscription; `isNew` marks it for an INSERT in write-back mode.
    func store(_ s: Subscription, isNew: Bool = false, markDirty: Bool = true) {
        if let database { return databaseStore(database, s) }
        lock.locked {
            let k = s.key
            byKey[k] = s
            byPresentity[Self.index(s.presentityURI, s.event), default: []].insert(k)
            if markDirty { dirty.insert(k) }
            if isNew { inserted.insert(k) }
        }
    }

    /// Changes a subscription under the lock; returns it as changed, nil when it is gone.
    @discardableResult
    func update(_ key: SubscriptionKey, markDirty: Bool = true, _ body: (inout Subscription) -> Void) -> Subscription? {
        if let database { return databaseUpdate(database, key, body) }
        return lock.locked {
            guard var s = byKey[key] else { return nil }
            body(&s)
            byKey[key] = s
            if markDirty { dirty.insert(key) }
            return s
        }
    }

    /// Removes a subscription; returns it when it was there.
    @discardableResult
    func remove(_ key: SubscriptionKey, remember: Bool = false) -> Subscription? {
        if let database { return databaseRemove(database, key) }
        return lock.locked {
            guard let s = byKey.removeValue(forKey: key) else { return nil }
            let i = Self.index(s.presentityURI, s.event)
            byPresentity[i]?.remove(key)
            if byPresentity[i]?.isEmpty == true { byPresentity[i] = nil }
            dirty.remove(key)
            if inserted.remove(key) == nil, remember { deleted.append(s) }
            return s
        }
    }

    /// The subscriptions to `uri`'s `event`.
    func watchers(of uri: String, event: String) -> [Subscription] {
        if let database { return databaseWatchers(database, uri, event) }
        return lock.locked { (byPresentity[Self.index(uri, event)] ?? []).compactMap { byKey[$0] } }
    }

    /// Every subscription.
    var all: [Subscription] {
        if let database { return databaseAll(database) }
        return lock.locked { Array(byKey.values) }
    }

    var count: Int {
        if database != nil { return all.count }
        return lock.locked { byKey.count }
    }

    /// Removes and returns the subscriptions that expired before `time`.
    func removeExpired(before time: Int) -> [Subscription] {
        if let database { return databaseRemoveExpired(database, before: time) }
        let keys = lock.locked { byKey.values.filter { $0.expires < time }.map(\.key) }
        return keys.compactMap { remove($0) }
    }

    /// The write-back work: rows to insert, rows to update, rows to delete; clears it.
    func takeChanges() -> (insert: [Subscription], update: [Subscription], delete: [Subscription]) {
        lock.locked {
            let ins = inserted.compactMap { byKey[$0] }
            let upd = dirty.subtracting(inserted).compactMap { byKey[$0] }
            let del = deleted
            inserted = []
            dirty = []
            deleted = []
            return (ins, upd, del)
        }
    }
}

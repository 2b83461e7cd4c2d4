import SwiftletSDK

/// `subs_db_mode` 3 (Kamailio's `DB_ONLY`): the subscription table's operations on
/// `active_watchers` alone. A failing query is logged and answers as if nothing was stored.
extension SubscriptionTable {
    private func logged<R>(_ what: String, _ fallback: R, _ body: () throws(DatabaseError) -> R) -> R {
        do { return try body() } catch {
            Log.error("presence", "\(what) in active_watchers: \(error)")
            return fallback
        }
    }

    func databaseFind(_ db: WatcherDatabase, _ key: SubscriptionKey) -> Subscription? {
        logged("querying subscription", nil) { () throws(DatabaseError) in try db.find(key) }
    }

    func databaseStore(_ db: WatcherDatabase, _ s: Subscription) {
        logged("inserting subscription", ()) { () throws(DatabaseError) in try db.insert(s, now: 0) }
    }

    func databaseUpdate(_ db: WatcherDatabase, _ key: SubscriptionKey, _ body: (inout Subscription) -> Void)
        -> Subscription?
    {
        logged("updating subscription", nil) { () throws(DatabaseError) -> Subscription? in
            guard var s = try db.find(key) else { return nil }
            body(&s)
            try db.update(s, now: 0)
            return s
        }
    }

    func databaseRemove(_ db: WatcherDatabase, _ key: SubscriptionKey) -> Subscription? {
        logged("deleting subscription", nil) { () throws(DatabaseError) -> Subscription? in
            guard let s = try db.find(key) else { return nil }
            try db.delete(key)
            return s
        }
    }

    func databaseWatchers(_ db: WatcherDatabase, _ uri: String, _ event: String) -> [Subscription] {
        logged("querying subscriptions", []) { () throws(DatabaseError) in try db.subscriptions(of: uri, event: event) }
    }

    func databaseAll(_ db: WatcherDatabase) -> [Subscription] {
        logged("querying subscriptions", []) { () throws(DatabaseError) in try db.load() }
    }

    func databaseRemoveExpired(_ db: WatcherDatabase, before time: Int) -> [Subscription] {
        logged("deleting expired subscriptions", []) { () throws(DatabaseError) -> [Subscription] in
            let expired = try db.expired(before: time)
            if !expired.isEmpty { try db.deleteExpired(before: time) }
            return expired
        }
    }
}

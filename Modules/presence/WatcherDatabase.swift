import SwiftletSDK

/// The `active_watchers` and `watchers` tables (Kamailio's column names, table versions 12
/// and 3).
struct WatcherDatabase {
    let db: Database
    let activeTable: String
    let watchersTable: String

    /// The row of `s`, in Kamailio's column names.
    static func row(_ s: Subscription, now: Int) -> [(String, DatabaseValue)] {
        [
            ("presentity_uri", .string(s.presentityURI)), ("watcher_username", .string(s.watcherUser)),
            ("watcher_domain", .string(s.watcherDomain)), ("to_user", .string(s.toUser)),
            ("to_domain", .string(s.toDomain)), ("event", .string(s.event)),
            ("event_id", s.eventID.isEmpty ? .null : .string(s.eventID)), ("to_tag", .string(s.toTag)),
            ("from_tag", .string(s.fromTag)), ("callid", .string(s.callID)), ("local_cseq", .int(s.localCSeq)),
            ("remote_cseq", .int(s.remoteCSeq)), ("contact", .string(s.contact)),
            ("record_route", s.recordRoute.isEmpty ? .null : .string(s.recordRoute)), ("expires", .int(s.expires)),
            ("status", .int(s.status.rawValue)), ("reason", s.reason.isEmpty ? .null : .string(s.reason)),
            ("version", .int(s.version)), ("socket_info", .string(s.socket)),
            ("local_contact", .string(s.localContact)),
            ("from_user", .string(s.fromUser)), ("from_domain", .string(s.fromDomain)), ("updated", .int(-1)),
            ("updated_winfo", .int(-1)), ("flags", .int(s.flags)), ("user_agent", .string(s.userAgent)),
        ]
    }

    private static func keyConditions(_ k: SubscriptionKey) -> [DatabaseCondition] {
        [
            .init("callid", .equal, .string(k.callID)), .init("to_tag", .equal, .string(k.toTag)),
            .init("from_tag", .equal, .string(k.fromTag)),
        ]
    }

    func insert(_ s: Subscription, now: Int) throws(DatabaseError) {
        try db.insert(activeTable, Self.row(s, now: now))
    }

    /// Updates the changing columns of a stored subscription (`update_subs_db`); inserts it
    /// when no row matched.
    func update(_ s: Subscription, now: Int) throws(DatabaseError) {
        let changed = try db.update(
            activeTable,
            set: [
                ("expires", .int(s.expires)), ("remote_cseq", .int(s.remoteCSeq)), ("local_cseq", .int(s.localCSeq)),
                ("version", .int(s.version)), ("status", .int(s.status.rawValue)),
                ("reason", s.reason.isEmpty ? .null : .string(s.reason)), ("contact", .string(s.contact)),
            ], where: Self.keyConditions(s.key))
        if changed == 0, try db.query(activeTable, columns: ["id"], where: Self.keyConditions(s.key)).rows.isEmpty {
            try insert(s, now: now)
        }
    }

    func delete(_ k: SubscriptionKey) throws(DatabaseError) {
        try db.delete(activeTable, where: Self.keyConditions(k))
    }

    /// Deletes the rows that expired before `time`.
    func deleteExpired(before time: Int) throws(DatabaseError) {
        try db.delete(activeTable, where: [.init("expires", .less, .int(time))])
    }

    /// Every stored subscription (`restore_db_subs`).
    func load() throws(DatabaseError) -> [Subscription] { try subscriptions(where: []) }

    /// The stored subscription of a dialog.
    func find(_ k: SubscriptionKey) throws(DatabaseError) -> Subscription? {
        try subscriptions(where: Self.keyConditions(k)).first
    }

    /// The stored subscriptions to `uri`'s `event`.
    func subscriptions(of uri: String, event: String) throws(DatabaseError) -> [Subscription] {
        try subscriptions(where: [
            .init("presentity_uri", .equal, .string(uri)), .init("event", .equal, .string(event)),
        ])
    }

    /// The stored subscriptions that expired before `time`.
    func expired(before time: Int) throws(DatabaseError) -> [Subscription] {
        try subscriptions(where: [.init("expires", .less, .int(time))])
    }

    /// The rows matching `conditions`, ordered by id (insertion order).
    func subscriptions(where conditions: [DatabaseCondition]) throws(DatabaseError) -> [Subscription] {
        let r = try db.query(activeTable, where: conditions, orderBy: "id")
        return r.rows.indices.map { i in
            func text(_ c: String) -> String { r[i, c].textValue ?? "" }
            func int(_ c: String) -> Int { r[i, c].intValue ?? 0 }
            return Subscription(
                presentityURI: text("presentity_uri"), watcherUser: text("watcher_username"),
                watcherDomain: text("watcher_domain"), toUser: text("to_user"), toDomain: text("to_domain"),
                fromUser: text("from_user"), fromDomain: text("from_domain"), event: text("event"),
                eventID: text("event_id"), toTag: text("to_tag"), fromTag: text("from_tag"), callID: text("callid"),
                localCSeq: int("local_cseq"), remoteCSeq: int("remote_cseq"), contact: text("contact"),
                recordRoute: text("record_route"), expires: int("expires"),
                status: PresenceSubscriptionStatus(rawValue: int("status")) ?? .pending, reason: text("reason"),
                version: int("version"), socket: text("socket_info"), localContact: text("local_contact"),
                userAgent: text("user_agent"), flags: int("flags"))
        }
    }

    // MARK: watchers (authorization state)

    private static func watcherConditions(_ presentity: String, _ user: String, _ domain: String, _ event: String)
        -> [DatabaseCondition]
    {
        [
            .init("presentity_uri", .equal, .string(presentity)), .init("watcher_username", .equal, .string(user)),
            .init("watcher_domain", .equal, .string(domain)), .init("event", .equal, .string(event)),
        ]
    }

    /// The stored authorization of a watcher (`ps_get_subs_auth`).
    func watcherStatus(presentity: String, user: String, domain: String, event: String) throws(DatabaseError)
        -> (status: PresenceSubscriptionStatus, reason: String)?
    {
        let r = try db.query(
            watchersTable, columns: ["status", "reason"],
            where: Self.watcherConditions(presentity, user, domain, event))
        guard let row = r.rows.first, let status = PresenceSubscriptionStatus(rawValue: row[0].intValue ?? 0) else {
            return nil
        }
        return (status, row[1].textValue ?? "")
    }

    /// Stores a watcher's authorization (`ps_insert_subs_auth`).
    func insertWatcher(
        presentity: String, user: String, domain: String, event: String, status: PresenceSubscriptionStatus,
        reason: String, now: Int
    ) throws(DatabaseError) {
        try db.insert(
            watchersTable,
            [
                ("presentity_uri", .string(presentity)), ("watcher_username", .string(user)),
                ("watcher_domain", .string(domain)), ("event", .string(event)), ("status", .int(status.rawValue)),
                ("reason", reason.isEmpty ? .null : .string(reason)), ("inserted_time", .int(now)),
            ])
    }

    /// The pending watchers of a presentity's event (`add_waiting_watchers`' query).
    func pendingWatchers(presentity: String, event: String) throws(DatabaseError) -> [(user: String, domain: String)] {
        let r = try db.query(
            watchersTable, columns: ["watcher_username", "watcher_domain"],
            where: [
                .init("presentity_uri", .equal, .string(presentity)), .init("event", .equal, .string(event)),
                .init("status", .equal, .int(PresenceSubscriptionStatus.pending.rawValue)),
            ])
        return r.rows.map { ($0[0].textValue ?? "", $0[1].textValue ?? "") }
    }

    /// Removes pending watchers older than a day (`ps_watchers_db_timer_clean`).
    func cleanPendingWatchers(now: Int) throws(DatabaseError) {
        try db.delete(
            watchersTable,
            where: [
                .init("inserted_time", .less, .int(now - 24 * 3600)),
                .init("status", .equal, .int(PresenceSubscriptionStatus.pending.rawValue)),
            ])
    }
}

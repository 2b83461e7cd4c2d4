import SwiftletSDK

/// One published state: a row of `presentity` (table version 5).
struct Presentity: Sendable {
    var user: String
    var domain: String
    var event: String
    var etag: String
    /// Unix time at which it expires.
    var expires: Int
    var receivedTime: Int
    var body: [UInt8]
    var sender: String
    var priority: Int
    var ruid: String

    var uri: String { "sip:\(user)@\(domain)" }
}

/// The `presentity` table (Kamailio's `ps_db_*` functions).
struct PresentityDatabase {
    let db: Database
    let table: String

    private static func conditions(_ user: String, _ domain: String, _ event: String) -> [DatabaseCondition] {
        [
            .init("domain", .equal, .string(domain)), .init("username", .equal, .string(user)),
            .init("event", .equal, .string(event)),
        ]
    }

    private static func conditions(_ p: Presentity) -> [DatabaseCondition] {
        conditions(p.user, p.domain, p.event) + [.init("etag", .equal, .string(p.etag))]
    }

    func insert(_ p: Presentity) throws(DatabaseError) {
        try db.insert(
            table,
            [
                ("username", .string(p.user)), ("domain", .string(p.domain)), ("event", .string(p.event)),
                ("etag", .string(p.etag)), ("sender", .string(p.sender)), ("body", .blob(p.body)),
                ("received_time", .int(p.receivedTime)), ("priority", .int(p.priority)), ("ruid", .string(p.ruid)),
                ("expires", .int(p.expires)),
            ])
    }

    /// The row with `etag` (SIP-If-Match), if any.
    func find(user: String, domain: String, event: String, etag: String) throws(DatabaseError) -> Presentity? {
        let r = try db.query(
            table, where: Self.conditions(user, domain, event) + [.init("etag", .equal, .string(etag))])
        return Self.presentities(r).first
    }

    /// Refreshes the row of `old` (its etag) with the new etag, expiry and (when not empty)
    /// body; returns the rows changed.
    @discardableResult
    func refresh(_ old: Presentity, etag: String, expires: Int, receivedTime: Int, body: [UInt8]?, sender: String?)
        throws(DatabaseError) -> Int
    {
        var set: [(String, DatabaseValue)] = [
            ("etag", .string(etag)), ("expires", .int(expires)), ("received_time", .int(receivedTime)),
        ]
        if let body, !body.isEmpty { set.append(("body", .blob(body))) }
        if let sender { set.append(("sender", .string(sender))) }
        return try db.update(table, set: set, where: Self.conditions(old))
    }

    func delete(_ p: Presentity) throws(DatabaseError) {
        try db.delete(table, where: Self.conditions(p))
    }

    /// The live publications of a presentity's event, oldest first (`get_p_notify_body`'s query,
    /// `retrieve_order` 0: by received_time).
    func publications(user: String, domain: String, event: String, now: Int) throws(DatabaseError) -> [Presentity] {
        let r = try db.query(table, where: Self.conditions(user, domain, event), orderBy: "received_time")
        return Self.presentities(r).filter { $0.expires < 0 || $0.expires > now }
    }

    /// The rows that expired before `time` (`ps_presentity_db_timer_clean`).
    func expired(before time: Int) throws(DatabaseError) -> [Presentity] {
        let r = try db.query(
            table, where: [.init("expires", .less, .int(time)), .init("expires", .greater, .int(0))])
        return Self.presentities(r)
    }

    /// Every row, or those of one user and domain (`presence.presentity_list`/`_show`).
    func list(user: String? = nil, domain: String? = nil) throws(DatabaseError) -> [Presentity] {
        var c: [DatabaseCondition] = []
        if let user { c.append(.init("username", .equal, .string(user))) }
        if let domain { c.append(.init("domain", .equal, .string(domain))) }
        return Self.presentities(try db.query(table, where: c, orderBy: "id"))
    }

    /// The rows of a result.
    static func presentities(_ r: DatabaseResult) -> [Presentity] {
        r.rows.indices.map { i in
            func text(_ c: String) -> String { r[i, c].textValue ?? "" }
            func int(_ c: String) -> Int { r[i, c].intValue ?? 0 }
            let body = r[i, "body"]
            return Presentity(
                user: text("username"), domain: text("domain"), event: text("event"), etag: text("etag"),
                expires: int("expires"), receivedTime: int("received_time"),
                body: body.bytes ?? Array((body.textValue ?? "").utf8), sender: text("sender"),
                priority: int("priority"), ruid: text("ruid"))
        }
    }
}

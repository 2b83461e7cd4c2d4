import SwiftletSDK

/// The `db` storage (Kamailio's `tps_db_*` in `tps_storage.c`): dialog records are rows of
/// `topos_d`, branch records rows of `topos_t` in the database of `db_url`, with Kamailio's
/// columns, so that Kamailio and Swiftlet can share them. Every worker uses its own
/// connection (`Database`); a statement that fails makes the operation fail (-1).
final class ToposDatabaseStorage: TopologyStorage, @unchecked Sendable {
    let storageName = "db"
    let db: Database
    let dialogExpire: () -> Int
    let branchExpire: () -> Int
    let now: () -> Int

    static let dialogTable = "topos_d"
    static let branchTable = "topos_t"

    init(db: Database, dialogExpire: @escaping () -> Int, branchExpire: @escaping () -> Int, now: @escaping () -> Int) {
        self.db = db
        self.dialogExpire = dialogExpire
        self.branchExpire = branchExpire
        self.now = now
    }

    /// Runs `body`; a database error is logged and gives -1.
    private func run(_ what: String, _ body: () throws(DatabaseError) -> Void) -> Int {
        do {
            try body()
            return 0
        } catch {
            Log.error("topos", "\(what): \(error)")
            return -1
        }
    }

    // MARK: insert (tps_db_insert_dialog, tps_db_insert_branch)

    func insertDialog(_ td: TopologyRecord) -> Int {
        var values: [(String, DatabaseValue)] = [("rectime", .datetime(now()))]
        for (name, field) in TopologyRecord.dialogFields where name != "x_context" {
            values.append((name, .str(td[keyPath: field])))
        }
        values.append(("iflags", .int(td.iflags)))
        if !td.xContext.isEmpty { values.append(("x_context", .str(td.xContext))) }
        return run("failed to store message") { () throws(DatabaseError) in
            try db.insert(Self.dialogTable, values)
        }
    }

    func insertBranch(_ td: TopologyRecord) -> Int {
        var values: [(String, DatabaseValue)] = [("rectime", .datetime(now())), ("direction", .int(td.direction))]
        for (name, field) in TopologyRecord.branchFields where name != "x_context" {
            values.append((name, .str(td[keyPath: field])))
        }
        if !td.xContext.isEmpty { values.append(("x_context", .str(td.xContext))) }
        return run("failed to store message") { () throws(DatabaseError) in
            try db.insert(Self.branchTable, values)
        }
    }

    // MARK: clean (tps_db_clean_dialogs, tps_db_clean_branches)

    func cleanDialogs() -> Int {
        let t = now()
        // Older than dialog_expire; not confirmed (iflags 0: never answered, or ended) and
        // older than branch_expire.
        _ = run("failed to clean expired dialog records") { () throws(DatabaseError) in
            _ = try db.delete(Self.dialogTable, where: [.init("rectime", .lessOrEqual, .datetime(t - dialogExpire()))])
        }
        _ = run("failed to clean expired dialog records") { () throws(DatabaseError) in
            _ = try db.delete(
                Self.dialogTable,
                where: [
                    .init("rectime", .lessOrEqual, .datetime(t - branchExpire())), .init("iflags", .equal, .int(0)),
                ])
        }
        return 0
    }

    func cleanBranches() -> Int {
        let limit = now() - branchExpire()
        _ = run("failed to clean expired branch records") { () throws(DatabaseError) in
            _ = try db.delete(Self.branchTable, where: [.init("rectime", .lessOrEqual, .datetime(limit))])
        }
        return 0
    }

    // MARK: load (tps_db_load_branch, tps_db_load_dialog)

    /// The condition that selects the records of the dialog of `uuid`: `atpsh-...` in
    /// `a_uuid`, `btpsh-...` in `b_uuid`; nil for anything else.
    private static func uuidCondition(_ uuid: String) -> DatabaseCondition? {
        if uuid.hasPrefix("a") { return .init("a_uuid", .equal, .str(uuid)) }
        if uuid.hasPrefix("b") { return .init("b_uuid", .equal, .str(uuid)) }
        return nil
    }

    func loadBranch(_ msg: SIPMessage, _ md: TopologyRecord, mode: Int) -> TopologyLoad {
        var conditions: [DatabaseCondition]
        if mode == 0 {
            // The same transaction, by our Via branch.
            guard !md.xVBranch1.isEmpty else { return .failure }
            conditions = [.init("x_vbranch", .equal, .str(md.xVBranch1))]
        } else {
            // The INVITE (SUBSCRIBE for a SUBSCRIBE or an event NOTIFY) of the dialog, by
            // Call-ID and To-tag.
            let method = (try? msg.cseq().method) ?? .invite
            let subscription = method == .subscribe || (method == .notify && msg.firstHeader(.event) != nil)
            let bTag = md.direction == TopologyRecord.downstream ? md.bTag : md.aTag
            conditions = [
                .init("a_callid", .equal, .str(md.aCallID)), .init("b_tag", .equal, .str(bTag)),
                .init("s_method", .equal, .str(subscription ? "SUBSCRIBE" : "INVITE")),
            ]
            if let c = Self.uuidCondition(md.aUUID.isEmpty ? md.bUUID : md.aUUID) { conditions.append(c) }
        }
        if msg.isRequest && !md.xContext.isEmpty { conditions.append(.init("x_context", .equal, .str(md.xContext))) }
        return load(Self.branchTable, conditions, TopologyRecord.branchFields)
    }

    func loadDialog(_ msg: SIPMessage, _ md: TopologyRecord) -> TopologyLoad {
        let uuid = md.aUUID.isEmpty ? md.bUUID : md.aUUID
        guard !uuid.isEmpty else { return .failure }
        guard let key = Self.uuidCondition(uuid) else {
            Log.error("topos", "invalid dlg uuid provided")
            return .failure
        }
        var conditions = [key]
        if !md.xContext.isEmpty { conditions.append(.init("x_context", .equal, .str(md.xContext))) }
        return load(Self.dialogTable, conditions, TopologyRecord.dialogFields)
    }

    /// The newest row of `table` that matches (the highest `id`), as a record: a branch
    /// written again under the same key (a restarted instance reusing a Via branch) replaces
    /// the older one, as in the other storages.
    private func load(
        _ table: String, _ conditions: [DatabaseCondition],
        _ fields: [(name: String, field: WritableKeyPath<TopologyRecord, String>)]
    ) -> TopologyLoad {
        let result: DatabaseResult
        do {
            result = try db.query(table, where: conditions, orderBy: "id")
        } catch {
            Log.error("topos", "failed to query database: \(error)")
            return .failure
        }
        guard !result.rows.isEmpty else { return .notFound }
        let row = result.rows.count - 1
        var r = TopologyRecord()
        for (name, field) in fields { r[keyPath: field] = result[row, name].textValue ?? "" }
        if case .datetime(let t) = result[row, "rectime"] {
            r.rectime = t
        } else if let s = result[row, "rectime"].textValue {
            r.rectime = DatabaseValue.parseDateTime(s) ?? 0
        }
        if table == Self.dialogTable {
            // Kamailio 5.6 does not read iflags back (a loaded dialog always looks
            // unconfirmed); it is read here.
            r.iflags = result[row, "iflags"].intValue ?? 0
        } else {
            r.direction = result[row, "direction"].intValue ?? 0
        }
        return .found(r)
    }

    // MARK: update (tps_db_update_branch, tps_db_update_dialog, tps_db_end_dialog)

    /// The conditions that select the records of the dialog `sd`: its `a_uuid` (its
    /// `b_uuid` when it has no `atpsh-` one) and its context.
    private static func dialogConditions(_ sd: TopologyRecord) -> [DatabaseCondition]? {
        var conditions: [DatabaseCondition]
        if sd.aUUID.hasPrefix("a") {
            conditions = [.init("a_uuid", .equal, .str(sd.aUUID))]
        } else if !sd.bUUID.isEmpty {
            conditions = [.init("b_uuid", .equal, .str(sd.bUUID))]
        } else {
            Log.error("topos", "no valid dlg uuid")
            return nil
        }
        if !sd.xContext.isEmpty { conditions.append(.init("x_context", .equal, .str(sd.xContext))) }
        return conditions
    }

    func updateBranch(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord, mode: TopologyUpdate) -> Int {
        guard var conditions = Self.dialogConditions(sd) else { return -1 }
        // Kamailio updates every branch of the dialog; only the loaded one is updated here.
        if !sd.xVBranch1.isEmpty { conditions.append(.init("x_vbranch", .equal, .str(sd.xVBranch1))) }
        var set: [(String, DatabaseValue)] = []
        if mode.contains(.contact) {
            if !md.aContact.isEmpty { set.append(("a_contact", .str(md.aContact))) }
            if !md.bContact.isEmpty { set.append(("b_contact", .str(md.bContact))) }
        }
        if mode.contains(.replyAttributes), let code = msg.statusCode, code >= 180, code < 200 {
            set.append(("y_rr", .str(md.bRR)))
            if !md.bTag.isEmpty { set.append(("b_tag", .str(md.bTag))) }
        }
        if set.isEmpty { return 0 }
        return run("failed to do branch db update for [\(md.aUUID)]") { () throws(DatabaseError) in
            _ = try db.update(Self.branchTable, set: set, where: conditions)
        }
    }

    func updateDialog(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord, mode: TopologyUpdate) -> Int {
        guard let conditions = Self.dialogConditions(sd) else { return -1 }
        let t = now()
        let set = TopologyRecord.dialogChanges(msg, md, sd, mode: mode, now: t).map {
            (name, value) -> (String, DatabaseValue) in
            switch name {
            case "iflags": return (name, .int(Int(value) ?? 0))
            case "rectime": return (name, .datetime(Int(value) ?? t))
            default: return (name, .str(value))
            }
        }
        if set.isEmpty { return 0 }
        return run("failed to do dialog db update for [\(md.aUUID)]") { () throws(DatabaseError) in
            _ = try db.update(Self.dialogTable, set: set, where: conditions)
        }
    }

    func endDialog(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord) -> Int {
        guard let conditions = Self.dialogConditions(sd) else { return -1 }
        return run("failed to do db update for [\(md.aUUID)]") { () throws(DatabaseError) in
            _ = try db.update(
                Self.dialogTable, set: [("rectime", .datetime(now())), ("iflags", .int(0))], where: conditions)
        }
    }
}

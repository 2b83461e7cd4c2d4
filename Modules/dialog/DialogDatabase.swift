import SwiftletSDK

/// `db_mode` persistence in the `dialog` and `dialog_vars` tables (Kamailio's
/// dlg_db_handler.c): 1 writes each change at once, 2 every `db_update_period` seconds,
/// 3 at shutdown; dialogs are loaded back at start-up (unless `db_skip_load`).
extension DialogModule {
    /// mod_init: binds `db_url`, checks the table versions and loads the dialogs.
    func openDatabase(_ core: CoreContext) throws {
        guard settings.dbMode != 0 else { return }
        guard !settings.dbURL.isEmpty else { throw FixupError("dialog: db_mode \(settings.dbMode) needs a db_url") }
        do {
            let db = try Database(url: settings.dbURL, core: core)
            database = db
            try db.checkTableVersion(settings.columns.table, version: 7)
            try db.checkTableVersion(settings.columns.varsTable, version: 1)
            if !settings.dbSkipLoad { try loadDialogs(db) }
            db.disconnect()
        } catch {
            throw FixupError("dialog: cannot use the database: \(error)")
        }
    }

    /// Kamailio's `load_dialog_info_from_db`: every stored dialog (with `callID`, only that
    /// Call-ID's) that is not deleted comes back with its remaining lifetime, profiles and
    /// variables. At run time (`dlg_db_load_callid`, `dlg_db_load_extra`) a dialog whose
    /// entry and id are already in memory is skipped. Returns the number loaded.
    @discardableResult
    func loadDialogs(_ db: Database, callID: String? = nil, atRunTime: Bool = false) throws(DatabaseError) -> Int {
        let c = settings.columns
        let result = try db.query(
            c.table, where: callID.map { [DatabaseCondition(c.callID, .equal, .string($0))] } ?? [])
        func column(_ name: String) -> Int? { result.columnIndex(name) }
        let t = now
        var loaded: [Dialog] = []
        for row in result.rows {
            func text(_ name: String) -> String { column(name).flatMap { row[$0].textValue } ?? "" }
            func int(_ name: String) -> Int { column(name).flatMap { row[$0].intValue } ?? 0 }
            guard let state = DialogState(rawValue: int(c.state)), state != .deleted else { continue }
            let timeout = int(c.timeout)
            let d = Dialog(
                hashEntry: UInt32(truncatingIfNeeded: int(c.hashEntry)),
                hashID: UInt32(truncatingIfNeeded: int(c.hashID)),
                callID: text(c.callID), fromURI: text(c.fromURI), toURI: text(c.toURI), requestURI: text(c.requestURI),
                lifetime: timeout <= t ? 1 : timeout - t, initTime: int(c.startTime))
            d.state = state
            d.startTime = int(c.startTime)
            d.tag = LegPair(text(c.fromTag), text(c.toTag))
            d.cseq = LegPair(text(c.fromCSeq), text(c.toCSeq))
            d.contact = LegPair(text(c.fromContact), text(c.toContact))
            d.routeSet = LegPair(text(c.fromRoute), text(c.toRoute))
            d.socket = LegPair(
                LocalSockets.find(listen: text(c.fromSocket)), LocalSockets.find(listen: text(c.toSocket)))
            d.sflags = UInt32(truncatingIfNeeded: int(c.sflags))
            d.iflags = UInt32(truncatingIfNeeded: int(c.iflags))
            d.timeoutRoute = text(c.timeoutRouteName)
            guard Int(d.hashEntry) < table.slots.count else {
                Log.error("dialog", "stored dialog with hash entry \(d.hashEntry) does not fit hash_size")
                continue
            }
            if atRunTime && table.lookup(entry: d.hashEntry, id: d.hashID) != nil {
                let conflict = "conflicting dialog id: \(d.hashEntry)/\(d.hashID) - skipping"
                if callID != nil { Log.warning("dialog", conflict) } else { Log.debug("dialog", conflict) }
                continue
            }
            table.link(d)
            for link in Self.profileLinks(fromJSON: text(c.xdata)) {
                if let p = profiles[link.profile] { self.link(d, p, value: link.value) }
            }
            insertTimer(d, seconds: d.lifetime)
            if state == .confirmed || state == .confirmedWithoutAck { statistics?.active.add(1) }
            if state == .early { statistics?.early.add(1) }
            loaded.append(d)
        }
        if atRunTime && loaded.isEmpty { return 0 }
        let vars = try db.query(c.varsTable)
        let e = vars.columnIndex(c.varsHashEntry)
        let i = vars.columnIndex(c.varsHashID)
        let k = vars.columnIndex(c.varsKey)
        let v = vars.columnIndex(c.varsValue)
        if let e, let i, let k, let v {
            for row in vars.rows {
                guard let entry = row[e].intValue, let id = row[i].intValue, let key = row[k].textValue,
                    let value = row[v].textValue,
                    let d = table.lookup(entry: UInt32(truncatingIfNeeded: entry), id: UInt32(truncatingIfNeeded: id)),
                    !atRunTime || loaded.contains(where: { $0 === d })
                else { continue }
                table.locked(d) { d.variables.append((key, value)) }
            }
        }
        Log.info("dialog", "loaded \(loaded.count) dialogs from the database")
        return loaded.count
    }

    /// The row key of a dialog.
    func key(_ d: Dialog) -> [DatabaseCondition] {
        [
            DatabaseCondition(settings.columns.hashEntry, .equal, .int(Int(d.hashEntry))),
            DatabaseCondition(settings.columns.hashID, .equal, .int(Int(d.hashID))),
        ]
    }

    /// Kamailio's `update_dialog_dbinfo`: a new dialog is inserted whole (with its
    /// variables), a changed one gets its state, timeout, CSeqs and Contacts updated.
    func store(_ d: Dialog) {
        guard let database else { return }
        let c = settings.columns
        let left = secondsLeft(d) ?? 0
        let t = now
        let (row, isNew, changed, varsChanged, variables) = table.locked(d) {
            () -> ([(String, DatabaseValue)], Bool, Bool, Bool, [(key: String, value: String)]) in
            let row: [(String, DatabaseValue)] = [
                (c.hashEntry, .int(Int(d.hashEntry))), (c.hashID, .int(Int(d.hashID))), (c.callID, .string(d.callID)),
                (c.fromURI, .string(d.fromURI)), (c.fromTag, .string(d.tag[0])), (c.toURI, .string(d.toURI)),
                (c.toTag, .string(d.tag[1])), (c.fromSocket, .string(d.socket[0]?.description ?? "")),
                (c.toSocket, .string(d.socket[1]?.description ?? "")), (c.startTime, .int(d.startTime)),
                (c.state, .int(d.state.rawValue)), (c.timeout, .int(t + left)), (c.fromCSeq, .string(d.cseq[0])),
                (c.toCSeq, .string(d.cseq[1])), (c.fromContact, .string(d.contact[0])),
                (c.toContact, .string(d.contact[1])), (c.fromRoute, Self.nullable(d.routeSet[0])),
                (c.toRoute, Self.nullable(d.routeSet[1])), (c.sflags, .int(Int(d.sflags))),
                (c.timeoutRouteName, Self.nullable(d.timeoutRoute)), (c.requestURI, .string(d.requestURI)),
                (c.xdata, Self.nullable(Self.profilesJSON(d.profiles))), (c.iflags, .int(Int(d.iflags))),
            ]
            let stored = (
                row, d.dflags & DialogFlags.new != 0, d.dflags & DialogFlags.changed != 0,
                d.dflags & DialogFlags.changedVars != 0, d.variables
            )
            d.dflags &= ~(DialogFlags.new | DialogFlags.changed | DialogFlags.changedVars)
            return stored
        }
        let state = row[10].1.intValue ?? 0
        do throws(DatabaseError) {
            if state == DialogState.deleted.rawValue {
                return
            }
            if isNew {
                guard state >= DialogState.early.rawValue else { return }
                try database.insert(c.table, row)
                try writeVariables(d, variables)
            } else {
                if changed {
                    try database.update(
                        c.table, set: [row[10], row[11], row[12], row[13], row[14], row[15]], where: key(d))
                }
                if varsChanged { try writeVariables(d, variables) }
            }
        } catch {
            Log.error("dialog", "could not store the dialog in the database: \(error)")
        }
    }

    /// Writes the dialog's variables again (`update_dialog_vars_dbinfo`).
    func writeVariables(_ d: Dialog, _ variables: [(key: String, value: String)]) throws(DatabaseError) {
        guard let database else { return }
        let c = settings.columns
        _ = try database.delete(
            c.varsTable,
            where: [
                DatabaseCondition(c.varsHashEntry, .equal, .int(Int(d.hashEntry))),
                DatabaseCondition(c.varsHashID, .equal, .int(Int(d.hashID))),
            ])
        for v in variables {
            try database.insert(
                c.varsTable,
                [
                    (c.varsHashEntry, .int(Int(d.hashEntry))), (c.varsHashID, .int(Int(d.hashID))),
                    (c.varsKey, .string(v.key)), (c.varsValue, .string(v.value)),
                ])
        }
    }

    /// `db_mode` 1: a variable changed on a stored dialog.
    func storeVariables(_ d: Dialog) {
        let (stored, variables) = table.locked(d) { () -> (Bool, [(key: String, value: String)]) in
            let stored = d.dflags & DialogFlags.new == 0 && d.state.rawValue >= DialogState.confirmedWithoutAck.rawValue
            if stored { d.dflags &= ~DialogFlags.changedVars }
            return (stored, d.variables)
        }
        guard stored else { return }
        do throws(DatabaseError) {
            try writeVariables(d, variables)
        } catch {
            Log.error("dialog", "could not store the dialog variables: \(error)")
        }
    }

    /// A removed dialog leaves the database (`remove_dialog_from_db`).
    func removeFromDatabase(_ d: Dialog) {
        guard let database else { return }
        let c = settings.columns
        do throws(DatabaseError) {
            _ = try database.delete(c.table, where: key(d))
            _ = try database.delete(
                c.varsTable,
                where: [
                    DatabaseCondition(c.varsHashEntry, .equal, .int(Int(d.hashEntry))),
                    DatabaseCondition(c.varsHashID, .equal, .int(Int(d.hashID))),
                ])
        } catch {
            Log.error("dialog", "could not remove the dialog from the database: \(error)")
        }
    }

    /// `db_mode` 2: the changed dialogs, every `db_update_period` seconds.
    func storeChanged() {
        for d in table.all { store(d) }
    }

    /// `db_mode` 2 and 3 at shutdown: every dialog.
    func storeAll() {
        for d in table.all {
            table.locked(d) { d.dflags |= DialogFlags.changed | DialogFlags.changedVars }
            store(d)
        }
    }

    static func nullable(_ s: String) -> DatabaseValue { s.isEmpty ? .null : .string(s) }

    /// The `xdata` column: `{"profiles":[{"name":"p","value":"v"},...]}` (Kamailio's
    /// `dlg_profiles_to_json`); "" without profiles.
    static func profilesJSON(_ links: [ProfileLink]) -> String {
        guard !links.isEmpty else { return "" }
        func quote(_ s: String) -> String {
            var out = "\""
            for ch in s.unicodeScalars {
                switch ch {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default: out.unicodeScalars.append(ch)
                }
            }
            return out + "\""
        }
        let items = links.map { l in
            "{\"name\":" + quote(l.profile) + (l.value.map { ",\"value\":" + quote($0) } ?? "") + "}"
        }
        return "{\"profiles\":[" + items.joined(separator: ",") + "]}"
    }

    /// The profile links of an `xdata` value (`dlg_json_to_profiles`): the `name` and
    /// `value` strings of each object in `profiles`.
    static func profileLinks(fromJSON text: String) -> [ProfileLink] {
        var links: [ProfileLink] = []
        let chars = Array(text.unicodeScalars)
        var i = 0
        var inProfiles = false
        var name: String?
        var value: String?
        var lastKey: String?
        var depth = 0
        func readString() -> String {
            var s = ""
            i += 1
            while i < chars.count, chars[i] != "\"" {
                if chars[i] == "\\", i + 1 < chars.count {
                    i += 1
                    switch chars[i] {
                    case "n": s += "\n"
                    case "r": s += "\r"
                    case "t": s += "\t"
                    default: s.unicodeScalars.append(chars[i])
                    }
                } else {
                    s.unicodeScalars.append(chars[i])
                }
                i += 1
            }
            return s
        }
        while i < chars.count {
            switch chars[i] {
            case "\"":
                let s = readString()
                var j = i + 1
                while j < chars.count, chars[j] == " " { j += 1 }
                if j < chars.count, chars[j] == ":" {
                    lastKey = s
                    if s == "profiles" && depth == 1 { inProfiles = true }
                } else if inProfiles, depth == 3 {
                    if lastKey == "name" { name = s } else if lastKey == "value" { value = s }
                }
            case "{", "[": depth += 1
            case "}", "]":
                if inProfiles, depth == 3, chars[i] == "}", let n = name {
                    links.append(ProfileLink(profile: n, value: value))
                    name = nil
                    value = nil
                }
                depth -= 1
                if depth <= 1 { inProfiles = false }
            default: break
            }
            i += 1
        }
        return links
    }
}

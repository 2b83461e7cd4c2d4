import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The RPCs that find dialogs by Call-ID and tags or by a field match, and act on them:
/// `dlg.list_match`, `dlg.list_match_ctx`, `dlg.briefing`, `dlg.is_alive`,
/// `dlg.terminate_dlg`, `dlg.set_state` (Kamailio 5.6's parameters, faults and results).
extension DialogModule {
    var matchRPCs: [RPCCommand] {
        [
            RPCCommand("dlg.list_match", "List the dialogs matching the key and value") { r throws(RPCError) in
                try self.listMatch(r, context: false)
            },
            RPCCommand("dlg.list_match_ctx", "List in detailed format the dialogs matching the key and value") {
                r throws(RPCError) in try self.listMatch(r, context: true)
            },
            RPCCommand("dlg.briefing", "List the summary of dialog records in memory") { r throws(RPCError) in
                self.briefing(format: (try? r.string(0)) ?? "ftcFT")
            },
            RPCCommand("dlg.is_alive", "Check whether dialog is alive or not") { r throws(RPCError) in
                let (callID, fromTag, toTag) = try Self.dialogKey(
                    r, fault: RPCError(400, "Too few parameters (required callid, from-tag, to-tag)"))
                guard let (d, _) = self.table.search(callID: callID, fromTag: fromTag, toTag: toTag) else {
                    throw RPCError(404, "Dialog not found")
                }
                guard self.table.locked(d, { d.state }) == .confirmed else {
                    throw RPCError(500, "Dialog not in confirmed state")
                }
                return .string("Alive")
            },
            RPCCommand("dlg.terminate_dlg", "End a given dialog based on callid") { r throws(RPCError) in
                let (callID, fromTag, toTag) = try Self.dialogKey(
                    r, fault: RPCError(400, "Need a Callid ,from tag ,to tag"))
                guard let (d, _) = self.table.search(callID: callID, fromTag: fromTag, toTag: toTag) else {
                    throw RPCError(500, "Couldnt find callid in dialog")
                }
                if self.byeAll(d, headers: "") { Log.warning("dialog", "Dialog is terminated callid: '\(callID)'") }
                return .object([])
            },
            RPCCommand("dlg.set_state", "Set state for a dialog based on callid and tags") { r throws(RPCError) in
                let (callID, fromTag, toTag) = try Self.dialogKey(
                    r, fault: RPCError(400, "Need the callid, from tag,to tag and state"))
                let value = (try? r.int(3)) ?? DialogState.deleted.rawValue
                guard let state = DialogState(rawValue: value) else { throw RPCError(500, "Invalid state value") }
                guard let (d, _) = self.table.search(callID: callID, fromTag: fromTag, toTag: toTag) else {
                    throw RPCError(500, "Dialog not found")
                }
                self.forceState(d, state)
                return .string("Done")
            },
        ]
    }

    /// Call-ID, From tag and To tag, the first three parameters of the RPC.
    static func dialogKey(_ r: RPCRequest, fault: RPCError) throws(RPCError) -> (String, String, String) {
        guard let c = try? r.string(0), let f = try? r.string(1), let t = try? r.string(2) else { throw fault }
        return (c, f, t)
    }

    /// `dlg.list_match key op value [limit]`: key `ruri`, `furi`, `turi`, `callid` with op
    /// `eq`, `re` (POSIX extended, case-insensitive), `sw`; key `start_ts` with `gt`, `lt`.
    func listMatch(_ r: RPCRequest, context: Bool) throws(RPCError) -> RPCValue {
        guard let key = try? r.string(0), let op = try? r.string(1), let value = try? r.string(2),
            !key.isEmpty, !op.isEmpty, !value.isEmpty
        else { throw RPCError(500, "Invalid parameters") }
        let field: (Dialog) -> String
        var numeric = false
        switch key {
        case "ruri": field = { $0.requestURI }
        case "furi": field = { $0.fromURI }
        case "turi": field = { $0.toURI }
        case "callid": field = { $0.callID }
        case "start_ts":
            field = { _ in "" }
            numeric = true
        default: throw RPCError(500, "Invalid matching key parameter")
        }
        guard ["eq", "re", "sw", "gt", "lt"].contains(op) else {
            throw RPCError(500, "Invalid matching operator parameter")
        }
        let limit = (try? r.int(3)) ?? 0
        if numeric && !["gt", "lt"].contains(op) {
            throw RPCError(500, "Matching operator not supported with start_ts key")
        }
        if !numeric && ["gt", "lt"].contains(op) { throw RPCError(500, "Matching operator not supported") }
        var regex = regex_t()
        if op == "re" {
            guard regcomp(&regex, value, REG_EXTENDED | REG_ICASE | REG_NEWLINE) == 0 else {
                throw RPCError(500, "Invalid matching value parameter")
            }
        }
        defer { if op == "re" { regfree(&regex) } }
        let bound = numeric ? UInt32(value).map(Int.init) : nil
        var found: [RPCValue] = []
        for d in table.all {
            let matched: Bool
            switch op {
            case "eq": matched = field(d) == value
            case "sw": matched = field(d).hasPrefix(value)
            case "re": matched = regexec(&regex, field(d), 0, nil, 0) == 0
            default:
                let start = table.locked(d) { d.startTime }
                guard let bound else {
                    matched = false
                    break
                }
                matched = op == "gt" ? start > bound : start < bound
            }
            guard matched else { continue }
            found.append(rpcValue(d, context: context))
            if limit > 0 && found.count == limit { break }
        }
        guard !found.isEmpty else { throw RPCError(404, "Not found") }
        return .array(found)
    }

    /// `dlg.briefing [format]`: per dialog `h_entry`, `h_id` and the fields the format's
    /// letters name (f from_uri, t to_uri, c call-id, F from_tag, T to_tag, I init_ts,
    /// S start_ts, E end_ts, s state).
    func briefing(format: String) -> RPCValue {
        .array(
            table.all.map { d in
                table.locked(d) {
                    var members: [(String, RPCValue)] = [
                        ("h_entry", .int(Int(d.hashEntry))), ("h_id", .int(Int(d.hashID))),
                    ]
                    for letter in format {
                        switch letter {
                        case "f": members.append(("from_uri", .string(d.fromURI)))
                        case "t": members.append(("to_uri", .string(d.toURI)))
                        case "c": members.append(("call-id", .string(d.callID)))
                        case "F": members.append(("from_tag", .string(d.tag[0])))
                        case "T": members.append(("to_tag", .string(d.tag[1])))
                        case "I": members.append(("init_ts", .int(d.initTime)))
                        case "S": members.append(("start_ts", .int(d.startTime)))
                        case "E": members.append(("end_ts", .int(d.endTime)))
                        case "s": members.append(("state", .int(d.state.rawValue)))
                        default: break
                        }
                    }
                    return .object(members)
                }
            })
    }

    /// `dlg.set_state`: forces the state; a confirmed dialog set to deleted gets its end time
    /// and leaves the active count, and the clean-up timer removes it `end_timeout` later.
    func forceState(_ d: Dialog, _ state: DialogState) {
        let t = now
        let (old, callID) = table.locked(d) { () -> (DialogState, String) in
            let old = d.state
            if old != .confirmed || state != .deleted {
                Log.warning(
                    "dialog",
                    "updating states for not confirmed dialogs not properly supported yet, use at own risk: '\(d.callID)'"
                )
            }
            d.state = state
            if old == .confirmed && state == .deleted {
                d.initTime = t
                d.endTime = t
            }
            d.dflags |= DialogFlags.changed
            return (old, d.callID)
        }
        if old == .confirmed && state == .deleted { statistics?.active.add(-1) }
        Log.notice(
            "dialog",
            "dialog callid '\(callID)' - state change forced - old: \(old.rawValue) - new: \(state.rawValue)")
    }
}

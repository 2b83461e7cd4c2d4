import SwiftletSDK

/// The RPC commands with Kamailio's parameters, faults and result shapes.
extension DialogModule {
    var rpcs: [RPCCommand] {
        [
            RPCCommand("dlg.list", "Print all dialogs") { _ throws(RPCError) in
                .array(self.table.all.map { self.rpcValue($0, context: false) })
            },
            RPCCommand("dlg.list_ctx", "Print all dialogs with associated context") { _ throws(RPCError) in
                .array(self.table.all.map { self.rpcValue($0, context: true) })
            },
            RPCCommand("dlg.dlg_list", "Print dialog based on callid and fromtag") { r throws(RPCError) in
                try self.dialogList(r, context: false)
            },
            RPCCommand("dlg.dlg_list_ctx", "Print dialog with associated context based on callid and fromtag") {
                r throws(RPCError) in try self.dialogList(r, context: true)
            },
            RPCCommand("dlg.end_dlg", "End a given dialog based on [h_entry] [h_id]") { r throws(RPCError) in
                guard let entry = try? r.int(0), let id = try? r.int(1), entry >= 0, id >= 0 else {
                    throw RPCError(500, "Invalid parameters")
                }
                let headers = (try? r.string(2)) ?? ""
                guard
                    let d = self.table.lookup(
                        entry: UInt32(truncatingIfNeeded: entry), id: UInt32(truncatingIfNeeded: id))
                else { throw RPCError(404, "Dialog not found") }
                _ = self.byeAll(d, headers: headers)
                return .object([])
            },
            RPCCommand(
                "dlg.bridge_dlg",
                "Bridge two SIP addresses in a call using INVITE(hold)-REFER-BYE mechanism:"
                    + " to, from, [outbound SIP proxy]"
            ) { r throws(RPCError) in
                // from, to [, outbound proxy ("." none) [, body ("." the on-hold SDP, "_" none)]]
                guard let from = try? r.string(0), let to = try? r.string(1) else {
                    throw RPCError(500, "Invalid parameters")
                }
                var proxy = ""
                var body: String?
                if let op = try? r.string(2) {
                    if op != "." { proxy = op }
                    if let bd = try? r.string(3), bd != "." { body = bd == "_" ? "" : bd }
                }
                // As Kamailio: no fault when the INVITE cannot be sent (it is logged).
                _ = self.bridge(from: from, to: to, outboundProxy: proxy, body: body)
                return .object([])
            },
            RPCCommand("dlg.profile_get_size", "Returns the number of dialogs belonging to a profile") {
                r throws(RPCError) in
                let name = try r.string(0)
                guard let p = self.profiles[name] else { throw RPCError(404, "Profile not found: \(name)") }
                return .int(p.size(value: try? r.string(1)))
            },
            RPCCommand("dlg.profile_list", "Lists all the dialogs belonging to a profile") { r throws(RPCError) in
                let name = try r.string(0)
                guard let p = self.profiles[name] else { throw RPCError(404, "Profile not found: \(name)") }
                return .array(p.dialogs(value: try? r.string(1)).map { self.rpcValue($0, context: false) })
            },
            RPCCommand("dlg.stats_active", "Get stats about active dialogs") { r throws(RPCError) in
                let own = ((try? r.int(0)) ?? 0) != 0
                var counts = [0, 0, 0, 0]
                for d in self.table.all {
                    let (state, socket) = self.table.locked(d) { (d.state, d.socket[0]) }
                    if own && socket == nil { continue }
                    if state.rawValue <= 4 { counts[state.rawValue - 1] += 1 }
                }
                return .object([
                    ("starting", .int(counts[0])), ("connecting", .int(counts[1])), ("answering", .int(counts[2])),
                    ("ongoing", .int(counts[3])), ("all", .int(counts.reduce(0, +))),
                ])
            },
        ]
    }

    /// `dlg.dlg_list callid [from_tag]`.
    func dialogList(_ r: RPCRequest, context: Bool) throws(RPCError) -> RPCValue {
        let callID = try r.string(0)
        let fromTag = try? r.string(1)
        let found = table.dialogs(callID: callID, fromTag: fromTag)
        if found.count == 1 { return rpcValue(found[0], context: context) }
        return .array(found.map { rpcValue($0, context: context) })
    }

    /// One dialog as Kamailio's `internal_rpc_print_dlg` prints it.
    func rpcValue(_ d: Dialog, context: Bool) -> RPCValue {
        let left = secondsLeft(d)
        let t = now
        return table.locked(d) {
            let duration = d.endTime > 0 ? d.endTime - d.startTime : d.startTime > 0 ? t - d.startTime : 0
            func leg(_ i: Int) -> RPCValue {
                .object([
                    ("tag", .string(d.tag[i])), ("contact", .string(d.contact[i])), ("cseq", .string(d.cseq[i])),
                    ("route_set", .string(d.routeSet[i])), ("socket", .string(d.socket[i]?.description ?? "")),
                ])
            }
            let alive = d.state != .deleted
            let members: [(String, RPCValue)] = [
                ("h_entry", .int(Int(d.hashEntry))), ("h_id", .int(Int(d.hashID))), ("ref", .int(1)),
                ("call-id", .string(d.callID)), ("from_uri", .string(d.fromURI)), ("to_uri", .string(d.toURI)),
                ("state", .int(d.state.rawValue)), ("start_ts", .int(d.startTime)), ("init_ts", .int(d.initTime)),
                ("end_ts", .int(d.endTime)), ("duration", .int(duration)),
                ("timeout", .int(left.map { t + $0 } ?? 0)), ("lifetime", .int(d.lifetime)),
                ("dflags", .int(Int(d.dflags))), ("sflags", .int(Int(d.sflags))), ("iflags", .int(Int(d.iflags))),
                ("caller", leg(0)), ("callee", leg(1)),
                (
                    "profiles",
                    .array(
                        alive
                            ? d.profiles.map { l in
                                l.value.map { .object([(l.profile, .string($0))]) } ?? .string(l.profile)
                            } : [])
                ),
                (
                    "variables",
                    .array(alive ? d.variables.map { .object([($0.key, .string($0.value))]) } : [])
                ),
            ]
            return .object(members)
        }
    }
}

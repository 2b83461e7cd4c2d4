import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The RPC commands with Kamailio's parameters, faults and result shapes.
extension DispatcherModule {
    var rpcs: [RPCCommand] {
        [
            RPCCommand("dispatcher.reload", "Reload dispatcher destination sets") { _ throws(RPCError) in
                try self.reload().get()
                return .string("Ok. Dispatcher successfully reloaded.")
            },
            RPCCommand("dispatcher.list", "Return the content of dispatcher sets") { r throws(RPCError) in
                try self.listRPC(r)
            },
            RPCCommand("dispatcher.set_state", "Set the state of a destination by address") { r throws(RPCError) in
                try self.setStateRPC(r, byDUID: false)
            },
            RPCCommand("dispatcher.set_duid_state", "Set the state of a destination by duid") { r throws(RPCError) in
                try self.setStateRPC(r, byDUID: true)
            },
            RPCCommand(
                "dispatcher.ping_active", "Manage setting on/off the pinging (keepalive) of destinations"
            ) { r throws(RPCError) in
                let old = self.pingActive.load(ordering: .relaxed)
                guard let state = try? r.int(0) else { return .object([("OldPingState", .int(old))]) }
                self.pingActive.store(state, ordering: .relaxed)
                return .object([("NewPingState", .int(state)), ("OldPingState", .int(old))])
            },
            RPCCommand("dispatcher.add", "Add a destination address in memory") { r throws(RPCError) in
                try self.checkReloadDelta()
                guard let group = try? r.int(0), let dest = try? r.string(1) else {
                    throw RPCError(500, "Invalid Parameters")
                }
                let flags = (try? r.int(2)) ?? 0
                let priority = (try? r.int(3)) ?? 0
                let attrs = (try? r.string(4)) ?? ""
                guard self.addDestination(group: group, uri: dest, flags: flags, priority: priority, attrs: attrs)
                else {
                    throw RPCError(500, "Adding dispatcher dst failed")
                }
                return .string("Ok. Dispatcher destination added.")
            },
            RPCCommand("dispatcher.remove", "Remove a destination address from memory") { r throws(RPCError) in
                try self.checkReloadDelta()
                guard let group = try? r.int(0), let dest = try? r.string(1) else {
                    throw RPCError(500, "Invalid Parameters")
                }
                guard self.removeDestination(group: group, uri: dest) else {
                    throw RPCError(500, "Removing dispatcher dst failed")
                }
                return .string("Ok. Dispatcher destination removed.")
            },
            RPCCommand("dispatcher.hash", "Compute the hash if the values") { r throws(RPCError) in
                guard let slots = try? r.int(0), let v1 = try? r.string(1) else {
                    throw RPCError(500, "Invalid Parameters")
                }
                let v2 = try? r.string(2)
                let h = DSHash.hash(Array(v1.utf8), v2.map { Array($0.utf8) })
                return .object([("hashid", .int(Int(h))), ("slot", .int(slots > 0 ? Int(h % UInt32(slots)) : 0))])
            },
        ]
    }

    /// `reload_delta` also guards `dispatcher.add` and `dispatcher.remove`, as in Kamailio.
    func checkReloadDelta() throws(RPCError) {
        let now = time(nil)
        let ok = reloadTime.withLock { last -> Bool in
            if last != 0 && last > now - settings.reloadDelta { return false }
            last = now
            return true
        }
        guard ok else {
            Log.error("dispatcher", "ongoing reload")
            throw RPCError(500, "Ongoing reload")
        }
    }

    /// `dispatcher.list [short|full]` → `{NRSETS, RECORDS: [{SET: {ID, TARGETS: [{DEST: {...}}]}}]}`.
    func listRPC(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        let mode = ((try? r.string(0)) ?? "").lowercased()
        let current = list.withLock { $0 }
        guard !current.isEmpty else { throw RPCError(500, "No Destination Sets") }
        let records: [RPCValue] = current.sets.map { set in
            let targets: [RPCValue] = set.destinations.map { d in
                var dest: [(String, RPCValue)] = [
                    ("URI", .string(d.uri)), ("FLAGS", .string(DSState.letters(d.flags))),
                    ("PRIORITY", .int(d.priority)),
                ]
                if mode == "full" {
                    dest += [
                        ("HOST", .string(d.host)), ("IPADDR", .string(d.address?.ipString ?? "")),
                        ("PORT", .int(d.port)),
                        ("PROTOID", .int(Self.protoID(d.proto))), ("DNSTIME_SEC", .int(d.dnsTime.sec)),
                        ("DNSTIME_USEC", .int(d.dnsTime.usec)),
                    ]
                }
                if mode != "short" && !d.attrs.body.isEmpty {
                    dest.append(
                        (
                            "ATTRS",
                            .object([
                                ("BODY", .string(d.attrs.body)), ("DUID", Self.orNull(d.attrs.duid)),
                                ("MAXLOAD", .int(d.attrs.maxload)), ("WEIGHT", .int(d.attrs.weight)),
                                ("RWEIGHT", .int(d.attrs.rweight)), ("SOCKET", Self.orNull(d.attrs.socket)),
                                ("SOCKNAME", Self.orNull(d.attrs.sockname)), ("OBPROXY", Self.orNull(d.attrs.obproxy)),
                            ])
                        ))
                }
                if settings.pingLatencyStats != 0 {
                    dest.append(
                        (
                            "LATENCY",
                            .object([
                                ("AVG", .double(Double(d.latency.average))), ("STD", .double(Double(d.latency.stdev))),
                                ("EST", .double(Double(d.latency.estimate))), ("MAX", .int(d.latency.max)),
                                ("TIMEOUT", .int(d.latency.timeout)),
                            ])
                        ))
                }
                if settings.hashSize > 0 { dest.append(("RUNTIME", .object([("DLGLOAD", .int(d.dload))]))) }
                return .object([("DEST", .object(dest))])
            }
            return .object([("SET", .object([("ID", .int(set.id)), ("TARGETS", .array(targets))]))])
        }
        return .object([("NRSETS", .int(current.sets.count)), ("RECORDS", .array(records))])
    }

    /// An attribute Kamailio did not find is a null string (JSON `null`).
    static func orNull(_ s: String) -> RPCValue { s.isEmpty ? .null : .string(s) }

    /// Kamailio's protocol numbers (`PROTO_UDP` 1 ... `PROTO_WSS` 6; 0 for none).
    static func protoID(_ p: TransportProtocol?) -> Int {
        switch p {
        case nil: 0
        case .udp: 1
        case .tcp: 2
        case .tls: 3
        case .sctp: 4
        case .ws: 5
        case .wss: 6
        }
    }

    /// `dispatcher.set_state state group address|all` (state `a`/`1`, `i`/`0`, `d`/`2`,
    /// `t`/`3`, a second letter `p` adds probing).
    func setStateRPC(_ r: RPCRequest, byDUID: Bool) throws(RPCError) -> RPCValue {
        guard let state = try? r.string(0), let group = try? r.int(1), let dest = try? r.string(2) else {
            throw RPCError(500, "Invalid Parameters")
        }
        guard let first = state.first else { throw RPCError(500, "Invalid State Parameter") }
        let probing = state.count > 1 && Array(state)[1].lowercased() == "p"
        var value = 0
        switch first {
        case "0", "I", "i": value = DSState.inactive | (probing ? DSState.probing : 0)
        case "1", "A", "a": value = probing ? DSState.probing : 0
        case "2", "D", "d": value = DSState.disabled
        case "3", "T", "t": value = DSState.trying | (probing ? DSState.probing : 0)
        default: throw RPCError(500, "Unknown State Value")
        }
        if dest == "all" {
            _ = reinitState(group: group, uri: nil, duid: nil, state: value)
        } else if !reinitState(group: group, uri: byDUID ? nil : dest, duid: byDUID ? dest : nil, state: value) {
            throw RPCError(500, "State Update Failed")
        }
        return .string("Ok. Dispatcher state updated.")
    }

    /// Kamailio's `ds_add_dst`: the list rebuilt with every destination (states reset, loads
    /// kept) plus the new one.
    func addDestination(group: Int, uri: String, flags: Int, priority: Int, attrs: String) -> Bool {
        rebuild(adding: (group, uri, flags, priority, attrs), removing: nil)
    }

    /// Kamailio's `ds_remove_dst`.
    func removeDestination(group: Int, uri: String) -> Bool {
        guard
            let packed = try? DSListBuilder.pack(
                uri: uri, flags: 0, priority: 0, attrs: "", dload: 0, settings: builderSettings)
        else {
            Log.error("dispatcher", "failed to pack address: \(group) \(uri)")
            return false
        }
        return rebuild(adding: nil, removing: (group, packed.uri))
    }

    private func rebuild(
        adding: (Int, String, Int, Int, String)?, removing: (Int, String)?
    ) -> Bool {
        let current = list.withLock { $0 }
        var builder = DSListBuilder(builderSettings)
        // Kamailio re-adds each set's destinations in its array order, so priorities and the
        // reversal apply again.
        for set in current.sets {
            for d in set.destinations {
                if let removing, removing.0 == set.id, removing.1 == d.uri { continue }
                do {
                    try builder.add(
                        set: set.id, uri: d.uri, flags: d.flags, priority: d.priority, attrs: d.attrs.body,
                        dload: d.dload)
                } catch {
                    Log.warning("dispatcher", "failed to add destination in group \(set.id) - \(d.uri)")
                }
            }
        }
        if let adding {
            do {
                try builder.add(set: adding.0, uri: adding.1, flags: adding.2, priority: adding.3, attrs: adding.4)
            } catch {
                Log.warning("dispatcher", "unable to add destination \(adding.1) to set \(adding.0)")
                if settings.loadMode == 1 { return false }
            }
        }
        install(builder.build())
        return true
    }
}

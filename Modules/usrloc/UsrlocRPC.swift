import SwiftletSDK

/// usrloc's RPCs with Kamailio's names, parameters, structure and fault texts
/// (`ul_rpc.c`).
struct UsrlocRPC {
    let module: UsrlocModule

    /// The Call-ID, User-Agent and CSeq `ul.add` gives its contacts.
    static let rpcCallID = "dfjrewr12386fd6-343@kamailio.rpc"
    static let rpcUserAgent = "SIP Router - RPC Server"
    static let rpcCSeq = 1

    var commands: [RPCCommand] {
        let m = module
        return [
            RPCCommand("ul.dump", "Dump user location tables") { (r: RPCRequest) throws(RPCError) in
                Self.dump(m, brief: r.params.count > 0 && (try? r.string(0)) == "brief")
            },
            RPCCommand("ul.lookup", "Lookup one AOR in the usrloc location table") {
                (r: RPCRequest) throws(RPCError) in try Self.lookup(m, r)
            },
            RPCCommand("ul.rm", "Delete an address of record including its contacts") {
                (r: RPCRequest) throws(RPCError) in try Self.remove(m, r)
            },
            RPCCommand("ul.rm_contact", "Delete a contact from an AOR record") {
                (r: RPCRequest) throws(RPCError) in try Self.removeContact(m, r)
            },
            RPCCommand("ul.flush", "Flush the usrloc memory cache to DB") { (_: RPCRequest) throws(RPCError) in
                guard m.flush() else { throw RPCError(500, "Operation failed") }
                return .null
            },
            RPCCommand("ul.add", "Add a new contact for an address of record") {
                (r: RPCRequest) throws(RPCError) in try Self.add(m, r)
            },
        ]
    }

    static func table(_ m: UsrlocModule, _ r: RPCRequest, parameters n: Int, _ missing: String) throws(RPCError)
        -> (LocationTable, String)
    {
        guard r.params.count >= n else { throw RPCError(500, missing) }
        let name = try r.string(0)
        guard let t = m.table(named: name) else { throw RPCError(500, "Domain table not found") }
        guard let aor = m.rpcAoR(try r.string(1)) else { throw RPCError(500, "Domain missing in AOR") }
        return (t, aor)
    }

    static func dump(_ m: UsrlocModule, brief: Bool) -> RPCValue {
        let now = m.now()
        let domains: [RPCValue] = m.allTables.map { t in
            let aors: [RPCValue] = t.records().sorted { $0.aor < $1.aor }.map { rec in
                if brief { return .object([("AoR", .string(rec.aor))]) }
                return .object([
                    (
                        "Info",
                        .object([
                            ("AoR", .string(rec.aor)), ("HashID", .int(Int(rec.aorHash))),
                            ("Contacts", .array(rec.contacts.map { contact($0, now: now) })),
                        ])
                    )
                ])
            }
            let stats = t.slotStatistics()
            return .object([
                (
                    "Domain",
                    .object([
                        ("Domain", .string(t.name)), ("Size", .int(t.slots.count)), ("AoRs", .array(aors)),
                        ("Stats", .object([("Records", .int(stats.records)), ("Max-Slots", .int(stats.maxSlot))])),
                    ])
                )
            ])
        }
        return .object([("Domains", .array(domains))])
    }

    /// One contact as `rpc_dump_contact` prints it.
    static func contact(_ c: UsrlocContact, now: Int) -> RPCValue {
        let notSet = "[not set]"
        let expires: RPCValue =
            c.expires == 0 ? .string("permanent") : (now > c.expires ? .string("expired") : .int(c.expires - now))
        let fields: [(String, RPCValue)] = [
            ("Address", .string(c.address)), ("Expires", expires),
            ("Q", c.q == -1 ? .int(-1) : .double(Double(c.q) / 1000)),
            ("Call-ID", .string(c.callID)), ("CSeq", .int(c.cseq)),
            ("User-Agent", .string(c.userAgent.isEmpty ? notSet : c.userAgent)),
            ("Received", .string(c.received.isEmpty ? notSet : c.received)),
            ("Path", .string(c.path.isEmpty ? notSet : c.path)), ("State", .string("CS_NEW")),
            ("Flags", .int(Int(c.flags))), ("CFlags", .int(Int(c.cflags))),
            ("Socket", .string(c.socket.isEmpty ? notSet : c.socket)), ("Methods", .int(Int(c.methods))),
            ("Ruid", .string(c.ruid.isEmpty ? notSet : c.ruid)),
            ("Instance", .string(c.instance.isEmpty ? notSet : c.instance)), ("Reg-Id", .int(c.regID)),
            ("Server-Id", .int(c.serverID)), ("Tcpconn-Id", .int(c.connectionID)), ("Keepalive", .int(c.keepalive)),
            ("Last-Keepalive", .int(c.lastModified)), ("KA-Roundtrip", .int(0)),
            ("Last-Modified", .int(c.lastModified)),
        ]
        return .object([("Contact", .object(fields))])
    }

    static func lookup(_ m: UsrlocModule, _ r: RPCRequest) throws(RPCError) -> RPCValue {
        let (t, aor) = try table(m, r, parameters: 2, "Not enough parameters (table and AOR to lookup)")
        guard let rec = t.record(aor) else { throw RPCError(500, "AOR not found in location table") }
        let now = m.now()
        let valid = rec.contacts.filter { $0.isValid(at: now) }
        guard !valid.isEmpty else { throw RPCError(500, "AOR has no contacts") }
        return .object([("AoR", .string(aor)), ("Contacts", .array(valid.map { contact($0, now: now) }))])
    }

    static func remove(_ m: UsrlocModule, _ r: RPCRequest) throws(RPCError) -> RPCValue {
        let (t, aor) = try table(m, r, parameters: 2, "Not enough parameters (table and AOR to lookup)")
        t.removeRecord(aor)
        return .null
    }

    static func removeContact(_ m: UsrlocModule, _ r: RPCRequest) throws(RPCError) -> RPCValue {
        let (t, aor) = try table(m, r, parameters: 3, "Not enough parameters (table, AOR and contact)")
        let address = try r.string(2)
        guard t.record(aor) != nil else { throw RPCError(404, "AOR not found") }
        let removed = t.update(aor) { contacts -> Bool in
            guard let i = contacts.firstIndex(where: { $0.address == address }) else { return false }
            contacts.remove(at: i)
            return true
        }
        switch removed {
        case .success(true): return .null
        case .success(false): throw RPCError(404, "Contact not found")
        case .failure: throw RPCError(500, "Internal error (can't delete contact)")
        }
    }

    /// `ul.add table aor contact expires q path flags cflags methods [received [socket]]`.
    static func add(_ m: UsrlocModule, _ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard r.params.count >= 9 else { throw RPCError(500, "Not enough parameters or wrong format") }
        let (t, aor) = try table(m, r, parameters: 9, "Not enough parameters or wrong format")
        let address = try r.string(2)
        let expires = try r.int(3)
        let q: Double
        switch r.params[4] {
        case .double(let d): q = d
        case .int(let i): q = Double(i)
        case .string(let s): q = Double(s) ?? -1
        default: throw RPCError(500, "Not enough parameters or wrong format")
        }
        let path = try r.string(5)
        let flags = try r.int(6)
        let cflags = try r.int(7)
        let methods = try r.int(8)
        let received = r.params.count > 9 ? try r.string(9) : ""
        let socket = r.params.count > 10 ? try r.string(10) : ""
        let now = m.now()
        var c = UsrlocContact(
            address: address, ruid: m.newRUID(), expires: expires == 0 ? 0 : now + expires,
            q: q < 0 ? UsrlocContact.qUnspecified : Int((q * 1000).rounded()), callID: rpcCallID, cseq: rpcCSeq,
            flags: UInt32(truncatingIfNeeded: flags), cflags: UInt32(truncatingIfNeeded: cflags),
            path: isSet(path) ? path : "", received: isSet(received) ? received : "",
            methods: UInt32(truncatingIfNeeded: methods), userAgent: rpcUserAgent, lastModified: now)
        if isSet(socket) { c.socket = LocalSockets.find(listen: socket)?.socketString ?? "" }
        let result = t.update(aor) { contacts in
            if let i = contacts.firstIndex(where: { $0.address == address }) {
                c.ruid = contacts[i].ruid
                contacts[i] = c
            } else {
                contacts.append(c)
            }
        }
        if case .failure = result { throw RPCError(500, "Can't insert contact") }
        return .null
    }

    /// Kamailio's `ul_rpc_is_param_set`: "", "." and "0" mean not given.
    static func isSet(_ p: String) -> Bool { !(p.isEmpty || p == "." || p == "0") }
}

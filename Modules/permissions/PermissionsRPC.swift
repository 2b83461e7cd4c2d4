import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The RPCs of Kamailio's permissions module (`rpc.c`, `hash.c`'s `*_rpc_print`), with
/// their names, structure and fault texts.
extension PermissionsModule {
    var rpcs: [RPCCommand] {
        let testUri: @Sendable (RPCRequest) throws(RPCError) -> RPCValue = { r throws(RPCError) in
            guard r.params.count >= 3 else {
                throw RPCError(500, "Not enough parameters (basename, URI and contact)")
            }
            return .string(
                self.allowTest(basename: try r.string(0), uri: try r.string(1), contact: try r.string(2))
                    ? "Allowed" : "Denied")
        }
        return [
            RPCCommand("permissions.trustedReload", "Reload permissions trusted table") {
                (_: RPCRequest) throws(RPCError) in
                try self.checkReload()
                guard self.reloadTrusted() else { throw RPCError(500, "Reload failed.") }
                return .string("Reload OK")
            },
            RPCCommand("permissions.addressReload", "Reload permissions address table") {
                (_: RPCRequest) throws(RPCError) in
                try self.checkReload()
                guard self.reloadAddresses() else { throw RPCError(500, "Reload failed.") }
                return .string("Reload OK")
            },
            RPCCommand("permissions.trustedDump", "Dump permissions trusted table") {
                (_: RPCRequest) throws(RPCError) in
                guard let t = self.trusted.withLock({ $0 }) else { throw RPCError(500, "No trusted table") }
                return Self.dump(t)
            },
            RPCCommand("permissions.addressDump", "Dump permissions address table") {
                (_: RPCRequest) throws(RPCError) in
                guard let t = self.addresses.withLock({ $0 }) else { throw RPCError(500, "No address table") }
                return Self.dumpAddresses(t)
            },
            RPCCommand("permissions.subnetDump", "Dump permissions subnet table") { (_: RPCRequest) throws(RPCError) in
                guard let t = self.addresses.withLock({ $0 }) else { throw RPCError(500, "No subnet table") }
                return Self.dumpSubnets(t)
            },
            RPCCommand("permissions.domainDump", "Dump permissions domain name table") {
                (_: RPCRequest) throws(RPCError) in
                guard let t = self.addresses.withLock({ $0 }) else { throw RPCError(500, "No domain list table") }
                return Self.dumpDomains(t)
            },
            RPCCommand(
                "permissions.testUri", "Tests if (URI, Contact) pair is allowed according to allow/deny files",
                handler: testUri),
            RPCCommand(
                "permissions.allowUri", "Tests if (URI, Contact) pair is allowed according to allow/deny files",
                handler: testUri),
        ]
    }

    /// `rpc_check_reload`: refused within `reload_delta` seconds of the last reload.
    func checkReload() throws(RPCError) {
        let now = Int(time(nil))
        let ok = reloadTime.withLock { last -> Bool in
            if last != 0 && last > now - reloadDelta { return false }
            last = now
            return true
        }
        guard ok else {
            Log.error("permissions", "ongoing reload")
            throw RPCError(500, "ongoing reload")
        }
    }

    /// `hash_table_rpc_print`: one struct with a `table` and an `item` member per row.
    static func dump(_ t: TrustedTable) -> RPCValue {
        var members: [(String, RPCValue)] = []
        for (i, bucket) in t.buckets.enumerated() {
            for p in bucket {
                members.append(("table", .int(i)))
                members.append(
                    (
                        "item",
                        .object([
                            ("ip", .string(p.sourceIP)), ("proto", .int(p.proto)),
                            ("pattern", .string(p.fromPattern ?? "NULL")),
                            ("ruri_pattern", .string(p.ruriPattern ?? "NULL")),
                            ("tag", .string(p.tag.flatMap { $0.isEmpty ? nil : $0 } ?? "NULL")),
                            ("priority", .int(p.priority)),
                        ])
                    ))
            }
        }
        return .object(members)
    }

    /// `addr_hash_table_rpc_print`: an array of `{table, group, item: {ip, port, tag}}`.
    static func dumpAddresses(_ t: AddressTables) -> RPCValue {
        var out: [RPCValue] = []
        for (i, bucket) in t.addresses.enumerated() {
            for a in bucket {
                out.append(
                    .object([
                        ("table", .int(i)), ("group", .int(a.group)),
                        (
                            "item",
                            .object([
                                ("ip", .string(a.ip.text)), ("port", .int(a.port)),
                                ("tag", .string(a.tag.flatMap { $0.isEmpty ? nil : $0 } ?? "NULL")),
                            ])
                        ),
                    ]))
            }
        }
        return .array(out)
    }

    /// `subnet_table_rpc_print`: an array of `{id, group, item: {ip, mask, port, tag}}`.
    static func dumpSubnets(_ t: AddressTables) -> RPCValue {
        .array(
            t.subnets.enumerated().map { i, s in
                .object([
                    ("id", .int(i)), ("group", .int(s.group)),
                    (
                        "item",
                        .object([
                            ("ip", .string(s.ip.text)), ("mask", .int(s.mask)), ("port", .int(s.port)),
                            ("tag", .string(s.tag ?? "")),
                        ])
                    ),
                ])
            })
    }

    /// `domain_name_table_rpc_print`: one struct with `table`, `group` and `item` members per name.
    static func dumpDomains(_ t: AddressTables) -> RPCValue {
        var members: [(String, RPCValue)] = []
        for (i, bucket) in t.domains.enumerated() {
            for d in bucket {
                members += [
                    ("table", .int(i)), ("group", .int(d.group)),
                    (
                        "item",
                        .object([
                            ("domain_name", .string(d.name)), ("port", .int(d.port)),
                            ("tag", .string(d.tag.flatMap { $0.isEmpty ? nil : $0 } ?? "NULL")),
                        ])
                    ),
                ]
            }
        }
        return .object(members)
    }
}

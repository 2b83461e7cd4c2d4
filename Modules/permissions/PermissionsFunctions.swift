import SwiftletSDK
import SwiftletSIP

/// The address and trusted-peer functions of Kamailio's `permissions.c` `cmds[]`
/// (`address.c`, `trusted.c`).
extension PermissionsModule {
    var functions: [ScriptFunction] {
        [
            ScriptFunction("allow_source_address", parameters: 0...1, routes: .any) { args throws(FixupError) in
                let group = args.isEmpty ? IntParameter.constant(1) : try args[0].intParameter()
                return { ctx in
                    guard let g = group.value(ctx) else {
                        Log.error("permissions", "cannot get group value")
                        return -1
                    }
                    return self.allowSourceAddress(ctx, group: g)
                }
            },
            ScriptFunction("allow_address", parameters: 3, routes: .any) { args throws(FixupError) in
                let group = try args[0].intParameter()
                let address = try args[1].stringFormat()
                let port = try args[2].intParameter()
                return { ctx in
                    guard let g = group.value(ctx) else {
                        Log.error("permissions", "cannot get group value")
                        return -1
                    }
                    guard let p = port.value(ctx) else {
                        Log.error("permissions", "cannot get value of port pvar")
                        return -1
                    }
                    return self.allowAddress(ctx, group: g, address: address.render(ctx), port: p)
                }
            },
            ScriptFunction("allow_source_address_group", parameters: 0, routes: .any) { _ throws(FixupError) in
                { ctx in self.addressGroup(ctx, address: ctx.receive.sourceIP, port: ctx.receive.sourcePort) }
            },
            ScriptFunction("allow_address_group", parameters: 2, routes: .any) { args throws(FixupError) in
                let address = try args[0].stringFormat()
                let port = try args[1].intParameter()
                return { ctx in
                    guard let p = port.value(ctx) else {
                        Log.error("permissions", "cannot get value of port pvar")
                        return -1
                    }
                    return self.addressGroup(ctx, address: address.render(ctx), port: p)
                }
            },
            ScriptFunction("allow_trusted", parameters: 0...3, routes: .any) { args throws(FixupError) in
                guard args.count != 1 else { throw FixupError("permissions: allow_trusted takes 0, 2 or 3 parameters") }
                if args.isEmpty {
                    return { ctx in
                        let ip = IPAddress(ctx.receive.sourceIP)?.text ?? ctx.receive.sourceIP
                        return self.allowTrusted(
                            ctx, sourceIP: ip, proto: TrustedProto.number(ctx.receive.proto), from: Self.fromURI(ctx))
                    }
                }
                let ip = try args[0].stringFormat()
                let proto = try args[1].stringFormat()
                let from = args.count > 2 ? try args[2].stringFormat() : nil
                return { ctx in
                    let p = proto.render(ctx)
                    guard let n = TrustedProto.number(p), n >= 0 else {
                        Log.error("permissions", "unknown protocol \(p)")
                        return -1
                    }
                    return self.allowTrusted(
                        ctx, sourceIP: ip.render(ctx), proto: n, from: from?.render(ctx) ?? Self.fromURI(ctx))
                }
            },
        ] + ruleFunctions
    }

    /// The From URI as written in the header ("" when there is none).
    static func fromURI(_ ctx: MessageContext) -> String {
        guard let na = try? ctx.message.from() else { return "" }
        return String(decoding: ctx.message.buffer[na.uri], as: UTF8.self)
    }

    /// `allow_source_address(group)`: the source IP and port in the group's addresses or
    /// subnets; 1 or -1.
    func allowSourceAddress(_ ctx: MessageContext, group: Int) -> Int {
        guard let ip = IPAddress(ctx.receive.sourceIP) else { return -1 }
        guard let tag = addresses.withLock({ $0?.match(group: group, ip: ip, port: ctx.receive.sourcePort) }) else {
            return -1
        }
        addTag(ctx, tag)
        return 1
    }

    /// `allow_address(group, address, port)`: an IP in the group's addresses or subnets, or a
    /// name in its domain names; 1 or -1.
    func allowAddress(_ ctx: MessageContext, group: Int, address: String, port: Int) -> Int {
        guard let tag = addresses.withLock({ $0?.match(group: group, address: address, port: port) }) else {
            return -1
        }
        addTag(ctx, tag)
        return 1
    }

    /// `allow_source_address_group()`, `allow_address_group(address, port)`: the group of the
    /// first entry that matches, or -1.
    func addressGroup(_ ctx: MessageContext, address: String, port: Int) -> Int {
        guard let found = addresses.withLock({ $0?.findGroup(address: address, port: port) }) else { return -1 }
        addTag(ctx, found.tag)
        return found.group
    }

    /// `allow_trusted`: the peers of `sourceIP` over `proto` (0: any) whose From pattern
    /// matches `from` and Request-URI pattern the message's Request-URI (as received). 1
    /// (with `peer_tag_mode` the number of matches; each match's tag goes to `peer_tag_avp`),
    /// or -1.
    func allowTrusted(_ ctx: MessageContext, sourceIP: String, proto: Int, from: String) -> Int {
        let ruri = ctx.message.requestURI ?? ""
        let peers: [TrustedPeer]
        if dbMode == 0 {
            guard let db else {
                Log.error("permissions", "no connection to database")
                return -1
            }
            let r: DatabaseResult
            do {
                r = try db.query(
                    trustedTable, columns: [protoColumn, fromColumn, ruriColumn, tagColumn],
                    where: [DatabaseCondition(sourceColumn, .equal, .string(sourceIP))], orderBy: priorityColumn)
            } catch {
                Log.error("permissions", "failed to query database: \(error)")
                return -1
            }
            peers = r.rows.compactMap { row in
                // match_proto: "any" in the row, or the message's protocol by name; rows with
                // "none" or an unknown protocol never match (as with the cache).
                guard let p = row[0].textValue, let n = TrustedProto.number(p), n >= 0 else { return nil }
                guard proto == 0 || n == 0 || n == proto else { return nil }
                return TrustedPeer(
                    sourceIP: sourceIP, proto: n, fromPattern: row[1].textValue, ruriPattern: row[2].textValue,
                    tag: row[3].textValue, priority: 0)
            }
        } else {
            guard let t = trusted.withLock({ $0 }) else { return -1 }
            peers = t.candidates(sourceIP, proto: proto)
        }
        var count = 0
        for p in peers where p.accepts(from: from, ruri: ruri) {
            addTag(ctx, p.tag)
            if peerTagMode == 0 { return 1 }
            count += 1
        }
        return count == 0 ? -1 : count
    }
}

import SwiftletSDK

/// nathelper's Contact edits: `fix_nated_contact`, `set_contact_alias`, `add_contact_alias`
/// and `add_rcv_param`, recorded as lumps on the message as Kamailio's are.
struct ContactRewrite {
    /// `alias_name`: the name of the alias parameter (`alias`).
    let aliasName: String

    /// `fix_nated_contact()`: host:port of the first Contact URI := the source address
    /// (a `maddr` parameter is dropped).
    func fixNatedContact(_ ctx: MessageContext) -> Int {
        guard let c = ContactURI(ctx.message) else { return -1 }
        let b = ctx.message.buffer
        guard !ctx.hasEdit(inside: c.contact.uri) else {
            Log.error("nathelper", "you can't call fix_nated_contact twice, check your config!")
            return -1
        }
        var rest = b.text(c.hostPortEnd..<c.contact.uri.upperBound)
        if let maddr = c.uri.parameters(b).first(where: { b.text($0.name).lowercased() == "maddr" }) {
            // The parameters before maddr (trailing ' ', '\t', ';' trimmed), then those after it.
            var before = Substring(b.text(c.hostPortEnd..<maddr.name.lowerBound))
            while let l = before.last, l == " " || l == "\t" || l == ";" { before = before.dropLast() }
            let after = b.text((maddr.value?.upperBound ?? maddr.name.upperBound)..<c.contact.uri.upperBound)
            rest = String(before) + after
        }
        let prefix = b.text(c.contact.uri.lowerBound..<c.uri.host.lowerBound)
        let uri = prefix + NATAddresses.sourceHost(ctx) + ":\(ctx.receive.sourcePort)" + rest
        ctx.edits.replace(c.contact.uri, with: Array(uri.utf8))
        return 1
    }

    /// `set_contact_alias([trim])`: appends `;alias=ip~port~proto` of the source to the
    /// first Contact URI (enclosing it in `<>` when needed); with `trim` an existing alias
    /// parameter at its end is removed first.
    func setContactAlias(_ ctx: MessageContext, trim: Bool) -> Int {
        guard let c = ContactURI(ctx.message) else { return -1 }
        let b = ctx.message.buffer
        guard !ctx.hasEdit(inside: c.contact.uri) else {
            Log.error("nathelper", "you can't update contact twice, check your config!")
            return -1
        }
        var uri = b.text(c.contact.uri)
        if trim, let trimmed = AliasParameter.trimmingLast(from: uri, name: aliasName) { uri = trimmed }
        uri += NATAddresses.sourceAlias(ctx, name: aliasName)
        let bracketed = c.contact.uri.lowerBound > 0 && b[c.contact.uri.lowerBound - 1] == UInt8(ascii: "<")
        ctx.edits.replace(c.contact.uri, with: Array((bracketed ? uri : "<\(uri)>").utf8))
        return 1
    }

    /// `add_contact_alias()`: adds the source as `;alias=` after host:port of the first
    /// Contact URI when the URI is not that address already; 2 when nothing was needed.
    func addContactAlias(_ ctx: MessageContext) -> Int {
        let msg = ctx.message
        guard msg.firstHeader(.contact) != nil else { return 2 }
        guard let c = ContactURI(msg) else {
            Log.error("nathelper", "failed to get contact uri")
            return -1
        }
        let b = msg.buffer
        let host = c.host(b)
        if IPAddressText.bytes(host) != nil, IPAddressText.sameAddress(host: host, ip: ctx.receive.sourceIP),
            ctx.receive.sourcePort == (c.uri.port ?? 5060),
            (c.transport(b) ?? "udp") == ctx.receive.proto.name
        {
            return 2
        }
        let source = NATAddresses.sourceAlias(ctx, name: aliasName)
        return insertAlias(ctx, c, source)
    }

    /// `add_contact_alias(ip, port, proto)`: adds `;alias=ip~port~proto` of the given address.
    func addContactAlias(_ ctx: MessageContext, ip: String, port: String, proto: String) -> Int {
        let msg = ctx.message
        guard msg.firstHeader(.contact) != nil else { return 2 }
        guard let c = ContactURI(msg) else {
            Log.error("nathelper", "failed to get contact uri")
            return -1
        }
        guard IPAddressText.bytes(ip) != nil, !ip.hasPrefix("[") else {
            Log.error("nathelper", "ip param value \(ip) is not valid IP address")
            return -1
        }
        guard let p = Int(port), p > 0, p <= 65535 else {
            Log.error("nathelper", "port param value is not valid port")
            return -1
        }
        guard let number = NATAddresses.number(named: proto) else {
            Log.error("nathelper", "proto param value \(proto) is not a known protocol")
            return -1
        }
        return insertAlias(ctx, c, ";\(aliasName)=\(ip)~\(port)~\(number)")
    }

    /// Inserts `param` after host:port, with `<`/`>` around the URI when the Contact has none.
    private func insertAlias(_ ctx: MessageContext, _ c: ContactURI, _ param: String) -> Int {
        let b = ctx.message.buffer
        guard !ctx.hasEdit(inside: c.contact.uri) else {
            Log.error("nathelper", "you can't call add_contact_alias twice, check your config!")
            return -1
        }
        let bracketed = b[c.header.valueRange].contains(UInt8(ascii: "<"))
        if !bracketed { ctx.edits.insert([UInt8(ascii: "<")], at: c.header.valueRange.lowerBound) }
        ctx.edits.insert(Array((bracketed ? param : param + ">").utf8), at: c.hostPortEnd)
        return 1
    }

    /// `add_rcv_param([flag])`: adds `;received="sip:ip:port"` to every Contact as a header
    /// parameter, or (flag 1, UDP only) `;received=sip:ip:port` as a URI parameter.
    func addReceivedParameter(_ ctx: MessageContext, uriParameter: Bool) -> Int {
        if uriParameter, ctx.receive.proto != .udp {
            Log.error("nathelper", "adding received parameter to Contact URI works only for UDP")
            return -1
        }
        guard let contacts = try? ctx.message.contacts(), !contacts.contains(where: \.isWildcard) else { return -1 }
        let uri = NATAddresses.sourceURI(ctx)
        for c in contacts {
            if uriParameter {
                ctx.edits.insert(Array(";received=\(uri)".utf8), at: c.uri.upperBound)
            } else {
                ctx.edits.insert(Array(";received=\"\(uri)\"".utf8), at: c.range.upperBound)
            }
        }
        return 1
    }
}

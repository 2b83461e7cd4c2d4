import SwiftletSDK

/// Serial forking by q value (Kamailio's `t_serial.c`): `t_load_contacts()` moves the
/// Request-URI and the branches into the `contacts_avp` XAVP, highest q first, and
/// `t_next_contacts()` takes the next q class out of it as the Request-URI and branches.
enum ContactLoading {
    /// `Q_UNSPECIFIED`: a Request-URI or branch without a q value.
    static let unspecified = -1

    struct Contact {
        var uri: String
        var destinationURI: String?
        var socket: ListeningSocket?
        var flags: UInt64
        var q: Int
        /// Set on the last contact (in the XAVP's order) of a q class.
        var lastOfClass = false
        /// `+sip.instance`, ruid and UA of the registered contact (XAVP fields `instance`,
        /// `ruid`, `ua`; Kamailio's XAVP has no reg-id).
        var binding = ContactBinding()
    }

    /// `t_load_contacts()`: 1 when loaded or when there is nothing to do (no branches),
    /// -1 when the feature is off (`contacts_avp` not set).
    ///
    /// `proportional` (mode 1): every contact with q > 0 rings alone (its own class), in an
    /// order drawn at random with chances proportional to q; those with q <= 0 (and the
    /// Request-URI without a q) follow, in their order.
    static func load(_ ctx: MessageContext, avp: String?, proportional: Bool = false) -> Int {
        guard let avp else {
            Log.error("tm", "feature has been disabled - to enable define contacts_avp module parameter")
            return -1
        }
        // Nothing to do without branches, or with one when the Request-URI was consumed.
        guard !ctx.branches.isEmpty, ctx.branches.count > 1 || ctx.requestURIIsNew else { return 1 }
        // The Request-URI (when not consumed by a relay) first, then the branches in
        // increasing q order (equal q: in order).
        var list: [Contact] = []
        if ctx.requestURIIsNew {
            list.append(
                Contact(
                    uri: ctx.requestURI ?? "", destinationURI: ctx.destinationURI, socket: ctx.forcedSendSocket,
                    flags: ctx.branchFlags, q: unspecified, binding: ctx.binding))
        }
        var inOrder = list
        for b in ctx.branches {
            let c = Contact(
                uri: b.uri, destinationURI: b.destinationURI, socket: b.sendSocket, flags: b.flags,
                q: b.q ?? unspecified, binding: b.binding)
            inOrder.append(c)
            let at = list.firstIndex { $0.q > c.q } ?? list.count
            list.insert(c, at: at)
        }
        if proportional {
            // Appended after each other at the XAVP's head, in the drawn order (Kamailio keeps
            // the contacts in the order they were given, by their running q sum).
            let drawn = proportionalOrder(inOrder)
            for (k, var c) in drawn.enumerated() {
                c.lastOfClass = true
                ctx.xavps.insert(item(c, avp), at: k)
            }
            ctx.branches.removeAll()
            return 1
        }
        // A contact that starts a higher class (in increasing order) is the last of its class
        // in the XAVP, which lists the highest q first.
        for i in list.indices.dropFirst() where list[i - 1].q < list[i].q { list[i].lastOfClass = true }
        for c in list { ctx.xavps.insert(item(c, avp), at: 0) }
        ctx.branches.removeAll()
        return 1
    }

    /// `t_next_contacts()`: 1 when the next class was loaded, -2 when the XAVP is empty, -1
    /// when the feature is off.
    static func next(_ ctx: MessageContext, avp: String?, flowsAVP: String? = nil) -> Int {
        guard let avp else {
            Log.error("tm", "feature has been disabled - to enable define contacts_avp module parameter")
            return -1
        }
        guard let first = take(ctx, avp) else { return -2 }
        ctx.newRequestURI = first.uri
        ctx.destinationURI = first.destinationURI
        ctx.forcedSendSocket = first.socket
        ctx.branchFlags = first.flags
        // Kamailio sets the instance only when more contacts of the class follow.
        let instance = first.lastOfClass ? ctx.binding.instance : first.binding.instance
        ctx.binding = ContactBinding(
            instance: instance, regID: ctx.binding.regID, ruid: first.binding.ruid,
            userAgent: first.binding.userAgent, path: first.binding.path)
        if first.lastOfClass { return 1 }
        // One branch per `+sip.instance`: the other flows of an instance wait in
        // `contact_flows_avp` for `t_next_contact_flow()`.
        if let flows = flowsAVP { ctx.xavps.removeAll { $0.name == flows } }
        var instances = first.binding.instance.isEmpty ? [] : [first.binding.instance]
        while let c = take(ctx, avp) {
            let inst = c.binding.instance
            if !inst.isEmpty, instances.contains(inst) {
                if let flows = flowsAVP { ctx.xavps.insert(flowItem(c, flows), at: 0) }
            } else {
                if !inst.isEmpty, !c.lastOfClass { instances.append(inst) }
                ctx.branches.append(
                    Branch(
                        uri: c.uri, destinationURI: c.destinationURI, q: nil, flags: c.flags, sendSocket: c.socket,
                        binding: c.binding))
            }
            if c.lastOfClass { break }
        }
        return 1
    }

    /// Kamailio's `t_load_contacts_proportional`: draws the contacts with q > 0 one by one,
    /// each with a chance proportional to its q among those left; then the others.
    static func proportionalOrder(_ list: [Contact], random: (Int) -> Int = { Int.random(in: 0..<$0) }) -> [Contact] {
        var weighted = list.filter { $0.q > 0 }
        var out: [Contact] = []
        while !weighted.isEmpty {
            let total = weighted.reduce(0) { $0 + $1.q }
            var n = random(total)
            var pick = weighted.count - 1
            for (k, c) in weighted.enumerated() {
                if n < c.q {
                    pick = k
                    break
                }
                n -= c.q
            }
            out.append(weighted.remove(at: pick))
        }
        return out + list.filter { $0.q <= 0 }
    }

    private static func item(_ c: Contact, _ avp: String) -> XAVP {
        var fields: [XAVP] = [XAVP(name: "uri", value: .string(c.uri))]
        if let du = c.destinationURI { fields.insert(XAVP(name: "dst_uri", value: .string(du)), at: 0) }
        if !c.binding.path.isEmpty { fields.insert(XAVP(name: "path", value: .string(c.binding.path)), at: 0) }
        if let s = c.socket { fields.insert(XAVP(name: "sock", value: .string(s.socketString)), at: 0) }
        fields.insert(XAVP(name: "flags", value: .int(Int(truncatingIfNeeded: c.flags))), at: 0)
        fields.insert(XAVP(name: "q_flag", value: .int(c.lastOfClass ? 1 : 0)), at: 0)
        insertBinding(c.binding, into: &fields)
        return XAVP(name: avp, value: .list(fields))
    }

    /// The `instance`, `ruid` and `ua` fields, when set (newest first, as Kamailio adds them).
    static func insertBinding(_ b: ContactBinding, into fields: inout [XAVP]) {
        if !b.instance.isEmpty { fields.insert(XAVP(name: "instance", value: .string(b.instance)), at: 0) }
        if !b.ruid.isEmpty { fields.insert(XAVP(name: "ruid", value: .string(b.ruid)), at: 0) }
        if !b.userAgent.isEmpty { fields.insert(XAVP(name: "ua", value: .string(b.userAgent)), at: 0) }
    }

    /// Removes and returns the first contact of the XAVP.
    private static func take(_ ctx: MessageContext, _ avp: String) -> Contact? {
        guard let i = ctx.xavps.firstIndex(where: { $0.name == avp }) else { return nil }
        return contact(ctx, ctx.xavps.remove(at: i))
    }

    /// The contact an item of `contacts_avp` or `contact_flows_avp` holds.
    static func contact(_ ctx: MessageContext, _ x: XAVP) -> Contact? {
        guard case .list(let fields) = x.value else { return nil }
        func string(_ n: String) -> String? {
            for f in fields where f.name == n { if case .string(let s) = f.value { return s } }
            return nil
        }
        func int(_ n: String) -> Int {
            for f in fields where f.name == n { if case .int(let v) = f.value { return v } }
            return 0
        }
        let socket = string("sock").flatMap { text in
            ctx.core.transport?.sockets.first { $0.socketString == text }
        }
        return Contact(
            uri: string("uri") ?? "", destinationURI: string("dst_uri"), socket: socket,
            flags: UInt64(truncatingIfNeeded: int("flags")), q: 0, lastOfClass: int("q_flag") != 0,
            binding: ContactBinding(
                instance: string("instance") ?? "", ruid: string("ruid") ?? "", userAgent: string("ua") ?? "",
                path: string("path") ?? ""))
    }
}

import SwiftletSDK

extension RegistrarModule {
    func fixupLookup(_ args: [ScriptArgument], toDset: Bool) throws(FixupError) -> ScriptAction {
        let d = try domain(args[0])
        let uri = args.count > 1 ? try args[1].stringFormat() : nil
        return { ctx in
            var u: String?
            if let uri {
                let s = uri.render(ctx)
                guard !s.isEmpty else {
                    Log.error("registrar", "invalid uri parameter")
                    return -1
                }
                u = s
            }
            return self.lookup(ctx, d, uri: u, rewrite: !toDset)
        }
    }

    /// Kamailio's `allowed_method`: no filtering, a method the contact accepts, or in-dialog.
    func allowed(_ ctx: MessageContext, _ c: UsrlocContact) -> Bool {
        guard settings.methodFiltering else { return true }
        if c.methods & MethodBits.bit(ctx.message.methodText) != 0 { return true }
        return ctx.message.toTag.map { !$0.isEmpty } ?? false
    }

    /// Kamailio's `lookup_helper`: 1 found (R-URI rewritten unless `lookup_to_dset`, the other
    /// contacts appended as branches with `append_branches`), -1 not found, -2 found but no
    /// contact accepts the method, -3 error.
    func lookup(_ ctx: MessageContext, _ d: UsrlocDomain, uri: String?, rewrite: Bool) -> Int {
        let target = uri ?? ctx.requestURI ?? ""
        let aor: String
        let parsed: SIPURI
        do {
            (aor, parsed) = try extractAoR(target)
        } catch {
            Log.error("registrar", "failed to extract address of record")
            return -3
        }
        let now = usrloc.now()
        let useExpired = settings.useExpiredContacts
        var contacts: [UsrlocContact]
        var index: Int
        var ret = -1
        var instance = ""
        let gr = parsed.parameters.first { $0.name.lowercased() == "gr" }
        if let gr, gr.value == nil || gr.value!.isEmpty {
            // temp-GRUU: the user is `ruid-<AoR hash in reversed hex>`.
            let user = parsed.user ?? ""
            guard let dash = user.lastIndex(of: "-") else { return -3 }
            var hash: UInt32 = 0
            for ch in user[user.index(after: dash)...].reversed() {
                guard let v = ch.hexDigitValue else { return -3 }
                hash = (hash << 4) &+ UInt32(v)
            }
            let ruid = String(user[..<dash])
            guard let found = d.contact(ruid: ruid, aorHash: hash) else { return -1 }
            guard found.contact.isValid(at: now) || useExpired else { return -1 }
            guard allowed(ctx, found.contact) else { return -2 }
            contacts = [found.contact]
            index = 0
            instance = found.contact.instance.isEmpty ? "-" : found.contact.instance
        } else {
            if let v = gr?.value { instance = v }
            guard let rec = d.record(aor) else { return -1 }
            contacts = rec.contacts
            var found: Int?
            for (i, c) in contacts.enumerated() where c.isValid(at: now) || useExpired {
                if allowed(ctx, c) {
                    if instance.isEmpty || Self.bareInstance(instance) == Self.bareInstance(c.instance) {
                        found = i
                        break
                    }
                } else {
                    ret = -2
                }
            }
            guard let f = found else { return ret }
            index = f
        }
        ret = 1
        if rewrite {
            let c = contacts[index]
            ctx.newRequestURI = c.address
            ctx.destinationURI = nil
            RegistrarThreadState.current.ruriQ = c.q
            if let rcd = settings.xavpRcd { addRecordXAVP(ctx, rcd, c, now: now) }
            if let next = nextHop(ctx, c) { ctx.destinationURI = next }
            let path = lookupPath(ctx, c)
            if !path.isEmpty { ctx.binding.path = path }
            // Kamailio's set_instance/reg_id/set_ruid/set_ua: each only when the contact has it
            // (reg_id always).
            if !c.instance.isEmpty { ctx.binding.instance = c.instance }
            ctx.binding.regID = c.regID
            if !c.ruid.isEmpty { ctx.binding.ruid = c.ruid }
            if !c.userAgent.isEmpty { ctx.binding.userAgent = c.userAgent }
            ctx.branchFlags |= UInt64(c.cflags)
            if !c.socket.isEmpty, let s = LocalSockets.find(listen: c.socket) { ctx.forcedSendSocket = s }
            index += 1
        }
        if !instance.isEmpty || !settings.appendBranches { return ret }
        for c in contacts[index...] where (c.isValid(at: now) || useExpired) && allowed(ctx, c) {
            let socket = c.socket.isEmpty ? nil : LocalSockets.find(listen: c.socket)
            ctx.branches.append(
                Branch(
                    uri: c.address, destinationURI: nextHop(ctx, c), q: c.q == UsrlocContact.qUnspecified ? nil : c.q,
                    flags: UInt64(c.cflags), sendSocket: socket, binding: branchBinding(ctx, c)))
        }
        return ret
    }

    /// What a branch appended for a contact keeps of it (Kamailio's `ksr_push_branch` from
    /// `lookup()`): its path vector, instance and reg-id (only with an instance), ruid and
    /// User-Agent.
    func branchBinding(_ ctx: MessageContext, _ c: UsrlocContact) -> ContactBinding {
        ContactBinding(
            instance: c.instance, regID: c.instance.isEmpty ? 0 : c.regID, ruid: c.ruid, userAgent: c.userAgent,
            path: lookupPath(ctx, c))
    }

    /// The destination of a contact: the first Path hop (the second when the first is this
    /// server and `path_check_local` is set), else `received`.
    func nextHop(_ ctx: MessageContext, _ c: UsrlocContact) -> String? {
        if !c.path.isEmpty {
            var hops = Self.pathURIs(c.path)
            if settings.pathCheckLocal, let first = hops.first, let u = SIPURI(first),
                ctx.core.isMyself(u.host, nil)
            {
                hops.removeFirst()
            }
            if let h = hops.first { return h }
        }
        return c.received.isEmpty ? nil : c.received
    }

    /// The path vector a request to the contact carries as its Route header (Kamailio's
    /// `set_path_vector` in `lookup()`): the stored Path, without its first hop when that is
    /// this server and `path_check_local` is set; "" when no hop is left.
    func lookupPath(_ ctx: MessageContext, _ c: UsrlocContact) -> String {
        guard !c.path.isEmpty else { return "" }
        guard settings.pathCheckLocal, let first = Self.pathURIs(c.path).first, let u = SIPURI(first),
            ctx.core.isMyself(u.host, nil)
        else { return c.path }
        // Past `<first>,` as Kamailio skips it.
        guard let close = c.path.firstIndex(of: ">") else { return "" }
        let rest = c.path[c.path.index(after: close)...].drop { $0 == "," || $0 == " " }
        return String(rest)
    }

    /// The URIs of a Path vector (`<uri>,<uri>`).
    static func pathURIs(_ path: String) -> [String] {
        var out: [String] = []
        var rest = Substring(path)
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            out.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return out
    }

    /// Kamailio's `lookup_branches`: `lookup()` for the R-URI and for every branch added
    /// before that has no destination, path, socket or flags of its own. The looked-up branch
    /// keeps the contact's ruid, instance and User-Agent too (Kamailio copies only URI,
    /// destination, path, q, socket and flags).
    func lookupBranches(_ ctx: MessageContext, _ d: UsrlocDomain) -> Int {
        let start = ctx.branches.count
        var ret = lookup(ctx, d, uri: nil, rewrite: true)
        if start == 0 { return ret }
        var found = ret > 0
        let saved = (ctx.newRequestURI, ctx.destinationURI, ctx.forcedSendSocket, ctx.branchFlags)
        let savedBinding = ctx.binding
        let savedQ = RegistrarThreadState.current.ruriQ
        for i in 0..<start {
            let b = ctx.branches[i]
            guard !b.uri.isEmpty, b.destinationURI?.isEmpty ?? true, b.binding.path.isEmpty, b.sendSocket == nil,
                b.flags == 0
            else { continue }
            ctx.newRequestURI = b.uri
            ctx.destinationURI = nil
            ctx.forcedSendSocket = nil
            ctx.branchFlags = 0
            ctx.binding = ContactBinding()
            ret = lookup(ctx, d, uri: nil, rewrite: true)
            if ret > 0 {
                found = true
                let q = RegistrarThreadState.current.ruriQ
                ctx.branches[i] = Branch(
                    uri: ctx.newRequestURI ?? b.uri, destinationURI: ctx.destinationURI,
                    q: q == UsrlocContact.qUnspecified ? nil : q,
                    flags: ctx.branchFlags, sendSocket: ctx.forcedSendSocket,
                    binding: ctx.binding)
            }
        }
        (ctx.newRequestURI, ctx.destinationURI, ctx.forcedSendSocket, ctx.branchFlags) = saved
        ctx.binding = savedBinding
        RegistrarThreadState.current.ruriQ = savedQ
        return found ? 1 : ret
    }

    func fixupRegistered(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let d = try domain(args[0])
        let uri = args.count > 1 ? try args[1].stringFormat() : nil
        let match = args.count > 2 ? try args[2].intParameter() : nil
        let action = args.count > 3 ? try args[3].intParameter() : nil
        return { ctx in
            var u = uri?.render(ctx)
            if u?.isEmpty ?? false { u = nil }
            return self.registered(
                ctx, d, uri: u, match: match?.value(ctx) ?? 0, action: action?.value(ctx) ?? 0)
        }
    }

    /// Kamailio's `registered4`: 1 when the AoR has a valid contact (matching Call-ID,
    /// received or contact from `xavp_cfg` with match flags 1, 2, 4), else -1.
    func registered(_ ctx: MessageContext, _ d: UsrlocDomain, uri: String?, match: Int, action: Int) -> Int {
        var target = uri
        if target == nil {
            if ctx.message.isRequest {
                target = ctx.requestURI
            } else if let to = try? ctx.message.to() {
                target = ctx.message.buffer.text(to.uri)
            }
        }
        guard let t = target, let (aor, _) = try? extractAoR(t) else { return -1 }
        guard let rec = d.record(aor) else { return -1 }
        let cfg = settings.xavpCfg
        let callID = match & 1 != 0 ? XAVPLookup.string(ctx, root: cfg, "match_callid") : nil
        let received = match & 2 != 0 ? XAVPLookup.string(ctx, root: cfg, "match_received") : nil
        let contact = match & 4 != 0 ? XAVPLookup.string(ctx, root: cfg, "match_contact") : nil
        let now = usrloc.now()
        for c in rec.contacts where c.isValid(at: now) || settings.useExpiredContacts {
            if let callID, !callID.isEmpty, callID != c.callID { continue }
            if let received, !received.isEmpty, received != c.received { continue }
            if let contact, !contact.isEmpty, contact != c.address { continue }
            if action & 2 == 0, let rcd = settings.xavpRcd { addRecordXAVP(ctx, rcd, c, now: now) }
            return 1
        }
        return -1
    }

    func fixupUnregister(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let d = try domain(args[0])
        let uri = try args[1].stringFormat()
        let ruid = args.count > 2 ? try args[2].stringFormat() : nil
        return { ctx in self.unregister(ctx, d, uri: uri.render(ctx), ruid: ruid?.render(ctx)) }
    }

    /// Kamailio's `unregister`: removes every contact of the AoR, or the one with `ruid`.
    /// 1 done, -1 bad AoR, -2 not removed, -3 not found.
    func unregister(_ ctx: MessageContext, _ d: UsrlocDomain, uri: String, ruid: String?) -> Int {
        guard let ruid, !ruid.isEmpty else {
            guard let (aor, _) = try? extractAoR(uri) else {
                Log.error("registrar", "failed to extract Address Of Record")
                return -1
            }
            if case .failure = d.update(aor, { $0.removeAll() }) { return -2 }
            return 1
        }
        var hash: UInt32?
        var aorKey: String?
        if !uri.isEmpty {
            guard let (aor, _) = try? extractAoR(uri) else { return -1 }
            hash = usrloc.aorHash(aor)
            aorKey = aor
        }
        guard let found = d.contact(ruid: ruid, aorHash: hash), aorKey == nil || found.aor == aorKey else {
            Log.warning("registrar", "AOR/Contact not found")
            return -3
        }
        if case .failure = d.update(found.aor, { $0.removeAll { $0.ruid == ruid } }) { return -2 }
        return 1
    }
}

import SwiftletSDK

/// `save()` flags (Kamailio's `REG_SAVE_*_FL`).
struct SaveFlags: OptionSet {
    let rawValue: Int
    /// 0x01: kept in memory only (never written to the database).
    static let memoryOnly = SaveFlags(rawValue: 1)
    /// 0x02: no reply is sent.
    static let noReply = SaveFlags(rawValue: 2)
    /// 0x04: one contact per AoR (the new one replaces the others).
    static let replace = SaveFlags(rawValue: 4)
    /// 0x08: `expires_range`/`default_expires_range` are not applied.
    static let noVariation = SaveFlags(rawValue: 8)
    /// 0x10: with 0x02, the reply's headers are prepared for `reg_send_reply()`.
    static let prepareReply = SaveFlags(rawValue: 16)
    static let all = SaveFlags(rawValue: 31)
}

/// What all contacts of one REGISTER share (Kamailio's `pack_ci` with the message).
struct CommonContactInfo {
    var template: UsrlocContact
    /// `received` from the first Path URI (`path_use_received`), "" when none.
    var pathReceived = ""
}

extension RegistrarModule {
    func fixupSave(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let d = try domain(args[0])
        var flags = SaveFlags()
        if args.count > 1 {
            let text = try args[1].constantString()
            let value = text.lowercased().hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : Int(text)
            guard let v = value, v >= 0, v <= SaveFlags.all.rawValue else {
                throw FixupError("bad flags <\(text)>", at: args[1].location)
            }
            flags = SaveFlags(rawValue: v)
        }
        let uri = args.count > 2 ? try args[2].stringFormat() : nil
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
            return self.save(ctx, d, flags: flags, uri: u)
        }
    }

    /// Kamailio's `save()`: 1 contacts added or nothing changed, 2 updated, 3 deleted (also
    /// `*`), 4 no Contact (the bindings are listed); -1 on error, -2 too many contacts.
    func save(_ ctx: MessageContext, _ d: UsrlocDomain, flags: SaveFlags, uri: String?) -> Int {
        let state = RegistrarThreadState.current
        state.reason = .fine
        state.contactHeader = []
        state.path = ""
        var ret = 1
        do throws(RegistrarFailure) {
            let msg = ctx.message
            let req = try RegisterRequest(msg, contactMaxSize: settings.contactMaxSize)
            if msg.tokens(.require).contains(where: { msg.buffer.text($0).lowercased() == "outbound" }) {
                throw RegistrarFailure(.outboundRequired)
            }
            let to = req.to
            let aor: String
            let host: String
            if let uri {
                aor = try extractAoR(uri).aor
                host = SIPURI(msg.buffer.text(to.uri))?.host ?? ""
            } else {
                let found = try extractAoR(msg.buffer, to.uri)
                aor = found.aor
                host = found.host
            }
            let now = usrloc.now()
            if req.contacts.isEmpty {
                if req.star {
                    let old = d.record(aor)
                    if case .failure = d.update(aor, { $0.removeAll() }) {
                        state.contactHeader = contactHeader(ctx, old?.contacts ?? [], aor: aor, host: host, now: now)
                        throw RegistrarFailure(.usrlocDeleteRecord)
                    }
                    ret = 3
                } else {
                    state.contactHeader = contactHeader(
                        ctx, d.record(aor)?.contacts ?? [], aor: aor, host: host, now: now)
                    ret = 4
                }
            } else {
                ret = try addContacts(ctx, d, aor: aor, req, flags: flags, now: now, host: host)
            }
        } catch {
            state.reason = error.reason
            rejected?.increment()
            if ctx.routeType.contains(.request) && !flags.contains(.noReply) { _ = sendReply(ctx, error.reason) }
            return error.reason == .tooMany ? -2 : -1
        }
        accepted?.increment()
        if !flags.contains(.noReply) {
            if ctx.routeType.contains(.request) || ctx.routeType.contains(.failure) {
                if sendReply(ctx, .fine) < 0 { return -1 }
            }
        } else if flags.contains(.prepareReply) {
            _ = prepareReply(ctx, state.reason)
        }
        return ret
    }

    /// Kamailio's `add_contacts`: updates an existing record or inserts a new one.
    func addContacts(
        _ ctx: MessageContext, _ d: UsrlocDomain, aor: String, _ req: RegisterRequest, flags: SaveFlags, now: Int,
        host: String
    ) throws(RegistrarFailure) -> Int {
        var failure: RegistrarFailure?
        var existed = false
        var storageError: RegistrarError = .usrlocInsertContact
        // The contacts as stored, for the reply (no second lookup of the record).
        var stored: [UsrlocContact] = []
        let result = d.update(aor) { contacts -> Int in
            existed = !contacts.isEmpty
            let rc: Int
            do throws(RegistrarFailure) {
                if existed {
                    storageError = .usrlocUpdateContact
                    let n = try self.updateContacts(ctx, &contacts, req, flags: flags, now: now, aor: aor)
                    rc = n == 0 ? 1 : n
                } else {
                    try self.insertContacts(ctx, &contacts, req, flags: flags, now: now, aor: aor)
                    rc = 1
                }
            } catch {
                // A new record is dropped again; changes to an existing one stay (Kamailio).
                if !existed { contacts.removeAll() }
                failure = error
                rc = -1
            }
            stored = contacts
            return rc
        }
        // After a storage error the record is read back as it is now.
        let current: [UsrlocContact]
        if case .success = result { current = Self.orderedByQ(stored) } else { current = d.record(aor)?.contacts ?? [] }
        if failure == nil || existed {
            RegistrarThreadState.current.contactHeader = contactHeader(ctx, current, aor: aor, host: host, now: now)
        }
        if let failure { throw failure }
        switch result {
        case .success(let rc): return rc
        case .failure(let e):
            Log.error("registrar", "failed to store the contacts of \(aor): \(e)")
            throw RegistrarFailure(storageError)
        }
    }

    /// Kamailio's `insert_contacts`: the contacts of a new record (expires 0 skipped).
    func insertContacts(
        _ ctx: MessageContext, _ contacts: inout [UsrlocContact], _ req: RegisterRequest, flags: SaveFlags, now: Int,
        aor: String
    ) throws(RegistrarFailure) {
        let maxc = maxContacts(ctx)
        var num = 0
        var common: CommonContactInfo?
        // By index, and `common` passed in place: copies of a contact or of the common part
        // retain and release each of their strings.
        for k in req.contacts.indices {
            let expires = try contactExpires(
                ctx, req.contacts[k].expires, header: req.expiresHeader, now: now,
                noVariation: flags.contains(.noVariation))
            if expires == 0 { continue }
            if maxc > 0 && num >= maxc {
                Log.info("registrar", "too many contacts (n:\(num) max:\(maxc)) for AOR <\(aor)>")
                throw RegistrarFailure(.tooMany)
            }
            num += 1
            if common == nil { common = try commonInfo(ctx, req, flags: flags, now: now) }
            let c = try contactInfo(ctx, req.contacts[k], &common!, expires: expires)
            // Several Contacts with one address in one REGISTER: the later updates the earlier
            // (matched as with a CSeq one higher, so that the same CSeq is no retransmission).
            if contacts.isEmpty {
                contacts.append(c)
            } else if case .found(let i) = match(contacts, uri: req.contacts[k].uri, c, cseqOffset: 1, now: now) {
                contacts[i].refresh(from: c)
            } else {
                contacts.append(c)
            }
        }
    }

    /// Kamailio's `update_contacts`: 1 inserted, 2 updated, 3 deleted, 0 nothing.
    func updateContacts(
        _ ctx: MessageContext, _ contacts: inout [UsrlocContact], _ req: RegisterRequest, flags: SaveFlags, now: Int,
        aor: String
    ) throws(RegistrarFailure) -> Int {
        var common = try commonInfo(ctx, req, flags: flags, now: now)
        let replace = flags.contains(.replace)
        if !replace {
            let maxc = maxContacts(ctx)
            if maxc > 0 { try checkMaxContacts(ctx, contacts, req, common, max: maxc, now: now, aor: aor) }
        }
        var rc = 0
        for r in req.contacts {
            let expires = try contactExpires(
                ctx, r.expires, header: req.expiresHeader, now: now, noVariation: flags.contains(.noVariation))
            let c = try contactInfo(ctx, r, &common, expires: expires)
            var updated = false
            switch match(contacts, uri: r.uri, c, now: now) {
            case .invalid:
                Log.error("registrar", "invalid cseq for aor <\(aor)>")
                throw RegistrarFailure(.invalidCSeq)
            case .skip:
                if expires != 0 && replace { return rc }
                continue
            case .notFound:
                if expires == 0 { continue }
                contacts.append(c)
                rc = 1
                if replace {
                    contacts = [c]
                    updated = true
                }
            case .found(var i):
                if expires == 0 {
                    contacts.remove(at: i)
                    rc = 3
                } else {
                    if replace {
                        contacts = [contacts[i]]
                        i = 0
                        updated = true
                    }
                    // A new Call-ID for an instance: its other bindings go.
                    if !c.instance.isEmpty && c.callID != contacts[i].callID {
                        let keep = contacts[i]
                        contacts.removeAll { $0.ruid != keep.ruid && $0.instance == keep.instance }
                        i = contacts.firstIndex { $0.ruid == keep.ruid }!
                        updated = true
                    }
                    contacts[i].refresh(from: c)
                    rc = 2
                }
            }
            if updated { break }
        }
        return rc
    }

    /// Kamailio's `test_max_contacts`: the number of valid contacts after this REGISTER.
    func checkMaxContacts(
        _ ctx: MessageContext, _ contacts: [UsrlocContact], _ req: RegisterRequest, _ common: CommonContactInfo,
        max: Int, now: Int, aor: String
    ) throws(RegistrarFailure) {
        var num = contacts.filter { $0.isValid(at: now) }.count
        for r in req.contacts {
            let e = (try? contactExpires(ctx, r.expires, header: req.expiresHeader, now: now, noVariation: true)) ?? 0
            var probe = common.template
            probe.instance = r.instance ?? ""
            probe.regID = Int(r.regID ?? "") ?? 0
            switch match(contacts, uri: r.uri, probe, now: now) {
            case .invalid: throw RegistrarFailure(.invalidCSeq)
            case .skip: continue
            case .notFound: if e != 0 { num += 1 }
            case .found: if e == 0 { num -= 1 }
            }
        }
        if num > max {
            Log.info("registrar", "too many contacts for AOR <\(aor)> (n:\(num) max:\(max))")
            throw RegistrarFailure(.tooMany)
        }
    }
}

extension RegistrarModule {
    /// The order usrloc keeps a record's contacts in (`UsrlocDomain.update`): highest q
    /// first, equal q in their order.
    static func orderedByQ(_ contacts: [UsrlocContact]) -> [UsrlocContact] {
        if contacts.count < 2 || zip(contacts, contacts.dropFirst()).allSatisfy({ $0.q >= $1.q }) { return contacts }
        let indexed = contacts.enumerated().map { ($0.offset, $0.element) }
        return indexed.sorted { a, b in a.1.q != b.1.q ? a.1.q > b.1.q : a.0 < b.0 }.map(\.1)
    }
}

extension UsrlocContact {
    /// Kamailio's `mem_update_ucontact`: a refresh keeps the ruid and instance; the address
    /// changes only for an instance.
    mutating func refresh(from c: UsrlocContact) {
        if !c.instance.isEmpty { address = c.address }
        if !c.callID.isEmpty { callID = c.callID }
        userAgent = c.userAgent
        received = c.received
        path = c.path
        socket = c.socket
        expires = c.expires
        q = c.q
        cseq = c.cseq
        methods = c.methods
        lastModified = c.lastModified
        flags = c.flags
        cflags = c.cflags
        serverID = c.serverID
        connectionID = c.connectionID
    }
}

import SwiftletSDK

/// The `registrar` module (Kamailio's `modules/registrar`): `save()` stores the bindings of
/// a REGISTER in a usrloc table and replies; `lookup()` turns an AoR into its contacts.
final class RegistrarModule {
    var settings = RegistrarSettings()
    var usrloc: UsrlocAPI!
    var sl: StatelessReplyAPI?
    var tm: TransactionAPI?
    var receivedAVP: PseudoVariable?
    let profiles = ContactProfiles()
    var accepted: CounterHandle?
    var rejected: CounterHandle?

    var exports: ModuleExports {
        let e = ModuleExports(name: "registrar")
        e.parameters = parameters
        let domainRoutes: RouteTypes = [.request, .failure]
        e.functions = [
            ScriptFunction("save", parameters: 1...3, routes: [.request, .failure, .onReply]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in try self.fixupSave(args)
            },
            ScriptFunction("lookup", parameters: 1...2, routes: domainRoutes) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in try self.fixupLookup(args, toDset: false)
            },
            ScriptFunction("lookup_to_dset", parameters: 1...2, routes: domainRoutes) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in try self.fixupLookup(args, toDset: true)
            },
            ScriptFunction("lookup_branches", parameters: 1, routes: domainRoutes) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let d = try self.domain(args[0])
                return { ctx in self.lookupBranches(ctx, d) }
            },
            ScriptFunction("registered", parameters: 1...4, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in try self.fixupRegistered(args)
            },
            ScriptFunction("unregister", parameters: 2...3, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in try self.fixupUnregister(args)
            },
            ScriptFunction("reg_fetch_contacts", parameters: 3, routes: domainRoutes) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in try self.fixupFetch(args)
            },
            ScriptFunction("reg_free_contacts", parameters: 1, routes: domainRoutes) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let profile = try args[0].stringFormat()
                return { ctx in
                    self.profiles.free(profile.render(ctx))
                    return 1
                }
            },
            ScriptFunction("reg_send_reply", parameters: 0, routes: domainRoutes) { _ in
                { ctx in self.sendReply(ctx, RegistrarThreadState.current.reason) < 0 ? -1 : 1 }
            },
        ]
        e.pseudoVariables = [profiles.pvClass]
        e.initialize = { (context: ModuleInitContext) in
            self.sl = try context.requireAPI(StatelessReplyAPI.self, by: "registrar", from: "sl")
            self.tm = context.core.apis.lookup(TransactionAPI.self)
            CfgVariables.shared.declare(group: "registrar", self.cfgVariables)
            if let avp = self.settings.receivedAVP, !avp.isEmpty {
                self.receivedAVP = try PseudoVariableRegistry.shared.compile(avp)
            }
            self.registerExpiredEvent(context.core)
        }
        registerStatistics()
        return e
    }

    /// The usrloc table named by a constant argument, created now (`domain_fixup`).
    func domain(_ arg: ScriptArgument) throws(FixupError) -> UsrlocDomain {
        let name = try arg.constantString()
        if usrloc == nil {
            guard let api = CoreContext.current.apis.lookup(UsrlocAPI.self) else {
                throw FixupError("registrar needs the usrloc module: add loadmodule \"usrloc.so\"", at: arg.location)
            }
            usrloc = api
        }
        return try usrloc.registerDomain(name)
    }

    /// Kamailio's `extract_aor`: the unescaped user, `@domain` with `use_domain` (minus
    /// `realm_prefix`), lower case (only the domain with `case_sensitive`).
    func extractAoR(_ uri: String) throws(RegistrarFailure) -> (aor: String, uri: SIPURI) {
        guard let u = SIPURI(uri) else { throw RegistrarFailure(.aorParse) }
        let rawUser = u.user ?? ""
        let host = u.host
        guard rawUser.utf8.count <= 64, host.utf8.count <= 128, rawUser.utf8.count + host.utf8.count + 1 <= 256 else {
            throw RegistrarFailure(.aorTooLong)
        }
        guard let user = URIEscaping.unescape(rawUser) else { throw RegistrarFailure(.unescape) }
        var aor = user
        if usrloc.useDomain {
            if !user.isEmpty { aor += "@" }
            let prefix = settings.realmPrefix
            if !prefix.isEmpty, prefix.utf8.count < host.utf8.count, host.hasPrefix(prefix) {
                aor += String(host.dropFirst(prefix.count))
            } else {
                aor += host
            }
        }
        if settings.caseSensitive && !user.isEmpty {
            aor = user + String(aor.dropFirst(user.count)).lowercased()
        } else {
            aor = aor.lowercased()
        }
        return (aor, u)
    }

    /// `extract_aor` of the URI at `b[r]` (the To URI in the message), without making a
    /// `SIPURI`: the AoR and the URI's host.
    func extractAoR(_ b: [UInt8], _ r: Range<Int>) throws(RegistrarFailure) -> (aor: String, host: String) {
        guard let c = try? URIComponents.parse(b, r), c.scheme != .other else { throw RegistrarFailure(.aorParse) }
        let userRange = c.user ?? r.lowerBound..<r.lowerBound
        guard userRange.count <= 64, c.host.count <= 128, userRange.count + c.host.count + 1 <= 256 else {
            throw RegistrarFailure(.aorTooLong)
        }
        let host = String(decoding: b[c.host], as: UTF8.self)
        guard let user = URIEscaping.unescape(b, userRange) else { throw RegistrarFailure(.unescape) }
        var aor = user
        if usrloc.useDomain {
            if !user.isEmpty { aor.append(64) }
            let prefix = settings.realmPrefix
            if !prefix.isEmpty, prefix.utf8.count < host.utf8.count, host.hasPrefix(prefix) {
                aor += String(host.dropFirst(prefix.count)).utf8
            } else {
                aor += b[c.host]
            }
        }
        // Lower case as String.lowercased() does; ASCII in place, other text through it.
        guard aor.allSatisfy({ $0 < 0x80 }) else {
            let text = String(decoding: aor, as: UTF8.self)
            let u = String(decoding: user, as: UTF8.self)
            if settings.caseSensitive && !user.isEmpty {
                return (u + String(text.dropFirst(u.count)).lowercased(), host)
            }
            return (text.lowercased(), host)
        }
        let from = settings.caseSensitive && !user.isEmpty ? user.count : 0
        for i in from..<aor.count where aor[i] &- 65 < 26 { aor[i] |= 0x20 }
        return (String(decoding: aor, as: UTF8.self), host)
    }

    /// Kamailio's `calc_contact_expires`: the absolute expiry of a contact (0 = remove), or
    /// `.expiresTooLow` with `min_expires_mode`.
    func contactExpires(_ ctx: MessageContext, _ param: String?, header: Int?, now: Int, noVariation: Bool)
        throws(RegistrarFailure) -> Int
    {
        var e: Int
        var range = 0
        if let x = XAVPLookup.int(ctx, root: settings.xavpCfg, "expires"), x >= 0 {
            e = x
        } else if let p = param, !p.isEmpty {
            if let v = UInt32(p) {
                e = Int(v)
                range = settings.expiresRange
            } else {
                e = settings.defaultExpires
                range = settings.defaultExpiresRange
            }
        } else if let h = header {
            e = h
            range = settings.expiresRange
        } else {
            e = settings.defaultExpires
            range = settings.defaultExpiresRange
        }
        guard e != 0 else { return 0 }
        if e < settings.minExpires {
            if settings.minExpiresMode { throw RegistrarFailure(.expiresTooLow) }
            e = settings.minExpires
        }
        if !noVariation && range != 0 {
            let low = e - Int(Double(range) / 100 * Double(e))
            e = low + Int(Double(Int.random(in: 0..<100)) / 100 * Double(e - low))
            if e < settings.minExpires { e = settings.minExpires }
        }
        if settings.maxExpires > 0 && e > settings.maxExpires { e = settings.maxExpires }
        return e + now
    }

    /// Kamailio's `calc_contact_q`: `$xavp(cfg=>q)`, the `q` parameter or `default_q`.
    func contactQ(_ ctx: MessageContext, _ param: String?) throws(RegistrarFailure) -> Int {
        if let x = XAVPLookup.int(ctx, root: settings.xavpCfg, "q") {
            guard (0...1000).contains(x) else { throw RegistrarFailure(.invalidQ) }
            return x
        }
        guard let p = param, !p.isEmpty else { return settings.defaultQ }
        guard let q = RegisterRequest.qValue(p) else { throw RegistrarFailure(.invalidQ) }
        return q
    }

    /// `max_contacts`, or `$xavp(cfg=>max_contacts)`.
    func maxContacts(_ ctx: MessageContext) -> Int {
        XAVPLookup.int(ctx, root: settings.xavpCfg, "max_contacts") ?? settings.maxContacts
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "registrar") { RegistrarModule().exports }
}

import SwiftletSDK
import SwiftletSIP

/// The script functions of Kamailio's `auth_mod.c` `cmds[]`, with their fixups.
extension AuthModule {
    var functions: [ScriptFunction] {
        let challengeRoutes: RouteTypes = [.request, .failure, .onReply]
        return [
            ScriptFunction("consume_credentials", parameters: 0, routes: .request) { _ in
                { ctx in AuthorizedCredentials.consume(ctx) }
            },
            ScriptFunction("www_challenge", parameters: 2, routes: challengeRoutes) { args throws(FixupError) in
                try self.challengeFunction(args) { _ in .authorization }
            },
            ScriptFunction("proxy_challenge", parameters: 2, routes: challengeRoutes) { args throws(FixupError) in
                try self.challengeFunction(args) { _ in .proxyAuthorization }
            },
            ScriptFunction("auth_challenge", parameters: 2, routes: challengeRoutes) { args throws(FixupError) in
                try self.challengeFunction(args, skipAckCancel: true) { ctx in
                    ctx.message.method == .register ? .authorization : .proxyAuthorization
                }
            },
            ScriptFunction("pv_www_authorize", parameters: 3, routes: .request) { args throws(FixupError) in
                try self.pvAuthenticateFunction(args, .authorization)
            },
            ScriptFunction("pv_www_authenticate", parameters: 3...4, routes: .request) { args throws(FixupError) in
                try self.pvAuthenticateFunction(args, .authorization)
            },
            ScriptFunction("pv_proxy_authorize", parameters: 3, routes: .request) { args throws(FixupError) in
                try self.pvAuthenticateFunction(args, .proxyAuthorization)
            },
            ScriptFunction("pv_proxy_authenticate", parameters: 3, routes: .request) { args throws(FixupError) in
                try self.pvAuthenticateFunction(args, .proxyAuthorization)
            },
            ScriptFunction("auth_get_www_authenticate", parameters: 3, routes: .request) { args throws(FixupError) in
                try self.getWWWAuthenticateFunction(args)
            },
            ScriptFunction("has_credentials", parameters: 1, routes: .request) { args throws(FixupError) in
                let realm = try Self.nonEmpty(args, 0).stringFormat()
                return { ctx in self.hasCredentials(ctx, realm: realm.render(ctx)) }
            },
            ScriptFunction("pv_auth_check", parameters: 4, routes: .request) { args throws(FixupError) in
                try self.pvAuthCheckFunction(args)
            },
        ]
    }

    /// Kamailio refuses empty parameters at start-up ("empty parameter N not allowed").
    static func nonEmpty(_ args: [ScriptArgument], _ i: Int) throws(FixupError) -> ScriptArgument {
        if case .string(let s) = args[i].value, s.isEmpty {
            throw FixupError("auth: empty parameter \(i + 1) not allowed", at: args[i].location)
        }
        return args[i]
    }

    /// `www_challenge`, `proxy_challenge`, `auth_challenge(realm, flags)`.
    func challengeFunction(
        _ args: [ScriptArgument], skipAckCancel: Bool = false,
        header: @escaping (MessageContext) -> DigestCredentialsHeader
    ) throws(FixupError) -> ScriptAction {
        let realm = try Self.nonEmpty(args, 0).stringFormat()
        let flags = try Self.nonEmpty(args, 1).intParameter()
        return { ctx in
            if skipAckCancel, ctx.message.method == .ack || ctx.message.method == .cancel { return 1 }
            // The flags first, so that flag 4 holds for an empty realm too (Kamailio reads
            // the realm first and sends the 500 then).
            guard let f = flags.value(ctx) else {
                Log.error("auth", "invalid flags value")
                return self.challengeFailed(ctx, flags: 0)
            }
            let r = realm.render(ctx)
            guard !r.isEmpty else {
                Log.error("auth", "invalid realm value - empty content")
                return self.challengeFailed(ctx, flags: f)
            }
            return self.challenge(ctx, realm: r, flags: f, header: header(ctx))
        }
    }

    /// `pv_www_authenticate(realm, passwd, flags[, method])`, `pv_proxy_authenticate`.
    func pvAuthenticateFunction(_ args: [ScriptArgument], _ header: DigestCredentialsHeader) throws(FixupError)
        -> ScriptAction
    {
        let realm = try Self.nonEmpty(args, 0).stringFormat()
        let password = try Self.nonEmpty(args, 1).stringFormat()
        let flags = try Self.nonEmpty(args, 2).intParameter()
        let method = args.count > 3 ? try Self.nonEmpty(args, 3).stringFormat() : nil
        return { ctx in
            guard let (r, p, f) = self.realmPasswordFlags(ctx, realm, password, flags) else { return -1 }
            // The request's method is made into text only when there are credentials to check.
            var m: String?
            if let method {
                let text = method.render(ctx)
                m = text
                guard !text.isEmpty else {
                    Log.error("auth", "invalid method value - empty content")
                    return -1
                }
            }
            var checked: DigestCredentials?
            return self.authenticate(
                ctx, realm: r, password: { p ?? password.render(ctx) }, flags: f, header: header, method: m,
                checked: &checked)
        }
    }

    /// The realm, password and flags of a `pv_*` call; nil (an error) when one is empty or
    /// the flags are not a number. The password is rendered here only when it could be empty
    /// (else nil: it is rendered when there are credentials to check, so a request without
    /// them, the first of each registration, does not render it).
    func realmPasswordFlags(
        _ ctx: MessageContext, _ realm: StringFormat, _ password: StringFormat, _ flags: IntParameter
    ) -> (String, String?, Int)? {
        let r = realm.render(ctx)
        let p = Self.neverEmpty(password) ? nil : password.render(ctx)
        guard !r.isEmpty else {
            Log.error("auth", "invalid realm value - empty content")
            return nil
        }
        if let p, p.isEmpty {
            Log.error("auth", "invalid password value - empty content")
            return nil
        }
        guard let f = flags.value(ctx) else {
            Log.error("auth", "invalid flags value")
            return nil
        }
        return (r, p, f)
    }

    /// Whether a format always renders text: it has a literal part that is not empty.
    static func neverEmpty(_ format: StringFormat) -> Bool {
        format.parts.contains { part in
            if case .literal(let s) = part { !s.isEmpty } else { false }
        }
    }

    /// `pv_auth_check(realm, passwd, flags, checks)`: `Authorization` for REGISTER,
    /// `Proxy-Authorization` otherwise; checks 1 compares the user with From/To.
    func pvAuthCheckFunction(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let realm = try Self.nonEmpty(args, 0).stringFormat()
        let password = try Self.nonEmpty(args, 1).stringFormat()
        let flags = try Self.nonEmpty(args, 2).intParameter()
        let checks = try Self.nonEmpty(args, 3).intParameter()
        return { ctx in
            let method = ctx.message.method
            if method == .ack || method == .cancel { return AuthResultCode.ok }
            guard let (r, p, f) = self.realmPasswordFlags(ctx, realm, password, flags) else { return -1 }
            guard let c = checks.value(ctx) else {
                Log.error("auth", "invalid checks value")
                return -1
            }
            let header: DigestCredentialsHeader = method == .register ? .authorization : .proxyAuthorization
            var checked: DigestCredentials?
            let result = self.authenticate(
                ctx, realm: r, password: { p ?? password.render(ctx) }, flags: f, header: header, method: nil,
                keepChecked: c & 1 != 0, checked: &checked)
            guard result == AuthResultCode.ok, c & 1 != 0 else { return result }
            guard let checked else { return method == .prack ? AuthResultCode.ok : AuthResultCode.error }
            return self.checkIdentity(ctx, user: checked.user, skipForwarding: false, useDomain: self.useDomain != 0)
        }
    }

    /// `auth_get_www_authenticate(realm, flags, pv)`: the challenge header (with CRLF) in a
    /// PV, with a nonce that has no extra checks.
    func getWWWAuthenticateFunction(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let realm = try Self.nonEmpty(args, 0).stringFormat()
        let flags = try Self.nonEmpty(args, 1).intParameter()
        let pv = try Self.nonEmpty(args, 2).pseudoVariable()
        guard let set = pv.set else { throw FixupError("auth: result pvar is not writeble", at: args[2].location) }
        return { ctx in
            let r = realm.render(ctx)
            guard !r.isEmpty, let f = flags.value(ctx) else { return -1 }
            let line = self.challengeHeader(
                nil, realm: r, qop: Self.challengeQOP(f), stale: f & 16 != 0, header: .authorization)
            _ = set(ctx, .string(line))
            return 1
        }
    }

    /// `has_credentials(realm)`: 1 when `Proxy-Authorization` or `Authorization` has
    /// credentials for the realm.
    func hasCredentials(_ ctx: MessageContext, realm: String) -> Int {
        for kind in [DigestCredentialsHeader.proxyAuthorization, .authorization] {
            if case .success(_?) = DigestCredentialsParser.find(ctx.message, realm: realm, kind: kind) { return 1 }
        }
        return -1
    }
}

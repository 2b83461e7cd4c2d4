import SwiftletSDK
import SwiftletSIP

/// The script functions of Kamailio's `auth_db_mod.c` `cmds[]`, with their fixups.
extension AuthDBModule {
    var functions: [ScriptFunction] {
        [
            ScriptFunction("www_authorize", parameters: 2, routes: .request) { args throws(FixupError) in
                try self.authorizeFunction(args, .authorization)
            },
            ScriptFunction("www_authenticate", parameters: 2...3, routes: .request) { args throws(FixupError) in
                try self.authorizeFunction(args, .authorization)
            },
            ScriptFunction("proxy_authorize", parameters: 2, routes: .request) { args throws(FixupError) in
                try self.authorizeFunction(args, .proxyAuthorization)
            },
            ScriptFunction("proxy_authenticate", parameters: 2, routes: .request) { args throws(FixupError) in
                try self.authorizeFunction(args, .proxyAuthorization)
            },
            ScriptFunction("auth_check", parameters: 3, routes: .request) { args throws(FixupError) in
                let realm = try Self.nonEmpty(args, 0).stringFormat()
                let table = try Self.nonEmpty(args, 1).stringFormat()
                let flags = try Self.nonEmpty(args, 2).intParameter()
                return { ctx in
                    let m = ctx.message.method
                    if m == .ack || m == .cancel { return AuthResultCode.ok }
                    guard let f = flags.value(ctx) else {
                        Log.error("auth_db", "invalid flags parameter")
                        return AuthResultCode.error
                    }
                    return self.authCheck(ctx, realm: realm.render(ctx), table: table.render(ctx), flags: f)
                }
            },
            ScriptFunction("is_subscriber", parameters: 3, routes: .any) { args throws(FixupError) in
                let uri = try Self.nonEmpty(args, 0).stringFormat()
                let table = try Self.nonEmpty(args, 1).stringFormat()
                let flags = try Self.nonEmpty(args, 2).intParameter()
                return { ctx in
                    guard let f = flags.value(ctx) else { return -1 }
                    return self.isSubscriber(ctx, uri: uri.render(ctx), table: table.render(ctx), flags: f)
                }
            },
        ]
    }

    /// Kamailio refuses empty parameters at start-up ("empty parameter N not allowed").
    static func nonEmpty(_ args: [ScriptArgument], _ i: Int) throws(FixupError) -> ScriptArgument {
        if case .string(let s) = args[i].value, s.isEmpty {
            throw FixupError("auth_db: empty parameter \(i + 1) not allowed", at: args[i].location)
        }
        return args[i]
    }

    /// `www_authorize(realm, table)`, `www_authenticate(realm, table[, method])`,
    /// `proxy_authorize(realm, table)`: the table is a name (its version is checked at
    /// start-up), realm and method may hold PVs.
    func authorizeFunction(_ args: [ScriptArgument], _ header: DigestCredentialsHeader) throws(FixupError)
        -> ScriptAction
    {
        let realm = try Self.nonEmpty(args, 0).stringFormat()
        let table = try Self.nonEmpty(args, 1).constantString()
        tablesToCheck.insert(table)
        let method = args.count > 2 ? try Self.nonEmpty(args, 2).stringFormat() : nil
        return { ctx in
            let r = realm.render(ctx)
            guard !r.isEmpty else {
                Log.error("auth_db", "invalid realm parameter - empty value")
                return AuthResultCode.error
            }
            var m = ctx.message.methodText
            if let method {
                m = method.render(ctx)
                guard !m.isEmpty else {
                    Log.error("auth_db", "invalid method parameter - empty value")
                    return AuthResultCode.error
                }
            }
            return self.authenticate(ctx, realm: r, table: table, header: header, method: m).0
        }
    }
}

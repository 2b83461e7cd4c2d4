import SwiftletSDK
import SwiftletSIP

/// Kamailio's `authorize.c`: the subscriber lookup and the digest check around it.
extension AuthDBModule {
    /// The result of looking up a subscriber's HA1.
    enum HA1Lookup {
        case found(ha1: String, row: [DatabaseValue])
        case unknownUser
        case failed
    }

    /// `get_ha1`: the user part of the credentials' username, and its domain part (else the
    /// realm) when `use_domain` is set; `ha1b` (`password_column_2`) when the username has a
    /// domain, unless the password is plain text (`calculate_ha1`).
    func lookupHA1(_ c: DigestCredentials, realm: String, table: String) -> HA1Lookup {
        let passwordColumn = !c.domain.isEmpty && calculateHA1 == 0 ? passwordColumn2 : self.passwordColumn
        var conditions = [DatabaseCondition(userColumn, .equal, .string(c.user))]
        if useDomain != 0 {
            conditions.append(DatabaseCondition(domainColumn, .equal, .string(c.domain.isEmpty ? realm : c.domain)))
        }
        let result: DatabaseResult
        do {
            result = try db.query(table, columns: [passwordColumn] + credentials.map(\.column), where: conditions)
        } catch {
            Log.error("auth_db", "failed to query database: \(error)")
            return .failed
        }
        guard let row = result.rows.first else {
            Log.debug("auth_db", "no result for user '\(c.user)@\(realm)'")
            return .unknownUser
        }
        let stored = row[0].textValue ?? ""
        let ha1 = calculateHA1 != 0 ? auth.ha1(username: c.username ?? "", realm: realm, password: stored) : stored
        return .found(ha1: ha1, row: row)
    }

    /// `generate_avps`: the `load_credentials` columns (after the password) into their PVs.
    func generateAVPs(_ ctx: MessageContext, _ values: ArraySlice<DatabaseValue>) {
        for (cred, value) in zip(credentials, values) {
            let v: PVValue
            switch value {
            case .null: v = .null
            case .int, .bigint: v = .int(value.intValue ?? 0)
            default: v = .string(value.textValue ?? "")
            }
            _ = cred.pv.set?(ctx, v)
        }
    }

    /// `digest_authenticate_hdr`: checks the credentials for `realm` in `header` against the
    /// subscriber in `table`. Returns Kamailio's codes and the credentials used.
    func authenticate(
        _ ctx: MessageContext, realm: String, table: String, header: DigestCredentialsHeader, method: String
    ) -> (Int, DigestCredentials?) {
        let c: DigestCredentials
        switch auth.preAuthenticate(ctx, realm: realm, header: header) {
        case .authenticated: return (AuthResultCode.ok, nil)
        case .nonceReused: return (AuthResultCode.nonceReused, nil)
        case .staleNonce: return (AuthResultCode.staleNonce, nil)
        case .noCredentials: return (AuthResultCode.noCredentials, nil)
        case .error: return (AuthResultCode.error, nil)
        case .authenticate(let found): c = found
        }
        let (ha1, row): (String, [DatabaseValue])
        switch lookupHA1(c, realm: auth.strippedRealm(realm), table: table) {
        case .failed: return (AuthResultCode.error, c)
        case .unknownUser: return (AuthResultCode.userUnknown, c)
        case .found(let h, let r): (ha1, row) = (h, r)
        }
        if forceGenerateAVPs != 0 { generateAVPs(ctx, row.dropFirst()) }
        switch auth.checkResponse(c, method: method, ha1: ha1, context: ctx) {
        case .authenticated:
            guard auth.postAuthenticate(ctx, credentials: c, ha1: ha1) else { return (AuthResultCode.error, c) }
            if forceGenerateAVPs == 0 { generateAVPs(ctx, row.dropFirst()) }
            return (AuthResultCode.ok, c)
        case .notAuthenticated: return (AuthResultCode.invalidPassword, c)
        case .badCredentials: return (AuthResultCode.error, c)
        }
    }

    /// `auth_check(realm, table, flags)`: `Authorization` for REGISTER, `Proxy-Authorization`
    /// otherwise; flags 1 compares the user with From/To (2: not for requests that are
    /// forwarded on behalf of someone, INVITE, BYE, PRACK, UPDATE, MESSAGE).
    func authCheck(_ ctx: MessageContext, realm: String, table: String, flags: Int) -> Int {
        let method = ctx.message.method
        if method == .ack || method == .cancel { return AuthResultCode.ok }
        guard !realm.isEmpty else {
            Log.error("auth_db", "invalid realm parameter - empty value")
            return AuthResultCode.error
        }
        guard !table.isEmpty else {
            Log.error("auth_db", "invalid table parameter - empty value")
            return AuthResultCode.error
        }
        let header: DigestCredentialsHeader = method == .register ? .authorization : .proxyAuthorization
        let (result, c) = authenticate(ctx, realm: realm, table: table, header: header, method: ctx.message.methodText)
        guard result == AuthResultCode.ok, let c, flags & 1 != 0 else { return result }
        return auth.checkIdentity(ctx, user: c.user, skipForwarding: flags & 2 != 0, useDomain: useDomain != 0)
    }

    /// `is_subscriber(uri, table, flags)`: 1 when the URI's user (and host with flags 1) has
    /// a row; the `load_credentials` columns are loaded unless flags 2. -2 when there is
    /// none, -1 on an error.
    func isSubscriber(_ ctx: MessageContext, uri: String, table: String, flags: Int) -> Int {
        let bytes = Array(uri.utf8)
        guard !bytes.isEmpty, let u = try? URIComponents.parse(bytes, 0..<bytes.count) else {
            Log.error("auth_db", "invalid uri parameter")
            return -1
        }
        guard !table.isEmpty else { return -1 }
        var conditions = [
            DatabaseCondition(
                userColumn, .equal, .string(u.user.map { String(decoding: bytes[$0], as: UTF8.self) } ?? ""))
        ]
        if flags & 1 != 0 {
            conditions.append(
                DatabaseCondition(domainColumn, .equal, .string(String(decoding: bytes[u.host], as: UTF8.self))))
        }
        let skip = flags & 2 != 0 || credentials.isEmpty
        let result: DatabaseResult
        do {
            result = try db.query(
                table, columns: skip ? [userColumn] : credentials.map(\.column), where: conditions)
        } catch {
            Log.error("auth_db", "failed to query database: \(error)")
            return -1
        }
        guard let row = result.rows.first else { return -2 }
        if !skip { generateAVPs(ctx, row[...]) }
        return 1
    }
}

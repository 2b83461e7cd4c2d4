import SwiftletSDK
import SwiftletSIP

/// Kamailio's `alookup.c`: the query and what is done with its rows.
extension AliasDBModule {
    /// `alias_db_query`: the URI's user (and host without `domain_prefix` with the domain
    /// flag) as alias (or, reversed, as user); each row as `sip:user@domain`, in the order the
    /// database returns them. nil on an error or when there is no row.
    func query(table: String, user: String, host: String, flags: Flags) -> [String]? {
        let reverse = flags.contains(.reverse)
        let keys = reverse ? [userColumn, domainColumn] : [aliasUserColumn, aliasDomainColumn]
        let columns = reverse ? [aliasUserColumn, aliasDomainColumn] : [userColumn, domainColumn]
        var conditions = [DatabaseCondition(keys[0], .equal, .str(user))]
        if flags.contains(.domain) { conditions.append(DatabaseCondition(keys[1], .equal, .str(stripped(host)))) }
        let result: DatabaseResult
        do {
            result = try db.query(table, columns: columns, where: conditions)
        } catch {
            Log.error("alias_db", "failed to query database: \(error)")
            return nil
        }
        guard let first = result.rows.first, !first[0].isNull else {
            Log.debug("alias_db", "no alias found for R-URI")
            return nil
        }
        return result.rows.map { "sip:\($0[0].textValue ?? "")@\($0[1].textValue ?? "")" }
    }

    /// The host without `domain_prefix` when it starts with it (case-insensitive) and is longer.
    func stripped(_ host: String) -> String {
        let p = domainPrefix.utf8.count
        guard p > 0, p < host.utf8.count, host.lowercased().hasPrefix(domainPrefix.lowercased()) else { return host }
        return String(decoding: host.utf8.dropFirst(p), as: UTF8.self)
    }

    /// `alias_db_lookup(table[, flags])`: the first result becomes the Request-URI, the
    /// others new branches (q=0, `MIN_Q`) with `append_branches`. 1, or -1 when nothing was found.
    func lookup(_ ctx: MessageContext, table: String, flags: Flags) -> Int {
        guard let ruri = ctx.requestURI, let u = uriUserHost(ruri) else { return -1 }
        guard let uris = query(table: table, user: u.user, host: u.host, flags: flags) else { return -1 }
        ctx.newRequestURI = uris[0]
        if appendBranches != 0 {
            for uri in uris.dropFirst() { ctx.branches.append(Branch(uri: uri, q: 0)) }
        }
        return 1
    }

    /// `alias_db_find(table, input, output[, flags])`: the URI in `input` looked up, the first
    /// result written to `output` (the others too with `append_branches`: an AVP gets each as
    /// a value, a `$var` keeps the last). 1, or -1 when nothing was found.
    func find(_ ctx: MessageContext, table: String, input: PseudoVariable, output: PseudoVariable, flags: Flags) -> Int
    {
        guard case .string(let text) = input.get(ctx) else {
            Log.error("alias_db", "PV vals is not string")
            return -1
        }
        guard let u = uriUserHost(text) else {
            Log.error("alias_db", "failed to parse uri \(text)")
            return -1
        }
        guard let uris = query(table: table, user: u.user, host: u.host, flags: flags) else { return -1 }
        for uri in appendBranches != 0 ? uris[...] : uris.prefix(1) {
            guard output.set?(ctx, .string(uri)) == true else {
                Log.error("alias_db", "setting PV AVP failed")
                return -1
            }
        }
        return 1
    }
}

/// The user and host of the SIP URI in `b[range]` (Kamailio's `parse_uri`), nil when it
/// does not parse.
func uriUserHost(_ b: [UInt8], _ range: Range<Int>) -> (user: String, host: String)? {
    guard let u = try? URIComponents.parse(b, range) else { return nil }
    return (u.user.map { String(decoding: b[$0], as: UTF8.self) } ?? "", String(decoding: b[u.host], as: UTF8.self))
}

/// The user and host of a SIP URI written as text.
func uriUserHost(_ text: String) -> (user: String, host: String)? {
    let b = Array(text.utf8)
    return uriUserHost(b, 0..<b.count)
}

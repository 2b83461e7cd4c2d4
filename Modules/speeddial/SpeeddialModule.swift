import SwiftletSDK
import SwiftletSIP

/// Kamailio's `speeddial` module (5.6): `sd_lookup(table [, owner])` rewrites a short
/// Request-URI user (the "speed dial" number) with the `new_uri` its owner stored in a
/// `speed_dial` table, read through a database driver module (db_postgres, db_mysql).
final class SpeeddialModule {
    var dbURL = "mysql://kamailioro:kamailioro@localhost/kamailio"
    var userColumn = "username"
    var domainColumn = "domain"
    var sdUserColumn = "sd_username"
    var sdDomainColumn = "sd_domain"
    var newURIColumn = "new_uri"
    var useDomain = 0
    var domainPrefix = ""

    var db: Database!

    var exports: ModuleExports {
        let e = ModuleExports(name: "speeddial")
        func string(_ name: String, _ set: @escaping (String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(v) })
        }
        e.parameters = [
            string("db_url") { self.dbURL = $0 },
            string("user_column") { self.userColumn = $0 },
            string("domain_column") { self.domainColumn = $0 },
            string("sd_user_column") { self.sdUserColumn = $0 },
            string("sd_domain_column") { self.sdDomainColumn = $0 },
            string("new_uri_column") { self.newURIColumn = $0 },
            ModuleParameter("use_domain", .int { (v: Int) throws(FixupError) in self.useDomain = v }),
            string("domain_prefix") { self.domainPrefix = $0 },
        ]
        e.functions = [
            ScriptFunction("sd_lookup", parameters: 1...2, routes: .request) { args throws(FixupError) in
                let table = try args[0].stringFormat()
                let owner = args.count > 1 ? try args[1].stringFormat() : nil
                return { ctx in self.lookup(ctx, table: table.render(ctx), owner: owner?.render(ctx)) }
            }
        ]
        e.initialize = { (context: ModuleInitContext) in
            do {
                self.db = try Database(url: self.dbURL, core: context.core)
            } catch {
                throw FixupError("speeddial: failed to bind database module for \(self.dbURL): \(error)")
            }
        }
        e.destroy = { self.db?.disconnect() }
        return e
    }

    /// The host without `domain_prefix` when it starts with it (and is longer).
    func stripped(_ host: String) -> String {
        let p = domainPrefix.utf8
        let h = host.utf8
        guard !p.isEmpty, p.count < h.count, host.lowercased().utf8.starts(with: domainPrefix.lowercased().utf8)
        else { return host }
        return String(decoding: h.dropFirst(p.count), as: UTF8.self)
    }

    /// `sd_lookup_owner`: the owner is `owner` (a SIP URI) or the From URI; its user (and host
    /// with `use_domain` ≥ 1) and the Request-URI user (and host with `use_domain` ≥ 2) select
    /// the row whose `new_uri` (with `sip:` put in front when missing) becomes the Request-URI.
    /// 1 when rewritten, -1 when there is no row or on an error.
    func lookup(_ ctx: MessageContext, table: String, owner: String?) -> Int {
        guard !table.isEmpty else {
            Log.error("speeddial", "invalid table parameter")
            return -1
        }
        let ownerParts: (user: String, host: String)
        if let owner, !owner.isEmpty {
            guard let p = uriUserHost(owner) else {
                Log.error("speeddial", "bad owner SIP address!")
                return -1
            }
            ownerParts = p
        } else {
            guard let na = try? ctx.message.from(), let p = uriUserHost(ctx.message.buffer, na.uri) else {
                Log.error("speeddial", "failed to parse FROM header")
                return -1
            }
            ownerParts = p
        }
        guard let ruri = ctx.requestURI, let r = uriUserHost(ruri) else {
            Log.error("speeddial", "failed to parsing Request-URI")
            return -1
        }
        var conditions = [DatabaseCondition(userColumn, .equal, .str(ownerParts.user))]
        if useDomain >= 1 {
            conditions.append(DatabaseCondition(domainColumn, .equal, .str(stripped(ownerParts.host))))
        }
        conditions.append(DatabaseCondition(sdUserColumn, .equal, .str(r.user)))
        if useDomain >= 2 { conditions.append(DatabaseCondition(sdDomainColumn, .equal, .str(stripped(r.host)))) }
        let result: DatabaseResult
        do {
            result = try db.query(table, columns: [newURIColumn], where: conditions)
        } catch {
            Log.error("speeddial", "failed to query database: \(error)")
            return -1
        }
        guard let row = result.rows.first, let text = row[0].textValue else {
            Log.debug("speeddial", "no sip address found for R-URI")
            return -1
        }
        ctx.newRequestURI = text.hasPrefix("sip:") ? text : "sip:" + text
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

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "speeddial") { SpeeddialModule().exports }
}

import SwiftletSDK
import SwiftletSIP

/// Kamailio's `alias_db` module (5.6): aliases of users kept in a database table
/// (`dbaliases`: alias_username, alias_domain → username, domain), read through a database
/// driver module (db_postgres, db_mysql). `alias_db_lookup` rewrites the Request-URI,
/// `alias_db_find` writes the result into a PV.
final class AliasDBModule {
    var dbURL = "mysql://kamailioro:kamailioro@localhost/kamailio"
    var userColumn = "username"
    var domainColumn = "domain"
    var aliasUserColumn = "alias_username"
    var aliasDomainColumn = "alias_domain"
    var useDomain = 0
    var domainPrefix = ""
    var appendBranches = 0

    var db: Database!

    /// `ALIAS_REVERSE_FLAG` and `ALIAS_DOMAIN_FLAG` of alias_db.h.
    struct Flags: OptionSet {
        let rawValue: Int
        static let reverse = Flags(rawValue: 1 << 0)
        static let domain = Flags(rawValue: 1 << 1)
    }

    var exports: ModuleExports {
        let e = ModuleExports(name: "alias_db")
        func string(_ name: String, _ set: @escaping (String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(v) })
        }
        e.parameters = [
            string("db_url") { self.dbURL = $0 },
            string("user_column") { self.userColumn = $0 },
            string("domain_column") { self.domainColumn = $0 },
            string("alias_user_column") { self.aliasUserColumn = $0 },
            string("alias_domain_column") { self.aliasDomainColumn = $0 },
            ModuleParameter("use_domain", .int { (v: Int) throws(FixupError) in self.useDomain = v }),
            string("domain_prefix") { self.domainPrefix = $0 },
            ModuleParameter("append_branches", .int { (v: Int) throws(FixupError) in self.appendBranches = v }),
        ]
        e.functions = functions
        e.initialize = { (context: ModuleInitContext) in
            do {
                self.db = try Database(url: self.dbURL, core: context.core)
            } catch {
                throw FixupError("alias_db: unable to bind database module for \(self.dbURL): \(error)")
            }
        }
        e.destroy = { self.db?.disconnect() }
        return e
    }

    /// The default flags: `domain` when `use_domain` is set.
    var defaultFlags: Flags { useDomain != 0 ? .domain : [] }

    /// `alias_flags_fixup`: `d` (no domain), `r` (reverse: user → alias), `u` (domain),
    /// starting from `use_domain`; other letters are refused.
    func flags(_ arg: ScriptArgument) throws(FixupError) -> Flags {
        var f = defaultFlags
        for c in try arg.constantString() {
            switch c {
            case "d", "D": f.remove(.domain)
            case "r", "R": f.insert(.reverse)
            case "u", "U": f.insert(.domain)
            default: throw FixupError("alias_db: unsupported flag '\(c)'", at: arg.location)
            }
        }
        return f
    }

    var functions: [ScriptFunction] {
        [
            ScriptFunction("alias_db_lookup", parameters: 1...2, routes: [.request, .failure]) {
                args throws(FixupError) in
                let table = try args[0].stringFormat()
                let f = args.count > 1 ? try self.flags(args[1]) : nil
                return { ctx in self.lookup(ctx, table: table.render(ctx), flags: f ?? self.defaultFlags) }
            },
            ScriptFunction(
                "alias_db_find", parameters: 3...4, routes: [.request, .failure, .onReply, .branch, .local]
            ) { args throws(FixupError) in
                let table = try args[0].stringFormat()
                let input = try args[1].pseudoVariable()
                let output = try args[2].pseudoVariable()
                guard output.set != nil, output.text.hasPrefix("$avp(") || output.text.hasPrefix("$var(") else {
                    throw FixupError("alias_db: PV type (param 3) cannot be written", at: args[2].location)
                }
                let f = args.count > 3 ? try self.flags(args[3]) : nil
                return { ctx in
                    self.find(
                        ctx, table: table.render(ctx), input: input, output: output, flags: f ?? self.defaultFlags)
                }
            },
        ]
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "alias_db") { AliasDBModule().exports }
}

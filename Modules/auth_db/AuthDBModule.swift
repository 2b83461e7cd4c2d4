import SwiftletSDK
import SwiftletSIP

/// Kamailio's `auth_db` module (5.6): digest authentication against a subscriber table
/// (username, domain, ha1, ha1b or a plain password) through the auth module's
/// `DigestAuthAPI` and a database driver module (db_postgres, db_mysql).
final class AuthDBModule {
    var dbURL = "mysql://kamailioro:kamailioro@localhost/kamailio"
    var userColumn = "username"
    var domainColumn = "domain"
    var passwordColumn = "ha1"
    var passwordColumn2 = "ha1b"
    var calculateHA1 = 0
    var useDomain = 0
    var loadCredentials = ""
    var versionTable = 1
    var forceGenerateAVPs = 0

    /// The subscriber table version auth_db works with (`TABLE_VERSION`).
    static let tableVersion = 7

    var db: Database!
    var auth: DigestAuthAPI!
    /// `load_credentials`: column and the PV it is written to.
    var credentials: [(column: String, pv: PseudoVariable)] = []
    /// Tables named as constants in `www_authorize`/`proxy_authorize`: their version is
    /// checked at start-up (Kamailio checks it in the fixup).
    var tablesToCheck: Set<String> = []

    var exports: ModuleExports {
        let e = ModuleExports(name: "auth_db")
        func int(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(v) })
        }
        func string(_ name: String, _ set: @escaping (String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(v) })
        }
        e.parameters = [
            string("db_url") { self.dbURL = $0 },
            string("user_column") { self.userColumn = $0 },
            string("domain_column") { self.domainColumn = $0 },
            string("password_column") { self.passwordColumn = $0 },
            string("password_column_2") { self.passwordColumn2 = $0 },
            int("calculate_ha1") { self.calculateHA1 = $0 },
            int("use_domain") { self.useDomain = $0 },
            ModuleParameter(
                "load_credentials",
                .string { (v: String) throws(FixupError) in
                    self.loadCredentials = v
                    self.credentials = try Self.parseCredentials(v)
                }),
            int("version_table") { self.versionTable = $0 },
            int("force_generate_avps") { self.forceGenerateAVPs = $0 },
        ]
        e.functions = functions
        e.initialize = { (context: ModuleInitContext) in try self.initialize(context) }
        e.destroy = { self.db?.disconnect() }
        return e
    }

    /// `mod_init`: the driver of `db_url`, the auth API, and the version of the tables.
    func initialize(_ context: ModuleInitContext) throws {
        auth = try context.requireAPI(DigestAuthAPI.self, by: "auth_db", from: "auth")
        do {
            db = try Database(url: dbURL, core: context.core)
        } catch {
            throw FixupError("auth_db: unable to bind to a database driver for \(dbURL): \(error)")
        }
        guard versionTable != 0 else { return }
        for table in tablesToCheck.sorted() {
            do {
                try db.checkTableVersion(table, version: Self.tableVersion)
            } catch {
                throw FixupError("auth_db: table \(table): \(error)")
            }
        }
    }

    /// `parse_aaa_pvs`: `column` (into `$avp(column)`) or `pv=column`, separated by `;`.
    static func parseCredentials(_ text: String) throws(FixupError) -> [(column: String, pv: PseudoVariable)] {
        var out: [(column: String, pv: PseudoVariable)] = []
        for item in text.split(separator: ";", omittingEmptySubsequences: true) {
            let column: String
            let pvText: String
            if let eq = item.lastIndex(of: "="), eq > item.startIndex {
                column = String(item[item.index(after: eq)...]).trimmingCharacters()
                pvText = String(item[..<eq]).trimmingCharacters()
            } else {
                column = String(item).trimmingCharacters()
                pvText = "$avp(\(column))"
            }
            guard !column.isEmpty, !pvText.isEmpty else {
                throw FixupError("auth_db: parse failed in \"\(text)\" at \"\(item)\"")
            }
            let pv: PseudoVariable
            do {
                pv = try PseudoVariableRegistry.shared.compile(pvText)
            } catch {
                throw FixupError("auth_db: PV is not writeable: \(pvText)")
            }
            guard pv.set != nil else { throw FixupError("auth_db: PV is not writeable: \(pvText)") }
            out.append((column, pv))
        }
        return out
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "auth_db") { AuthDBModule().exports }
}

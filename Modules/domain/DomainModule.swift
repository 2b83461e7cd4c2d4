import SwiftletSDK
import SwiftletSIP
import Synchronization

/// Kamailio's `domain` module (5.6): the domains this server is responsible for, kept in
/// memory from the `domain` and `domain_attrs` tables (read through a database driver
/// module) and reloaded by the `domain.reload` RPC.
final class DomainModule: @unchecked Sendable {
    var dbURL = "mysql://kamailioro:kamailioro@localhost/kamailio"
    var domainTable = "domain"
    var domainAttrsTable = "domain_attrs"
    var didColumn = "did"
    var domainColumn = "domain"
    var nameColumn = "name"
    var typeColumn = "type"
    var valueColumn = "value"
    var registerMyself = 0

    /// `DOMAIN_TABLE_VERSION`, `DOMAIN_ATTRS_TABLE_VERSION`.
    static let domainTableVersion = 2
    static let domainAttrsTableVersion = 1

    var db: Database!
    /// The loaded tables, replaced as a whole by a reload (Kamailio's two hash tables).
    let current = Mutex(DomainSet())
    /// One reload at a time (`reload_lock`).
    let reloadLock = Mutex(())

    var exports: ModuleExports {
        let e = ModuleExports(name: "domain")
        func string(_ name: String, _ set: @escaping (String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(v) })
        }
        e.parameters = [
            string("db_url") { self.dbURL = $0 },
            string("domain_table") { self.domainTable = $0 },
            string("domain_attrs_table") { self.domainAttrsTable = $0 },
            string("did_col") { self.didColumn = $0 },
            string("domain_col") { self.domainColumn = $0 },
            string("name_col") { self.nameColumn = $0 },
            string("type_col") { self.typeColumn = $0 },
            string("value_col") { self.valueColumn = $0 },
            ModuleParameter("register_myself", .int { (v: Int) throws(FixupError) in self.registerMyself = v }),
        ]
        e.functions = functions
        e.rpcs = rpcs
        e.initialize = { (context: ModuleInitContext) in try self.initialize(context) }
        e.destroy = { self.db?.disconnect() }
        return e
    }

    /// `mod_init`: the driver, the tables' versions, the first load, and the `myself` check.
    func initialize(_ context: ModuleInitContext) throws {
        do {
            db = try Database(url: dbURL, core: context.core)
        } catch {
            throw FixupError("domain: no database module found for \(dbURL): \(error)")
        }
        defer { db.disconnect() }
        do {
            try db.checkTableVersion(domainTable, version: Self.domainTableVersion)
            try db.checkTableVersion(domainAttrsTable, version: Self.domainAttrsTableVersion)
        } catch {
            throw FixupError("domain: \(error)")
        }
        guard reload() else { throw FixupError("domain: reload of domain table failed") }
        if registerMyself != 0 {
            MyselfCallbacks.register("domain") { [self] host, _, _ in self.isLocal(host) }
        }
    }

    /// `hash_table_lookup`: the domain (case-insensitive) when it is in the table.
    func find(_ host: String) -> DomainSet.Entry? {
        current.withLock { $0.find(host) }
    }

    func isLocal(_ host: String) -> Bool { find(host) != nil }

    /// `reload_tables`: reads both tables into a new set and makes it current; false (the old
    /// set stays) on a database error or a bad row.
    @discardableResult
    func reload() -> Bool {
        reloadLock.withLock { _ in
            defer { db.disconnect() }
            do {
                let set = try loadTables()
                current.withLock { $0 = set }
                return true
            } catch {
                Log.error("domain", "\(error)")
                return false
            }
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "domain") { DomainModule().exports }
}

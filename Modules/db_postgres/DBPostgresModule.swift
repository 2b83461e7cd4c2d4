import SwiftletSDK

/// The `db_postgres` module: the PostgreSQL driver (libpq) for `postgres://` database URLs,
/// which other modules use through the SDK's `Database` handle (Kamailio's srdb1 API).
final class DBPostgresModule {
    let driver = PostgresDriver()

    var exports: ModuleExports {
        let e = ModuleExports(name: "db_postgres")
        e.parameters = [
            ModuleParameter(
                "retries", .int { (v: Int) throws(FixupError) in self.driver.settings.retries = max(0, v) }),
            ModuleParameter(
                "timeout", .int { (v: Int) throws(FixupError) in self.driver.settings.timeoutSeconds = max(0, v) }),
            ModuleParameter(
                "tcp_keepalive",
                .int { (v: Int) throws(FixupError) in self.driver.settings.keepaliveSeconds = max(0, v) }),
            ModuleParameter(
                "con_param",
                .string { (v: String) throws(FixupError) in
                    // "name=value" (several with ';'), passed to libpq's conninfo.
                    for pair in v.split(separator: ";") {
                        let kv = pair.split(separator: "=", maxSplits: 1)
                        guard kv.count == 2 else { throw FixupError("db_postgres: con_param '\(v)' is not name=value") }
                        self.driver.settings.extra.append((String(kv[0]), String(kv[1])))
                    }
                }),
            // Accepted for Kamailio configurations; nothing to tune here.
            ModuleParameter("lockset", .int { (_: Int) throws(FixupError) in }),
            ModuleParameter("bytea_output_escape", .int { (_: Int) throws(FixupError) in }),
        ]
        e.provideDatabaseDriver(driver)
        return e
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "db_postgres") { DBPostgresModule().exports }
}

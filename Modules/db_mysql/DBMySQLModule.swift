import SwiftletSDK

/// The `db_mysql` module: the MySQL/MariaDB driver (MariaDB Connector/C) for `mysql://`
/// database URLs, which other modules use through the SDK's `Database` handle (Kamailio's
/// srdb1 API).
final class DBMySQLModule {
    let driver = MySQLDriver()

    var exports: ModuleExports {
        let e = ModuleExports(name: "db_mysql")
        e.parameters = [
            ModuleParameter(
                "connect_timeout",
                .int { (v: Int) throws(FixupError) in self.driver.settings.connectTimeout = max(0, v) }),
            ModuleParameter(
                "send_timeout", .int { (v: Int) throws(FixupError) in self.driver.settings.sendTimeout = max(0, v) }),
            ModuleParameter(
                "receive_timeout",
                .int { (v: Int) throws(FixupError) in self.driver.settings.receiveTimeout = max(0, v) }),
            ModuleParameter(
                "retries", .int { (v: Int) throws(FixupError) in self.driver.settings.retries = max(0, v) }),
            ModuleParameter(
                "auto_reconnect", .int { (v: Int) throws(FixupError) in self.driver.settings.autoReconnect = v != 0 }),
            ModuleParameter(
                "update_affected_found",
                .int { (v: Int) throws(FixupError) in self.driver.settings.affectedFound = v != 0 }),
            // Accepted for Kamailio configurations; the connection is checked by each statement.
            ModuleParameter("ping_interval", .int { (_: Int) throws(FixupError) in }),
            ModuleParameter("timeout_interval", .int { (_: Int) throws(FixupError) in }),
            ModuleParameter("server_timezone", .int { (_: Int) throws(FixupError) in }),
        ]
        e.provideDatabaseDriver(driver)
        return e
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "db_mysql") { DBMySQLModule().exports }
}

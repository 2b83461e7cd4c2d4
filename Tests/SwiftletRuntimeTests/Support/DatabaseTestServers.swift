import Foundation

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// The database engines the tests run against, each with one private server for the
/// whole test run (started on first use, stopped when the test process exits).
enum DatabaseEngine: String, CaseIterable, CustomStringConvertible, Sendable {
    case postgres
    case mysql

    var description: String { rawValue }
    /// The driver module.
    var module: String { self == .postgres ? "db_postgres" : "db_mysql" }

    var isInstalled: Bool { self == .postgres ? postgresBinDirectory != nil : mariadbServerPath != nil }

    /// The shared server's URL, starting the server on first use.
    func url() throws -> String {
        switch self {
        case .postgres: try SharedDatabaseServers.postgres().url
        case .mysql: try SharedDatabaseServers.mariadb().url
        }
    }

    /// Runs SQL text on the shared server through its command-line client.
    @discardableResult
    func sql(_ text: String) throws -> String {
        switch self {
        case .postgres: try SharedDatabaseServers.postgres().psql(text)
        case .mysql: try SharedDatabaseServers.mariadb().sql(text)
        }
    }

    /// Stops and starts the shared server again (same port and data).
    func restart() throws {
        switch self {
        case .postgres:
            let s = try SharedDatabaseServers.postgres()
            s.stop()
            try s.start()
        case .mysql:
            let s = try SharedDatabaseServers.mariadb()
            s.stop()
            try s.start()
        }
    }

    /// Creates `tables` (all of Kamailio's when empty) afresh with scripts/dbschema.sh.
    func createSchema(_ tables: [String] = []) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/dbschema.sh").path
        let text = try runProcess("/bin/bash", [script, rawValue, "--drop"] + tables)
        try sql(text)
    }

    /// An embedded core with only the driver module loaded, and a `Database` on the shared server.
    func open(url: String? = nil) throws -> (EmbeddedCore, Database) {
        let core = try EmbeddedCore(
            config: """
                listen=udp:127.0.0.1:5060
                loadmodule "\(module).so"
                request_route { drop; }
                """, modulePath: productsDirectory)
        return (core, try Database(url: url ?? self.url(), core: core.context))
    }
}

/// The servers behind `DatabaseEngine` (one each per test process).
enum SharedDatabaseServers {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var pg: PostgresTestServer?
    nonisolated(unsafe) private static var my: MariaDBTestServer?
    nonisolated(unsafe) private static var registered = false

    static func postgres() throws -> PostgresTestServer {
        lock.lock()
        defer { lock.unlock() }
        if let pg { return pg }
        let s = try PostgresTestServer()
        pg = s
        registerExit()
        return s
    }

    static func mariadb() throws -> MariaDBTestServer {
        lock.lock()
        defer { lock.unlock() }
        if let my { return my }
        let s = try MariaDBTestServer()
        my = s
        registerExit()
        return s
    }

    private static func registerExit() {
        if registered { return }
        registered = true
        atexit {
            SharedDatabaseServers.pg?.stop()
            SharedDatabaseServers.pg?.removeDirectory()
            SharedDatabaseServers.my?.stop()
            SharedDatabaseServers.my?.removeDirectory()
        }
    }
}

import CLibPQ
import SwiftletSDK

/// Connection settings from the module parameters.
struct PostgresSettings {
    /// `retries`: reconnect attempts after a broken connection (Kamailio's default 2).
    var retries = 2
    /// `timeout`: seconds to wait for a connection (libpq `connect_timeout`; 0: none).
    var timeoutSeconds = 0
    /// `tcp_keepalive`: seconds of idle before TCP keepalive probes (0: system default).
    var keepaliveSeconds = 0
    /// `con_param`: further libpq conninfo parameters.
    var extra: [(String, String)] = []
}

/// Opens libpq connections for `postgres://` URLs.
final class PostgresDriver: DatabaseDriver {
    let scheme = "postgres"
    var settings = PostgresSettings()
    var reconnectRetries: Int { settings.retries }

    func connect(_ url: DatabaseURL) throws(DatabaseError) -> any DatabaseConnection {
        var info: [(String, String)] = [("host", url.host), ("dbname", url.database)]
        if let port = url.port { info.append(("port", String(port))) }
        if let user = url.user { info.append(("user", user)) }
        if let password = url.password { info.append(("password", password)) }
        if settings.timeoutSeconds > 0 { info.append(("connect_timeout", String(settings.timeoutSeconds))) }
        if settings.keepaliveSeconds > 0 {
            info.append(("keepalives", "1"))
            info.append(("keepalives_idle", String(settings.keepaliveSeconds)))
        }
        info += settings.extra
        let conninfo = info.map { "\($0.0)='\(Self.escapeConninfo($0.1))'" }.joined(separator: " ")
        guard let conn = PQconnectdb(conninfo) else { throw .connection("out of memory") }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = Self.errorText(conn)
            PQfinish(conn)
            throw .connection("\(url): \(message)")
        }
        // Notices (e.g. for DDL) would go to stderr.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        return PostgresConnection(conn)
    }

    static func escapeConninfo(_ s: String) -> String {
        s.replacing("\\", with: "\\\\").replacing("'", with: "\\'")
    }

    static func errorText(_ conn: OpaquePointer) -> String {
        guard let p = PQerrorMessage(conn) else { return "unknown error" }
        return String(cString: p).trimmedLines
    }
}

extension String {
    /// Without leading and trailing spaces and line ends (libpq messages end in "\n").
    var trimmedLines: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}

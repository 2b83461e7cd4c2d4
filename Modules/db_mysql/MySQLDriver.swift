import CMariaDB
import SwiftletSDK

/// Connection settings from the module parameters (Kamailio's defaults).
struct MySQLSettings {
    /// `connect_timeout` in seconds (2).
    var connectTimeout = 2
    /// `send_timeout`, `receive_timeout` in seconds (0: the library's).
    var sendTimeout = 0
    var receiveTimeout = 0
    /// `retries`: reconnect attempts after a broken connection (1).
    var retries = 1
    /// `auto_reconnect` (1): reconnect when the server went away; 0 gives up at once.
    var autoReconnect = true
    /// `update_affected_found` (0): an UPDATE counts matched rows, not only changed ones.
    var affectedFound = false
}

/// Opens MariaDB Connector/C connections for `mysql://` URLs.
final class MySQLDriver: DatabaseDriver {
    let scheme = "mysql"
    var settings = MySQLSettings()
    var reconnectRetries: Int { settings.autoReconnect ? settings.retries : 0 }

    func connect(_ url: DatabaseURL) throws(DatabaseError) -> any DatabaseConnection {
        guard let my = mysql_init(nil) else { throw .connection("out of memory") }
        var timeout = UInt32(settings.connectTimeout)
        mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout)
        if settings.sendTimeout > 0 {
            var t = UInt32(settings.sendTimeout)
            mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &t)
        }
        if settings.receiveTimeout > 0 {
            var t = UInt32(settings.receiveTimeout)
            mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &t)
        }
        mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        let flags = UInt(settings.affectedFound ? CLIENT_FOUND_ROWS : 0)
        guard
            mysql_real_connect(
                my, url.host, url.user, url.password, url.database, UInt32(url.port ?? 0), nil, flags) != nil
        else {
            let message = String(cString: mysql_error(my))
            mysql_close(my)
            throw .connection("\(url): \(message)")
        }
        return MySQLConnection(my)
    }
}

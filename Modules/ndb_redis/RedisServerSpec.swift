import SwiftletSDK

/// One `modparam("ndb_redis", "server", "name=srvN;addr=127.0.0.1;port=6379;db=1;pass=...")`
/// definition: attributes separated by `;`, as Kamailio's `redisc_add_server` reads them.
struct RedisServerSpec: Equatable {
    var name: String
    var address = "127.0.0.1"
    var port = 6379
    /// `unix=`: a Unix socket path; wins over `addr`/`port` as in Kamailio.
    var unixPath: String?
    var database = 0
    var password: String?
    /// Per-server `connect_timeout` / `command_timeout` (ms); nil: the module's.
    var connectTimeout: Int?
    var commandTimeout: Int?

    /// Parses one definition; unknown attributes are ignored as Kamailio does, but TLS and
    /// sentinel, which Swiftlet does not support, are refused by name.
    init(parsing spec: String) throws(FixupError) {
        var text = Substring(spec)
        if text.last == ";" { text = text.dropLast() }
        var name: String?
        for item in text.split(separator: ";", omittingEmptySubsequences: true) {
            let pair = item.split(separator: "=", maxSplits: 1)
            let key = pair[0].trimmingSpaces()
            let value = pair.count > 1 ? pair[1].trimmingSpaces() : ""
            switch key {
            case "name": name = value
            case "addr": address = value
            case "port": port = Int(value) ?? 6379
            case "unix": unixPath = value
            case "db": database = Int(value) ?? 0
            case "pass": password = value
            case "connect_timeout": connectTimeout = Int(value)
            case "command_timeout": commandTimeout = Int(value)
            case "tls":
                if value != "0" {
                    throw FixupError("ndb_redis: server '\(spec)': tls is not supported by Swiftlet's ndb_redis")
                }
            case "sentinel", "sentinel_group", "sentinel_master":
                throw FixupError("ndb_redis: server '\(spec)': sentinel is not supported by Swiftlet's ndb_redis")
            default: break
            }
        }
        guard let name, !name.isEmpty else { throw FixupError("ndb_redis: no server name in '\(spec)'") }
        self.name = name
    }

    /// A server added from a cluster `MOVED` reply (`allow_dynamic_nodes`).
    init(name: String, address: String, port: Int) {
        self.name = name
        self.address = address
        self.port = port
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

/// A database URL as Kamailio's `db_url` parameters take it (srdb1's `parse_db_url`):
/// `scheme://[user[:password]@]host[:port]/database`, e.g.
/// `postgres://kamailio:secret@127.0.0.1:5432/kamailio` or `mysql://kamailio@localhost/kamailio`.
///
/// As in Kamailio: an `@` in the user name is kept when a later `@` follows
/// (`user@domain:pw@host/db`), the password runs to the last `@` (so it may contain `@`,
/// `:` and `/`), an IPv6 host is written in brackets (`[::1]:5432`), and anything after a
/// `?` in the database part is not part of the database name (it is in `parameters`).
public struct DatabaseURL: Equatable, Sendable, CustomStringConvertible {
    /// The scheme, which names the driver (`postgres` for db_postgres, `mysql` for db_mysql).
    public var scheme: String
    public var user: String?
    public var password: String?
    /// Host name or address (IPv6 without brackets).
    public var host: String
    /// The port, nil when the URL gives none (the driver's default then).
    public var port: Int?
    public var database: String
    /// `name=value` pairs after `?` in the database part (none in most URLs).
    public var parameters: [(String, String)] { Self.parameters(of: rawQuery) }
    private var rawQuery: String
    /// The URL as given.
    public let text: String

    /// Parses `text`; throws `DatabaseError.badURL` when it is not of the form above.
    public init(parsing text: String) throws(DatabaseError) {
        self.text = text
        guard text.utf8.count >= 7, let colon = text.firstIndex(of: ":"), colon > text.startIndex,
            text[colon...].hasPrefix("://")
        else { throw .badURL(text) }
        scheme = String(text[..<colon])
        var rest = Substring(text[text.index(colon, offsetBy: 3)...])
        // The database is after the first '/' following the authority; the authority may hold
        // '/' only inside the password, which ends at the last '@'.
        var authority: Substring
        if let lastAt = rest.lastIndex(of: "@"), let firstColon = rest.firstIndex(of: ":"), firstColon < lastAt {
            // user:password@host...
            let userPart = rest[..<firstColon]
            let passwordPart = rest[rest.index(after: firstColon)..<lastAt]
            user = Self.userName(userPart)
            password = String(passwordPart)
            rest = rest[rest.index(after: lastAt)...]
            guard let slash = rest.firstIndex(of: "/") else { throw .badURL(text) }
            authority = rest[..<slash]
            rest = rest[rest.index(after: slash)...]
        } else if let lastAt = rest.lastIndex(of: "@"), let slash = rest.firstIndex(of: "/"), lastAt < slash {
            user = String(rest[..<lastAt])
            password = nil
            authority = rest[rest.index(after: lastAt)..<slash]
            rest = rest[rest.index(after: slash)...]
        } else {
            user = nil
            password = nil
            guard let slash = rest.firstIndex(of: "/") else { throw .badURL(text) }
            authority = rest[..<slash]
            rest = rest[rest.index(after: slash)...]
        }
        // host[:port] or [v6][:port]
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            authority = authority[authority.index(after: close)...]
            if authority.hasPrefix(":") {
                guard let p = Int(authority.dropFirst()), p > 0, p < 65536 else { throw .badURL(text) }
                port = p
            } else if !authority.isEmpty {
                throw .badURL(text)
            } else {
                port = nil
            }
        } else if let c = authority.lastIndex(of: ":") {
            host = String(authority[..<c])
            guard let p = Int(authority[authority.index(after: c)...]), p > 0, p < 65536 else { throw .badURL(text) }
            port = p
        } else {
            host = String(authority)
            port = nil
        }
        if let q = rest.firstIndex(of: "?") {
            database = String(rest[..<q])
            rawQuery = String(rest[rest.index(after: q)...])
        } else {
            database = String(rest)
            rawQuery = ""
        }
        guard !host.isEmpty, !database.isEmpty else { throw .badURL(text) }
    }

    /// The URL with the password masked, for log lines.
    public var description: String {
        var s = scheme + "://"
        if let user { s += user + (password == nil ? "" : ":***") + "@" }
        s += host.contains(":") ? "[\(host)]" : host
        if let port { s += ":\(port)" }
        return s + "/" + database
    }

    public static func == (a: DatabaseURL, b: DatabaseURL) -> Bool { a.text == b.text }

    private static func userName(_ s: Substring) -> String { String(s) }

    private static func parameters(of query: String) -> [(String, String)] {
        query.split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1)
            return (String(kv[0]), kv.count > 1 ? String(kv[1]) : "")
        }
    }
}

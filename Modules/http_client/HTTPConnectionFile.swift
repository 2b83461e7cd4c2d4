import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `config_file` of connection definitions (Kamailio's cfg_parser format): sections
/// `[name]` followed by `key = value` lines; `#` starts a comment; values may be quoted.
enum HTTPConnectionFile {
    /// Reads the file and gives its connections in file order, each starting from the module
    /// defaults. An unknown key, a bad value or a bad `url` is an error, as in Kamailio.
    static func load(_ path: String, defaults: HTTPClientSettings) throws(FixupError) -> [HTTPConnection] {
        guard let text = readFile(path) else {
            throw FixupError("http_client: Failed to load http_client connections from [\(path)]")
        }
        return try parse(text, file: path, defaults: defaults)
    }

    static func parse(_ text: String, file: String, defaults: HTTPClientSettings) throws(FixupError) -> [HTTPConnection]
    {
        var sections: [(name: String, values: [(String, String, Int)])] = []
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline }).enumerated() {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let t = String(line).trimmingCharacters()
            if t.isEmpty { continue }
            if t.hasPrefix("[") {
                guard t.hasSuffix("]"), t.count > 2 else {
                    throw FixupError("\(file):\(i + 1): Syntax error, ']' expected")
                }
                sections.append((String(t.dropFirst().dropLast()).trimmingCharacters(), []))
                continue
            }
            guard let eq = t.firstIndex(of: "="), !sections.isEmpty else {
                throw FixupError("\(file):\(i + 1): Syntax error")
            }
            var value = t[t.index(after: eq)...].trimmingCharacters()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            sections[sections.count - 1].values.append((t[..<eq].trimmingCharacters(), value, i + 1))
        }
        var result: [HTTPConnection] = []
        for section in sections {
            var c = HTTPConnection(name: section.name, schema: "", url: "", defaults: defaults)
            var url = ""
            for (key, value, line) in section.values {
                let at = "\(file):\(line)"
                switch key {
                case "url": url = value
                case "username": c.username = value
                case "password": c.password = value
                case "failover": c.failover = value
                case "useragent": c.useragent = value
                case "verify_peer": c.verifyPeer = try bool(value, at) ? 1 : 0
                case "verify_host": c.verifyHost = try bool(value, at) ? 1 : 0
                case "client_cert": c.clientCert = value
                case "client_key": c.clientKey = value
                case "cipher_suites": c.cipherSuites = value
                case "tlsversion": c.tlsVersion = try tlsVersion(value, at)
                case "timeout": c.timeout = try int(value, at)
                case "maxdatasize": c.maxDataSize = try int(value, at)
                case "httpredirect": c.followRedirects = try bool(value, at) ? 1 : 0
                case "httpproxy": c.httpProxy = value
                case "httpproxyport": c.httpProxyPort = try int(value, at)
                case "authmethod": c.authMethod = try int(value, at)
                case "keepconnections": c.keepConnections = try int(value, at) != 0
                default: throw FixupError("\(at): Unsupported option '\(key)'")
                }
            }
            guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://"), url[colon...].count >= 4 else {
                throw FixupError("http_client: Invalid schema://url definition [\(url)]")
            }
            c.schema = String(url[..<colon])
            c.url = String(url[url.index(colon, offsetBy: 3)...])
            if c.tlsVersion >= HTTPClientSettings.tlsVersionLast {
                Log.warning(
                    "http_client",
                    "curl connection [\(c.name)]: tlsversion \(c.tlsVersion) unsupported value. Using default")
                c.tlsVersion = defaults.tlsVersion
            }
            if c.httpProxyPort <= 0 { c.httpProxy = nil }
            result.append(c)
        }
        return result
    }

    private static func bool(_ v: String, _ at: String) throws(FixupError) -> Bool {
        switch v.lowercased() {
        case "1", "yes", "true", "on", "enable", "enabled": return true
        case "0", "no", "false", "off", "disable", "disabled": return false
        default: throw FixupError("\(at): Invalid boolean value '\(v)'")
        }
    }

    private static func int(_ v: String, _ at: String) throws(FixupError) -> Int {
        guard let n = Int(v) else { throw FixupError("\(at): Invalid integer value '\(v)'") }
        return n
    }

    private static func tlsVersion(_ v: String, _ at: String) throws(FixupError) -> Int {
        let names = ["DEFAULT", "TLSv1", "SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2"]
        guard let i = names.firstIndex(where: { $0.lowercased() == v.lowercased() }) else {
            throw FixupError("\(at): Unsupported tlsversion '\(v)'")
        }
        return i
    }

    /// The whole file as text; nil when it cannot be read.
    static func readFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

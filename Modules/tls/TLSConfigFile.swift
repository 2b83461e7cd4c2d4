import Foundation
import SwiftletSDK

/// Kamailio's tls.cfg: `[server:default]`, `[client:default]`, `[server:IP:PORT]`,
/// `[client:IP:PORT]`, `[server:any]` (IPv6 as `[server:[::1]:5061]`), then `key = value`
/// lines; `#` starts a comment.
enum TLSConfigFile {
    /// The profiles of `text`, each starting from `base` (the module parameters); errors
    /// name `file:line`.
    static func parse(_ text: String, file: String, base: TLSDomain) throws(FixupError) -> [TLSDomain] {
        var domains: [TLSDomain] = []
        var current: TLSDomain?
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            let at = "\(file):\(n + 1)"
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]") else { throw FixupError("\(at): missing ']'") }
                if let d = current { domains.append(d) }
                var d = base
                (d.kind, d.address) = try header(String(trimmed.dropFirst().dropLast()), at: at)
                if let dup = domains.first(where: { $0.kind == d.kind && $0.address == d.address }),
                    d.address != .any
                {
                    throw FixupError("\(at): duplicate TLS domain \(dup.name)")
                }
                current = d
                continue
            }
            guard let eq = trimmed.firstIndex(of: "=") else { throw FixupError("\(at): expected key = value") }
            let key = trimmed[..<eq].trimmingCharacters(in: .whitespaces)
            var value = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            guard current != nil else { throw FixupError("\(at): '\(key)' outside of a TLS domain section") }
            do throws(FixupError) {
                guard try current!.set(key, value) else { throw FixupError("unknown option '\(key)'") }
            } catch {
                throw FixupError("\(at): \(error.message)")
            }
        }
        if let d = current { domains.append(d) }
        for d in domains where d.address == .any && d.serverName.isEmpty {
            throw FixupError("\(file): \(d.name) needs a server_name")
        }
        return domains
    }

    /// `server:default`, `client:10.0.0.1:5061`, `s:[::1]:5061`, `srv:any`.
    private static func header(_ text: String, at: String) throws(FixupError) -> (TLSDomain.Kind, TLSDomain.Address) {
        guard let colon = text.firstIndex(of: ":") else { throw FixupError("\(at): TLS domain type missing") }
        let kind: TLSDomain.Kind
        switch text[..<colon].trimmingCharacters(in: .whitespaces).lowercased() {
        case "server", "srv", "s": kind = .server
        case "client", "cli", "c": kind = .client
        default: throw FixupError("\(at): unknown TLS domain type '\(text[..<colon])'")
        }
        let rest = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        switch rest.lowercased() {
        case "default", "def", "*": return (kind, .default)
        case "any", "all": return (kind, .any)
        default: break
        }
        let host: String
        let portText: Substring
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            portText = rest[rest.index(after: close)...].drop { $0 == ":" }
        } else if let c = rest.lastIndex(of: ":") {
            host = String(rest[..<c])
            portText = rest[rest.index(after: c)...]
        } else {
            throw FixupError("\(at): Syntax error, ':' expected")
        }
        guard SocketAddress(numericHost: host, port: 0) != nil else {
            throw FixupError("\(at): Invalid IP address '\(host)'")
        }
        guard let port = Int(portText), port > 0, port < 65536 else {
            throw FixupError("\(at): Invalid port number '\(portText)'")
        }
        return (kind, .socket(ip: host, port: port))
    }
}

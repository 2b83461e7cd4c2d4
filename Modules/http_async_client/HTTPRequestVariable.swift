import SwiftletSDK

/// `$http_req(key)`: sets a parameter of the next `http_async_query` of this worker
/// (Kamailio's `ah_set_req`); reading it gives `$null`.
enum HTTPRequestVariable {
    /// The keys, as Kamailio 5.6 parses them (`keepalive`, `ka-idle`, `ka-interval` for TCP
    /// keep-alive).
    enum Key: String {
        case all, hdr, body, method, timeout, suspend, username, password, authmethod
        case keepalive
        case kaIdle = "ka-idle"
        case kaInterval = "ka-interval"
        case tlsCAPath = "tls_ca_path"
        case tlsClientKey = "tls_client_key"
        case tlsClientCert = "tls_client_cert"
        case followRedirect = "follow_redirect"
    }

    static func pseudoVariableClass(_ module: HTTPAsyncClientModule) -> PseudoVariableClass {
        PseudoVariableClass("http_req") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard let key = Key(rawValue: pv.inner ?? "") else {
                throw FixupError("unknown http_req name \(pv.inner ?? "")")
            }
            return PseudoVariable(
                text: pv.text, get: { _ in .null },
                set: { _, value in
                    let pending = PendingQueryParameters.current(for: module, defaults: module.defaults)
                    return set(key, value, in: &pending.value, defaults: module.defaults)
                })
        }
    }

    /// Applies one assignment; false (Kamailio's error line) for a value of the wrong type.
    static func set(_ key: Key, _ value: PVValue, in p: inout HTTPQueryParameters, defaults: HTTPQueryParameters)
        -> Bool
    {
        func string() -> String?? {
            switch value {
            case .null: return .some(nil)
            case .string(let s): return .some(s)
            case .int: return nil
            }
        }
        func int() -> Int?? {
            switch value {
            case .null: return .some(nil)
            case .int(let i): return .some(i)
            case .string: return nil
            }
        }
        func invalid() -> Bool {
            Log.error("http_async_client", "invalid value type for $http_req(\(key.rawValue))")
            return false
        }
        switch key {
        case .all:
            if value == .null { p = defaults }
        case .hdr:
            guard let s = string() else { return invalid() }
            if let s { p.headers.append(s) }
        case .body:
            guard let s = string() else { return invalid() }
            if let s { p.body = s.isEmpty ? nil : s }
        case .method:
            guard let s = string() else { return invalid() }
            if let s {
                guard let m = HTTPQueryMethod(name: s) else {
                    Log.error("http_async_client", "Unsupported method: \(s)")
                    return true
                }
                p.method = m
            } else {
                p.method = .automatic
            }
        case .timeout:
            guard let i = int() else { return invalid() }
            p.timeout = i ?? defaults.timeout
        case .suspend:
            guard let i = int() else { return invalid() }
            p.suspendTransaction = i.map { $0 != 0 } ?? true
        case .authmethod:
            guard let i = int() else { return invalid() }
            p.authMethod = i ?? defaults.authMethod
        case .keepalive:
            guard let i = int() else { return invalid() }
            p.tcpKeepalive = i ?? defaults.tcpKeepalive
        case .kaIdle:
            guard let i = int() else { return invalid() }
            p.tcpKeepaliveIdle = i ?? defaults.tcpKeepaliveIdle
        case .kaInterval:
            guard let i = int() else { return invalid() }
            p.tcpKeepaliveInterval = i ?? defaults.tcpKeepaliveInterval
        case .followRedirect:
            guard let i = int() else { return invalid() }
            p.followRedirect = i.map { $0 != 0 } ?? defaults.followRedirect
        case .username:
            guard let s = string() else { return invalid() }
            if let s { p.username = s.isEmpty ? nil : s }
        case .password:
            guard let s = string() else { return invalid() }
            if let s { p.password = s.isEmpty ? nil : s }
        case .tlsCAPath:
            guard let s = string() else { return invalid() }
            if let s { p.tlsCAPath = s.isEmpty ? nil : s }
        case .tlsClientKey:
            guard let s = string() else { return invalid() }
            if let s { p.tlsClientKey = s.isEmpty ? nil : s }
        case .tlsClientCert:
            guard let s = string() else { return invalid() }
            if let s { p.tlsClientCert = s.isEmpty ? nil : s }
        }
        return true
    }
}

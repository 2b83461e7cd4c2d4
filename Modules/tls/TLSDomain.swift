import COpenSSL
import SwiftletSDK

/// One TLS profile (Kamailio's `tls_domain_t`): a `[server:...]` or `[client:...]` section
/// of tls.cfg, or the default profiles the module parameters describe.
struct TLSDomain: Sendable {
    enum Kind: String, Sendable {
        case server, client
    }
    /// Which connections the profile is for.
    enum Address: Sendable, Equatable {
        /// `[server:default]`: connections no other profile matches.
        case `default`
        /// `[server:any]`: any address, chosen by `server_name` only.
        case any
        /// `[server:127.0.0.1:5061]`: the local socket (server) or the peer (client).
        case socket(ip: String, port: Int)
    }

    var kind: Kind
    var address: Address
    var method = "TLSv1+"
    var verifyCertificate = false
    var verifyDepth = 9
    var requireCertificate = false
    var privateKey = ""
    var certificate = ""
    var caList = ""
    var caPath = ""
    var crl = ""
    var cipherList = ""
    var serverName = ""
    var serverID = ""

    /// Kamailio's `tls_domain_str`: `TLSs<default>`, `TLSc<127.0.0.1:5061>`, `TLSs<any:name>`.
    var name: String {
        let k = kind == .server ? "TLSs" : "TLSc"
        switch address {
        case .default: return "\(k)<default>"
        case .any: return "\(k)<any:\(serverName)>"
        case .socket(let ip, let port): return "\(k)<\(ip.contains(":") ? "[\(ip)]" : ip):\(port)>"
        }
    }

    /// Sets a tls.cfg key (or the module parameter of the same name); false for an unknown
    /// key, throws for a bad value.
    mutating func set(_ key: String, _ value: String) throws(FixupError) -> Bool {
        func bool() throws(FixupError) -> Bool {
            switch value.lowercased() {
            case "1", "yes", "true", "on", "enable", "enabled": return true
            case "0", "no", "false", "off", "disable", "disabled": return false
            default: throw FixupError("\(key): '\(value)' is not a boolean")
            }
        }
        switch key {
        case "method", "tls_method":
            guard TLSDomain.versions(value) != nil else { throw FixupError("invalid TLS method '\(value)'") }
            method = value
        case "verify_certificate", "verify_cert": verifyCertificate = try bool()
        case "verify_depth":
            guard let v = Int(value) else { throw FixupError("verify_depth: '\(value)' is not a number") }
            verifyDepth = v
        case "require_certificate", "require_cert": requireCertificate = try bool()
        case "private_key", "pkey_file": privateKey = value
        case "certificate", "cert_file": certificate = value
        case "ca_list", "calist_file": caList = value
        case "ca_path": caPath = value
        case "crl": crl = value
        case "cipher_list": cipherList = value
        case "server_name": serverName = value
        case "server_id": serverID = value
        default: return false
        }
        return true
    }

    /// The protocol versions of a `method` value (0: no bound): `TLSv1.2` exactly that one,
    /// `TLSv1.2+` it and newer, `SSLv23` any; nil for an unknown or unsupported name.
    static func versions(_ method: String) -> (min: Int32, max: Int32)? {
        let plus = method.hasSuffix("+")
        let base = plus ? String(method.dropLast()) : method
        let v: Int32
        switch base {
        case "SSLv23": return (0, 0)
        case "TLSv1", "TLSv1.0": v = TLS1_VERSION
        case "TLSv1.1": v = TLS1_1_VERSION
        case "TLSv1.2": v = TLS1_2_VERSION
        case "TLSv1.3": v = TLS1_3_VERSION
        default: return nil
        }
        return (v, plus ? 0 : v)
    }
}

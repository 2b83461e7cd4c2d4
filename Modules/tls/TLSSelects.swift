import COpenSSL
import SwiftletSDK

/// Kamailio 5.6's `@tls` selects (tls_select.c, `tls_sel`): the connection's cipher and
/// version, and fields of the peer's (`peer`) or the server's own (`my`, `me`, `myself`)
/// certificate. A select of a message that did not come over TLS, or a field the certificate
/// lacks, gives null.
enum TLSSelects {
    typealias Getter = (TLSConnectionInfo) -> String?

    /// Registers the `tls` table; the getters find the module of the message's configuration.
    static func register() {
        ModuleSelects.shared.register("tls") { (path: [SelectSegment], text: String) throws(FixupError) in
            let get = try compile(path.map(\.name), text, chainIndex: path.last?.index)
            return { ctx in
                guard let module = ctx.core.apis.lookup(StreamSecurityProvider.self) as? TLSModule,
                    let info = module.connection(ctx)?.info
                else { return nil }
                return get(info)
            }
        }
    }

    /// The getter of the path after `tls` (lower-cased names, as the core passes them).
    /// `chainIndex`: the index of the last segment (`@tls.peer.verified_cert_chain[1]`).
    static func compile(_ names: [String], _ text: String, chainIndex: Int? = nil) throws(FixupError) -> Getter {
        guard let first = names.first else { return { nonEmpty($0.cipherDescription) } }  // @tls: sel_desc
        let rest = Array(names.dropFirst())
        func leaf(_ g: @escaping Getter) throws(FixupError) -> Getter {
            guard rest.isEmpty else { throw unknown(text) }
            return g
        }
        switch first {
        case "version": return try leaf { nonEmpty($0.version) }
        case "desc", "description": return try leaf { nonEmpty($0.cipherDescription) }
        case "cipher":
            if rest == ["bits"] { return { String($0.cipherBits) } }
            return try leaf { nonEmpty($0.cipher) }
        case "servername", "server_name": return try leaf { $0.serverName }
        case "peer":
            if rest == ["verified_cert_chain"] {
                // sel_ssl_verified_cert_chain: certificate i of the verified chain, PEM.
                guard let i = chainIndex else { throw unknown(text) }
                return { info in i >= 0 && i < info.verifiedChain.count ? info.verifiedChain[i] : nil }
            }
            return try certificate(rest, text, peer: true)
        case "my", "me", "myself": return try certificate(rest, text, peer: false)
        default: throw unknown(text)
        }
    }

    /// `@tls.peer...` / `@tls.my...`: alone, the subject's common name (Kamailio's sel_cert).
    static func certificate(_ names: [String], _ text: String, peer: Bool) throws(FixupError) -> Getter {
        let cert: (TLSConnectionInfo) -> TLSCertificateInfo? = peer ? { $0.peer } : { $0.mine }
        guard let first = names.first else { return { cert($0)?.subjectFields["cn"] } }
        let rest = Array(names.dropFirst())
        func leaf(_ g: @escaping (TLSCertificateInfo) -> String?) throws(FixupError) -> Getter {
            guard rest.isEmpty else { throw unknown(text) }
            return { cert($0).flatMap(g) }
        }
        switch first {
        case "subject", "subj", "issuer":
            let issuer = first == "issuer"
            let field: String
            if let component = rest.first {
                guard rest.count == 1, let f = nameComponents[component] else { throw unknown(text) }
                field = f
            } else {
                field = "cn"  // sel_name: the common name
            }
            return { info in cert(info).flatMap { issuer ? $0.issuerFields[field] : $0.subjectFields[field] } }
        case "verified", "revoked", "expired", "self_signed":
            guard rest.isEmpty else { throw unknown(text) }
            // check_cert: "Verification of local certificates not supported".
            guard peer else { return { _ in nil } }
            let code: Int32 =
                switch first {
                case "verified": X509_V_OK
                case "revoked": X509_V_ERR_CERT_REVOKED
                case "expired": X509_V_ERR_CERT_HAS_EXPIRED
                default: X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
                }
            return { info in info.peer != nil && info.verifyResult == Int(code) ? "1" : "0" }
        case "version": return try leaf { String($0.version) }
        case "rawcert", "raw_cert": return try leaf { nonEmpty($0.pem) }
        case "urlencodedcert", "urlencoded_cert":
            return try leaf { c in
                guard case .string(let s)? = TLSVariables.urlencoded(.string(c.pem)), !c.pem.isEmpty else { return nil }
                return s
            }
        case "sn", "serialnumber", "serial_number": return try leaf { nonEmpty($0.serial) }
        case "notbefore", "not_before": return try leaf { nonEmpty($0.notBefore) }
        case "notafter", "not_after": return try leaf { nonEmpty($0.notAfter) }
        case "email", "emailaddress", "email_address": return try leaf { $0.alternativeNames["email"] }
        case "host", "hostname", "dns": return try leaf { $0.alternativeNames["hostname"] }
        case "uri", "url", "urn": return try leaf { $0.alternativeNames["uri"] }
        case "ip", "ipaddress", "ip_address": return try leaf { $0.alternativeNames["ip"] }
        default: throw unknown(text)
        }
    }

    /// Name component selects (lower-cased) to the keys of `TLSCertificateInfo`'s fields.
    static let nameComponents: [String: String] = {
        var m: [String: String] = [:]
        for (names, key) in [
            (["cn", "commonname", "common_name", "name"], "cn"),
            (["l", "localityname", "locality_name", "locality"], "locality"),
            (["c", "countryname", "country_name", "country"], "country"),
            (["st", "stateorprovincename", "state_or_province_name", "state"], "state"),
            (["o", "organizationname", "organization_name", "organization"], "organization"),
            (["ou", "organizationalunitname", "organizational_unit_name", "unit"], "unit"),
            (["uid", "uniqueidentifier", "unique_identifier"], "uid"),
        ] {
            for n in names { m[n] = key }
        }
        return m
    }()

    static func nonEmpty(_ s: String) -> String? { s.isEmpty ? nil : s }

    static func unknown(_ path: String) -> FixupError { FixupError("unknown select in $sel(\(path))") }
}

import COpenSSL
import SwiftletSDK

/// Kamailio's `$tls_*` variables: null when the message did not arrive over TLS (or the
/// value is missing).
enum TLSVariables {
    typealias Getter = (TLSConnectionInfo) -> PVValue?

    static func classes(_ module: TLSModule) -> [PseudoVariableClass] {
        getters.map { name, get in
            PseudoVariableClass(name) { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
                PseudoVariable(text: pv.text) { ctx in module.connection(ctx)?.info.flatMap(get) ?? .null }
            }
        }
    }

    static func string(_ s: String?) -> PVValue? { s.flatMap { $0.isEmpty ? nil : .string($0) } }

    /// Kamailio's check_cert: "1" when the verification result is `code` (and a peer
    /// certificate was sent), else "0".
    static func check(_ code: Int32) -> Getter {
        { info in .string(info.peer != nil && info.verifyResult == Int(code) ? "1" : "0") }
    }

    static var getters: [(String, Getter)] {
        var g: [(String, Getter)] = [
            ("tls_version", { string($0.version) }),
            ("tls_description", { string($0.cipherDescription) }),
            ("tls_cipher_info", { string($0.cipher) }),
            ("tls_cipher_bits", { .string(String($0.cipherBits)) }),
            ("tls_peer_verified", check(X509_V_OK)),
            ("tls_peer_revoked", check(X509_V_ERR_CERT_REVOKED)),
            ("tls_peer_expired", check(X509_V_ERR_CERT_HAS_EXPIRED)),
            ("tls_peer_selfsigned", check(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)),
            ("tls_peer_server_name", { string($0.serverName) }),
            ("tls_peer_notBefore", { string($0.peer?.notBefore) }),
            ("tls_peer_notAfter", { string($0.peer?.notAfter) }),
        ]
        for (side, cert) in [
            ("peer", { (i: TLSConnectionInfo) in i.peer }), ("my", { (i: TLSConnectionInfo) in i.mine }),
        ] {
            g.append(("tls_\(side)_version", { cert($0).map { .string(String($0.version)) } }))
            g.append(("tls_\(side)_serial", { string(cert($0)?.serial) }))
            g.append(("tls_\(side)_subject", { string(cert($0)?.subject) }))
            g.append(("tls_\(side)_issuer", { string(cert($0)?.issuer) }))
            g.append(("tls_\(side)_raw_cert", { string(cert($0)?.pem) }))
            g.append(("tls_\(side)_urlencoded_cert", { string(cert($0)?.pem).flatMap { v in urlencoded(v) } }))
            for (field, _) in TLSCertificateInfo.nameFields {
                g.append(("tls_\(side)_subject_\(field)", { string(cert($0)?.subjectFields[field]) }))
                if field != "uid" {
                    g.append(("tls_\(side)_issuer_\(field)", { string(cert($0)?.issuerFields[field]) }))
                }
            }
            for san in ["email", "hostname", "uri", "ip"] {
                g.append(("tls_\(side)_san_\(san)", { string(cert($0)?.alternativeNames[san]) }))
            }
        }
        return g
    }

    /// Kamailio's url-encoding of the PEM text (RFC 3986 unreserved characters kept).
    static func urlencoded(_ v: PVValue) -> PVValue? {
        guard case .string(let s) = v else { return nil }
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(b))
            default:
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded
            }
        }
        return .string(out)
    }
}

extension String {
    fileprivate var leftPadded: String { count == 1 ? "0" + self : self }
}

import COpenSSL
import SwiftletSDK

/// The fields of one certificate the `$tls_peer_*` / `$tls_my_*` variables show, read once
/// when the handshake completes.
struct TLSCertificateInfo: Sendable {
    /// X509_get_version (2 for a v3 certificate), as Kamailio prints it.
    var version = 0
    /// The serial number in decimal.
    var serial = ""
    /// X509_NAME_oneline: `/C=DE/O=Example/CN=alice`.
    var subject = ""
    var issuer = ""
    /// Name components by Kamailio's PV suffix (`cn`, `locality`, `country`, `state`,
    /// `organization`, `unit`, `uid`).
    var subjectFields: [String: String] = [:]
    var issuerFields: [String: String] = [:]
    /// First subject alternative name by kind (`email`, `hostname`, `uri`, `ip`).
    var alternativeNames: [String: String] = [:]
    var notBefore = ""
    var notAfter = ""
    /// PEM text.
    var pem = ""

    static let nameFields: [(String, Int32)] = [
        ("cn", NID_commonName), ("locality", NID_localityName), ("country", NID_countryName),
        ("state", NID_stateOrProvinceName), ("organization", NID_organizationName),
        ("unit", NID_organizationalUnitName), ("uid", NID_userId),
    ]

    init() {}

    init(_ cert: OpaquePointer) {
        version = Int(X509_get_version(cert))
        var buf = [CChar](repeating: 0, count: 4096)
        if swiftlet_x509_serial_text(cert, &buf, Int32(buf.count)) >= 0 { serial = String(nulTerminated: buf) }
        func name(_ n: OpaquePointer?, into fields: inout [String: String]) -> String {
            guard let n else { return "" }
            for (key, nid) in Self.nameFields {
                let len = X509_NAME_get_text_by_NID(n, nid, &buf, Int32(buf.count))
                if len >= 0 { fields[key] = String(nulTerminated: buf) }
            }
            guard X509_NAME_oneline(n, &buf, Int32(buf.count)) != nil else { return "" }
            return String(nulTerminated: buf)
        }
        subject = name(X509_get_subject_name(cert), into: &subjectFields)
        issuer = name(X509_get_issuer_name(cert), into: &issuerFields)
        for (key, type) in [("email", GEN_EMAIL), ("hostname", GEN_DNS), ("uri", GEN_URI), ("ip", GEN_IPADD)] {
            if swiftlet_x509_alt_name(cert, type, &buf, Int32(buf.count)) >= 0 {
                alternativeNames[key] = String(nulTerminated: buf)
            }
        }
        if swiftlet_asn1_time_text(X509_get0_notBefore(cert), &buf, Int32(buf.count)) >= 0 {
            notBefore = String(nulTerminated: buf)
        }
        if swiftlet_asn1_time_text(X509_get0_notAfter(cert), &buf, Int32(buf.count)) >= 0 {
            notAfter = String(nulTerminated: buf)
        }
        var pemBuf = [CChar](repeating: 0, count: 16384)
        if swiftlet_x509_pem(cert, &pemBuf, Int32(pemBuf.count)) >= 0 { pem = String(nulTerminated: pemBuf) }
    }
}

/// What a TLS connection negotiated, fixed when its handshake completes.
struct TLSConnectionInfo: Sendable {
    /// SSL_get_version: `TLSv1.3`.
    var version = ""
    /// SSL_CIPHER_get_name: `TLS_AES_256_GCM_SHA384`.
    var cipher = ""
    /// SSL_CIPHER_description.
    var cipherDescription = ""
    var cipherBits = 0
    /// The SNI name: received (server side) or sent (client side).
    var serverName: String?
    var peer: TLSCertificateInfo?
    var mine: TLSCertificateInfo?
    /// The peer's verified certificate chain in PEM, the peer's own first
    /// (SSL_get0_verified_chain); empty when its certificate was not verified.
    var verifiedChain: [String] = []
    /// SSL_get_verify_result.
    var verifyResult = Int(X509_V_OK)

    init() {}

    /// Reads it from an established `SSL`.
    init(_ ssl: OpaquePointer) {
        version = String(cString: SSL_get_version(ssl))
        if let c = SSL_get_current_cipher(ssl) {
            cipher = String(cString: SSL_CIPHER_get_name(c))
            cipherBits = Int(SSL_CIPHER_get_bits(c, nil))
            var buf = [CChar](repeating: 0, count: 256)
            if SSL_CIPHER_description(c, &buf, Int32(buf.count)) != nil {
                cipherDescription = String(nulTerminated: buf).trimmingSuffixNewline()
            }
        }
        if let n = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) { serverName = String(cString: n) }
        if let p = SSL_get1_peer_certificate(ssl) {
            peer = TLSCertificateInfo(p)
            X509_free(p)
        }
        if let m = SSL_get_certificate(ssl) { mine = TLSCertificateInfo(m) }
        verifyResult = Int(SSL_get_verify_result(ssl))
        if peer != nil {
            var pemBuf = [CChar](repeating: 0, count: 16384)
            for i in 0..<swiftlet_ssl_verified_chain_count(ssl) {
                guard let c = swiftlet_ssl_verified_chain_cert(ssl, i),
                    swiftlet_x509_pem(c, &pemBuf, Int32(pemBuf.count)) >= 0
                else { break }
                verifiedChain.append(String(nulTerminated: pemBuf))
            }
        }
        ERR_clear_error()  // a missing name field leaves an error behind
    }

    /// Kamailio's `$tls_peer_verified`: a peer certificate that verified.
    var peerVerified: Bool { peer != nil && verifyResult == Int(X509_V_OK) }
}

extension String {
    fileprivate func trimmingSuffixNewline() -> String {
        var s = self
        while s.last == "\n" || s.last == " " { s.removeLast() }
        return s
    }
}

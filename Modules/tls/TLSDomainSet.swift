import COpenSSL
import SwiftletSDK

/// One loaded TLS configuration: every profile with its OpenSSL context. `tls.reload`
/// builds a new set and swaps it in; connections keep the context they started with
/// (an `SSL` holds a reference to its `SSL_CTX`).
final class TLSDomainSet: @unchecked Sendable {
    struct Loaded {
        let domain: TLSDomain
        let context: OpaquePointer
    }
    let domains: [Loaded]

    /// Builds the OpenSSL contexts; the error names the profile and OpenSSL's reason.
    init(_ domains: [TLSDomain]) throws(FixupError) {
        var loaded: [Loaded] = []
        do {
            for d in domains { loaded.append(Loaded(domain: d, context: try Self.makeContext(d))) }
        } catch {
            for l in loaded { SSL_CTX_free(l.context) }
            throw error
        }
        self.domains = loaded
    }

    deinit { for l in domains { SSL_CTX_free(l.context) } }

    /// Kamailio's `tls_lookup_cfg`: the profile of `kind` for `ip:port` (the local socket
    /// for a server, the peer for a client) and, when given, the SNI name: first an address
    /// match with that `server_name`, then an `any` profile with it, then an address match,
    /// then the default.
    func lookup(_ kind: TLSDomain.Kind, ip: String, port: Int, serverName: String? = nil) -> Loaded? {
        let ofKind = domains.filter { $0.domain.kind == kind }
        func atAddress(_ l: Loaded) -> Bool {
            if case .socket(let dip, let dport) = l.domain.address {
                return dport == port
                    && SocketAddress(numericHost: dip, port: port) == SocketAddress(numericHost: ip, port: port)
            }
            return false
        }
        if let sni = serverName, !sni.isEmpty {
            if let l = ofKind.first(where: { atAddress($0) && $0.domain.serverName.caseInsensitiveEquals(sni) }) {
                return l
            }
            if let l = ofKind.first(where: {
                $0.domain.address == .any && $0.domain.serverName.caseInsensitiveEquals(sni)
            }) {
                return l
            }
        }
        if let l = ofKind.first(where: atAddress) { return l }
        return ofKind.first { $0.domain.address == .default }
    }

    /// The client profile with this `server_id` (`tls_set_connect_server_id`).
    func client(serverID: String) -> Loaded? {
        domains.first { $0.domain.kind == .client && !$0.domain.serverID.isEmpty && $0.domain.serverID == serverID }
    }

    static func makeContext(_ d: TLSDomain) throws(FixupError) -> OpaquePointer {
        guard let ctx = SSL_CTX_new(TLS_method()) else { throw FixupError("\(d.name): \(TLSError.text())") }
        func fail(_ what: String) -> FixupError {
            let reason = TLSError.text()
            SSL_CTX_free(ctx)
            return FixupError("\(d.name): \(what)\(reason.isEmpty ? "" : ": \(reason)")")
        }
        guard let (min, max) = TLSDomain.versions(d.method), swiftlet_ssl_ctx_set_versions(ctx, min, max) == 1 else {
            throw fail("invalid TLS method '\(d.method)'")
        }
        // Kamailio's tls_disable_compression default (on).
        swiftlet_ssl_ctx_disable_compression(ctx)
        if !d.cipherList.isEmpty, SSL_CTX_set_cipher_list(ctx, d.cipherList) != 1 {
            throw fail("failure to set SSL context cipher list '\(d.cipherList)'")
        }
        if !d.certificate.isEmpty, SSL_CTX_use_certificate_chain_file(ctx, d.certificate) != 1 {
            throw fail("unable to load certificate file '\(d.certificate)'")
        }
        if !d.privateKey.isEmpty {
            guard SSL_CTX_use_PrivateKey_file(ctx, d.privateKey, SSL_FILETYPE_PEM) == 1 else {
                throw fail("unable to load private key file '\(d.privateKey)'")
            }
            guard SSL_CTX_check_private_key(ctx) == 1 else {
                throw fail("key '\(d.privateKey)' does not match the public key of the certificate")
            }
        }
        if !d.caList.isEmpty || !d.caPath.isEmpty {
            let file = d.caList.isEmpty ? nil : d.caList
            let path = d.caPath.isEmpty ? nil : d.caPath
            guard SSL_CTX_load_verify_locations(ctx, file, path) == 1 else {
                throw fail("unable to load CA list '\(d.caList)'")
            }
            if d.kind == .server, let file, let names = SSL_load_client_CA_file(file) {
                SSL_CTX_set_client_CA_list(ctx, names)
            }
        }
        if !d.crl.isEmpty, swiftlet_ssl_ctx_load_crl(ctx, d.crl) < 0 {
            throw fail("unable to load certificate revocation list '\(d.crl)'")
        }
        var mode = SSL_VERIFY_NONE
        if d.verifyCertificate {
            mode = SSL_VERIFY_PEER
            if d.kind == .server, d.requireCertificate { mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT }
        }
        SSL_CTX_set_verify(ctx, mode, nil)
        SSL_CTX_set_verify_depth(ctx, Int32(d.verifyDepth))
        let sessionID = Array("kamailio-tls-5.x.y".utf8)
        _ = SSL_CTX_set_session_id_context(ctx, sessionID, UInt32(sessionID.count))
        if d.kind == .server { swiftlet_ssl_ctx_set_sni_callback(ctx, tlsServerNameCallback, nil) }
        return ctx
    }
}

extension String {
    fileprivate func caseInsensitiveEquals(_ other: String) -> Bool { lowercased() == other.lowercased() }
}

/// OpenSSL's error queue as text.
enum TLSError {
    static func text() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        swiftlet_ssl_error_text(&buf, buf.count)
        return String(nulTerminated: buf)
    }
}

extension String {
    /// The text of a NUL-terminated C buffer.
    init(nulTerminated buffer: [CChar]) {
        self = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

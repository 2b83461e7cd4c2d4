import COpenSSL
import SwiftletSDK

/// One connection's OpenSSL session over two memory BIOs: the core hands in what the
/// socket received and gets back plaintext and the bytes to write (DESIGN.md section 4:
/// the core sees no OpenSSL, the module no event loop). Used by one event loop only.
final class TLSSession: StreamSecuritySession {
    private let ssl: OpaquePointer
    /// Ciphertext from the peer, read by OpenSSL.
    private let incoming: OpaquePointer
    /// Ciphertext OpenSSL produced, for the peer.
    private let outgoing: OpaquePointer
    let state: TLSConnectionState
    /// The profiles this session chooses from (SNI).
    let domains: TLSDomainSet
    private let registry: TLSConnectionRegistry
    private let sendCloseNotify: Bool
    private var established = false
    /// Plaintext written before the handshake completed.
    private var pending: [UInt8] = []

    init(
        endpoint: StreamSecurityEndpoint, domain: TLSDomainSet.Loaded, domains: TLSDomainSet,
        registry: TLSConnectionRegistry, sendCloseNotify: Bool
    ) throws(StreamSecurityError) {
        guard let ssl = SSL_new(domain.context), let rbio = BIO_new(BIO_s_mem()), let wbio = BIO_new(BIO_s_mem())
        else { throw StreamSecurityError("cannot create an SSL session: \(TLSError.text())") }
        SSL_set_bio(ssl, rbio, wbio)
        self.ssl = ssl
        incoming = rbio
        outgoing = wbio
        self.domains = domains
        self.registry = registry
        self.sendCloseNotify = sendCloseNotify
        state = TLSConnectionState(endpoint: endpoint, domainName: domain.domain.name)
        if endpoint.role == .server {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if !domain.domain.serverName.isEmpty { _ = swiftlet_ssl_set_server_name(ssl, domain.domain.serverName) }
        }
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
        registry.add(state)
    }

    deinit { SSL_free(ssl) }

    func start() throws(StreamSecurityError) -> [UInt8] {
        guard state.endpoint.role == .client else { return [] }
        var out: [UInt8] = []
        try handshake(output: &out)
        return out
    }

    func receive(_ bytes: UnsafeRawBufferPointer, plaintext: inout [UInt8], output: inout [UInt8])
        throws(StreamSecurityError) -> Bool
    {
        Self.clearErrors()
        if bytes.count > 0 { _ = BIO_write(incoming, bytes.baseAddress, Int32(bytes.count)) }
        if !established {
            try handshake(output: &output)
            guard established else { return true }
        }
        var code = SSL_ERROR_NONE
        let buf = TLSReadBuffer.ofThisThread
        while true {
            let n = SSL_read(ssl, buf, Int32(TLSReadBuffer.size))
            guard n > 0 else {
                code = SSL_get_error(ssl, n)
                break
            }
            plaintext.append(contentsOf: UnsafeBufferPointer(start: buf, count: Int(n)))
            // Nothing left to read, neither ciphertext in the BIO nor a record OpenSSL
            // holds: another SSL_read would only say SSL_ERROR_WANT_READ.
            if BIO_ctrl_pending(incoming) == 0, SSL_has_pending(ssl) == 0 {
                code = SSL_ERROR_WANT_READ
                break
            }
        }
        drain(into: &output)
        let open = code != SSL_ERROR_ZERO_RETURN
        if open, code != SSL_ERROR_WANT_READ, code != SSL_ERROR_WANT_WRITE {
            throw StreamSecurityError("TLS read failed: \(TLSError.text())")
        }
        return open
    }

    func send(_ plaintext: UnsafeRawBufferPointer, output: inout [UInt8]) throws(StreamSecurityError) {
        guard established else {
            pending.append(contentsOf: plaintext)
            return
        }
        try write(plaintext, output: &output)
    }

    func shutdown() -> [UInt8] {
        guard established, sendCloseNotify else { return [] }
        SSL_shutdown(ssl)
        var out: [UInt8] = []
        drain(into: &out)
        return out
    }

    func closed() {
        registry.remove(state.endpoint.connectionID)
        SSL_set_ex_data(ssl, 0, nil)
    }

    /// Drives the handshake; on completion records what was negotiated and writes the
    /// plaintext that waited for it.
    private func handshake(output: inout [UInt8]) throws(StreamSecurityError) {
        Self.clearErrors()
        let r = SSL_do_handshake(ssl)
        if r == 1 {
            established = true
            state.established(TLSConnectionInfo(ssl))
            drain(into: &output)
            if !pending.isEmpty {
                let text = pending
                pending = []
                var failure: StreamSecurityError?
                text.withUnsafeBytes { b in
                    do throws(StreamSecurityError) { try write(b, output: &output) } catch { failure = error }
                }
                if let failure { throw failure }
            }
            return
        }
        let e = SSL_get_error(ssl, r)
        drain(into: &output)
        if e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE { return }
        var reason = TLSError.text()
        let verify = SSL_get_verify_result(ssl)
        if verify != X509_V_OK, let text = X509_verify_cert_error_string(verify) {
            reason += (reason.isEmpty ? "" : " ") + "(certificate: \(String(cString: text)))"
        }
        throw StreamSecurityError("TLS handshake failed: \(reason.isEmpty ? "SSL error \(e)" : reason)")
    }

    private func write(_ plaintext: UnsafeRawBufferPointer, output: inout [UInt8]) throws(StreamSecurityError) {
        Self.clearErrors()
        var offset = 0
        while offset < plaintext.count {
            let n = SSL_write(ssl, plaintext.baseAddress! + offset, Int32(plaintext.count - offset))
            guard n > 0 else { throw StreamSecurityError("TLS write failed: \(TLSError.text())") }
            offset += Int(n)
        }
        drain(into: &output)
    }

    /// Empties this thread's OpenSSL error queue (SSL_get_error and the failure texts read
    /// it). ERR_clear_error resets every slot of the queue even when it is empty (hundreds
    /// of instructions per call); a look at its top first is cheap.
    @inline(__always)
    private static func clearErrors() {
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }

    /// Moves what OpenSSL wrote to the memory BIO into `output` (through a buffer on the
    /// stack: no zero-filling of `output` first).
    private func drain(into output: inout [UInt8]) {
        var pending = Int(BIO_ctrl_pending(outgoing))
        while pending > 0 {
            let n = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: pending) { buf in
                let n = Int(BIO_read(outgoing, buf.baseAddress, Int32(pending)))
                if n > 0 { output.append(contentsOf: UnsafeBufferPointer(rebasing: buf[0..<n])) }
                return n
            }
            if n <= 0 { break }
            pending = Int(BIO_ctrl_pending(outgoing))
        }
    }

    /// The server's SNI callback: switches to the profile for the name the client asked for.
    fileprivate func serverNameReceived(_ name: String) {
        let local = state.endpoint.local
        guard let d = domains.lookup(.server, ip: local.ipString, port: local.port, serverName: name),
            d.context != SSL_get_SSL_CTX(ssl)
        else { return }
        SSL_set_SSL_CTX(ssl, d.context)
        SSL_set_verify(ssl, SSL_CTX_get_verify_mode(d.context), nil)
        SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(d.context))
    }
}

/// OpenSSL's servername callback for every server context.
let tlsServerNameCallback:
    @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) ->
        Int32 = { ssl, _, _ in
            guard let ssl, let raw = SSL_get_ex_data(ssl, 0),
                let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)
            else { return SSL_TLSEXT_ERR_OK }
            Unmanaged<TLSSession>.fromOpaque(raw).takeUnretainedValue().serverNameReceived(String(cString: name))
            return SSL_TLSEXT_ERR_OK
        }

import COpenSSL
import SwiftletSDK

/// One connection's OpenSSL session over a BIO of our own (`TLSSessionBIO`): the core hands
/// in what the socket received and gets back plaintext and the bytes to write (DESIGN.md
/// section 4: the core sees no OpenSSL, the module no event loop). Used by one event loop
/// only.
final class TLSSession: StreamSecuritySession {
    private let ssl: OpaquePointer
    /// What the BIO reads (the ciphertext received) and writes (the ciphertext to send).
    private let io = TLSSessionIO()
    /// Received ciphertext OpenSSL left unread (kept for the next `receive`; it reads all
    /// it is given, so this stays empty).
    private var unread: [UInt8] = []
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
        guard let ssl = SSL_new(domain.context) else {
            throw StreamSecurityError("cannot create an SSL session: \(TLSError.text())")
        }
        guard let bio = TLSSessionBIO.make(io) else {
            SSL_free(ssl)
            throw StreamSecurityError("cannot create an SSL session: \(TLSError.text())")
        }
        // One BIO for both directions: SSL_set_bio takes the one reference.
        SSL_set_bio(ssl, bio, bio)
        // OpenSSL takes all the ciphertext handed in with one BIO read (a record's header
        // and body, and whatever follows) instead of a read for the header and another for
        // the body of each record. The bytes are in memory already (the BIO reads from
        // them): nothing is waited for. Does not change what is negotiated or sent.
        SSL_set_read_ahead(ssl, 1)
        self.ssl = ssl
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
        guard unread.isEmpty else {
            var held = unread
            unread = []
            held.append(contentsOf: bytes)
            // (Array.withUnsafeBytes rethrows untyped: the failure comes out as a value.)
            let result = held.withUnsafeBytes { all in
                Result { () throws(StreamSecurityError) -> Bool in
                    try receive(from: all, plaintext: &plaintext, output: &output)
                }
            }
            return try result.get()
        }
        return try receive(from: bytes, plaintext: &plaintext, output: &output)
    }

    /// `receive` with `bytes` as what the BIO reads (for this call only: what OpenSSL leaves
    /// is copied to `unread`).
    private func receive(from bytes: UnsafeRawBufferPointer, plaintext: inout [UInt8], output: inout [UInt8])
        throws(StreamSecurityError) -> Bool
    {
        Self.clearErrors()
        io.input = bytes
        defer {
            if io.input.count > 0 { unread.append(contentsOf: io.input) }
            io.input = UnsafeRawBufferPointer(start: nil, count: 0)
        }
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
            // Nothing left to read, neither ciphertext for the BIO nor a record OpenSSL
            // holds: another SSL_read would only say SSL_ERROR_WANT_READ.
            if io.input.count == 0, SSL_has_pending(ssl) == 0 {
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

    /// Moves what OpenSSL wrote (to the BIO) into `output`.
    private func drain(into output: inout [UInt8]) { io.take(into: &output) }

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

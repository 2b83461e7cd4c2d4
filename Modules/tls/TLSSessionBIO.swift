import COpenSSL

/// The BIO between a `TLSSession`'s OpenSSL session and the core (Kamailio's `tls_mbuf`
/// BIO does the same): OpenSSL reads the ciphertext straight from the bytes the core handed
/// in (`TLSSessionIO.input`) and appends what it writes to the session's output array
/// (`TLSSessionIO.sink`), instead of a copy into and out of a memory BIO's buffer for each
/// direction. One BIO serves both directions; its data is the session's `TLSSessionIO`,
/// which outlives it (the session frees the SSL object, and with it the BIO, first).
enum TLSSessionBIO {
    /// A new BIO reading from and writing to `io`.
    static func make(_ io: TLSSessionIO) -> OpaquePointer? {
        guard let method, let bio = BIO_new(method) else { return nil }
        BIO_set_data(bio, Unmanaged.passUnretained(io).toOpaque())
        BIO_set_init(bio, 1)
        return bio
    }

    /// Made once, never changed or freed (OpenSSL only reads it).
    nonisolated(unsafe) private static let method: OpaquePointer? = {
        guard let m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "swiftlet TLS session") else {
            return nil
        }
        BIO_meth_set_write(m, write)
        BIO_meth_set_read(m, read)
        BIO_meth_set_ctrl(m, ctrl)
        return m
    }()

    /// Runs `body` on the BIO's `TLSSessionIO` without a retain and release of it per call
    /// (the session holds it for as long as OpenSSL may call the BIO).
    @inline(__always)
    private static func withIO<T>(_ bio: OpaquePointer?, _ body: (TLSSessionIO) -> T) -> T {
        Unmanaged<TLSSessionIO>.fromOpaque(BIO_get_data(bio)!)._withUnsafeGuaranteedRef(body)
    }

    /// What OpenSSL writes (records for the peer) is appended to the output.
    private static let write: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
        bio, data, count in
        swiftlet_bio_clear_retry_flags(bio)
        guard count > 0, let data else { return 0 }
        withIO(bio) { $0.sink.append(contentsOf: UnsafeRawBufferPointer(start: data, count: Int(count))) }
        return count
    }

    /// OpenSSL reads from the bytes received; with none left it is told to retry (as a
    /// memory BIO says when empty: SSL_ERROR_WANT_READ).
    private static let read: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int32) -> Int32 = {
        bio, buffer, count in
        swiftlet_bio_clear_retry_flags(bio)
        return withIO(bio) { io in
            let available = io.input.count
            guard available > 0 else {
                swiftlet_bio_set_retry_read(bio)
                return -1
            }
            guard count > 0, let buffer, let source = io.input.baseAddress else { return 0 }
            let n = min(Int(count), available)
            UnsafeMutableRawPointer(buffer).copyMemory(from: source, byteCount: n)
            io.input = UnsafeRawBufferPointer(start: source + n, count: available - n)
            return Int32(n)
        }
    }

    /// The controls OpenSSL uses on a BIO of this kind: flush (nothing to do), the bytes
    /// pending in either direction; 0 for anything else (as a memory BIO answers what it
    /// does not know).
    private static let ctrl: @convention(c) (OpaquePointer?, Int32, Int, UnsafeMutableRawPointer?) -> Int = {
        bio, command, _, _ in
        switch command {
        case BIO_CTRL_FLUSH: return 1
        case BIO_CTRL_PENDING: return withIO(bio) { $0.input.count }
        default: return 0
        }
    }
}

/// What a session's BIO reads and writes (event loop only, while an OpenSSL call runs).
final class TLSSessionIO {
    /// The received ciphertext OpenSSL has not read yet (set around each call that reads).
    var input = UnsafeRawBufferPointer(start: nil, count: 0)
    /// What OpenSSL wrote and the session has not handed out yet.
    var sink: [UInt8] = []

    init() {}

    /// Hands out what OpenSSL wrote: appended to `output`, or, when `output` is empty, the
    /// two arrays swap storage (no copy; each keeps its capacity for the next call).
    func take(into output: inout [UInt8]) {
        guard !sink.isEmpty else { return }
        if output.isEmpty {
            swap(&output, &sink)
        } else {
            output.append(contentsOf: sink)
        }
        sink.removeAll(keepingCapacity: true)
    }
}

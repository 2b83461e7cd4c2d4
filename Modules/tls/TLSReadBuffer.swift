#if canImport(Glibc)
    import Glibc
#endif

/// Where `SSL_read` puts a record's plaintext before it is appended to what the session
/// hands out: one buffer of a record's size per thread (the event loops), made on first use
/// and kept. A temporary allocation of that size is a heap allocation per read (Swift puts
/// only small ones on the stack), and one per session would cost each idle connection its
/// size.
enum TLSReadBuffer {
    /// The largest plaintext of a TLS record.
    static let size = 16384

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    /// The calling thread's buffer of `size` bytes.
    static var ofThisThread: UnsafeMutablePointer<UInt8> {
        if let raw = pthread_getspecific(key) { return raw.assumingMemoryBound(to: UInt8.self) }
        let raw = malloc(size)!
        pthread_setspecific(key, raw)
        return raw.assumingMemoryBound(to: UInt8.self)
    }
}

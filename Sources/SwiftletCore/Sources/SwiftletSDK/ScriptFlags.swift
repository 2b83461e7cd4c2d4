#if canImport(Glibc)
    import Glibc
#endif

/// Kamailio's script flags (`setsflag`/`resetsflag`/`issflagset`, `$sf`): 32 flags that
/// belong to the worker, not to a message, so they keep their values from one message to
/// the next in the same worker (Kamailio keeps them in a per-process static variable).
public enum ScriptFlags {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The calling worker's flags.
    public static var value: UInt32 {
        get { UInt32(truncatingIfNeeded: Int(bitPattern: pthread_getspecific(key))) }
        set { pthread_setspecific(key, UnsafeRawPointer(bitPattern: Int(newValue))) }
    }
}

import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What each worker thread keeps (Kamailio keeps it per process, in pkg memory): its
/// endpoints by URL and subprotocol, and the data the last `lwsc_request` received
/// (`$lwsc(rdata)`). Per module instance, so two configurations loaded in one process
/// (tests) do not share them.
final class LWSCThreadState {
    private var endpoints: [String: LWSCEndpoint] = [:]
    private var replies: [Int: String] = [:]

    func endpoint(_ slot: Int, _ url: String, _ subprotocol: String) -> LWSCEndpoint? {
        endpoints["\(slot)\u{0}\(url)\u{0}\(subprotocol)"]
    }

    func add(_ slot: Int, _ endpoint: LWSCEndpoint) {
        endpoints["\(slot)\u{0}\(endpoint.url)\u{0}\(endpoint.subprotocol)"] = endpoint
    }

    func reply(_ slot: Int) -> String? { replies[slot] }
    func setReply(_ slot: Int, _ value: String?) { replies[slot] = value }

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<LWSCThreadState>.fromOpaque(p).release() }
        }
        return key
    }()

    private static let lastSlot = Atomic<Int>(0)

    /// A slot number for a new module instance.
    static func newSlot() -> Int { lastSlot.add(1, ordering: .relaxed).newValue }

    /// The calling thread's state.
    static var current: LWSCThreadState {
        if let p = pthread_getspecific(key) {
            return Unmanaged<LWSCThreadState>.fromOpaque(p).takeUnretainedValue()
        }
        let s = LWSCThreadState()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }
}

import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What each worker thread keeps per connection (Kamailio's per-process `curl_con_pkg_t`):
/// the kept libcurl handle (`keep_connections`), the last effective URL, Content-Type and
/// result.
final class HTTPClientThreadState {
    final class Connection {
        var transfer: CurlTransfer?
        var redirectURL = ""
        var contentType = ""
        var lastResult = 0
        var queryTime = 0.0
    }

    /// Per module instance (a configuration loaded again gets a new slot), then per name.
    private var connections: [Int: [String: Connection]] = [:]

    func connection(_ slot: Int, _ name: String) -> Connection {
        if let c = connections[slot]?[name] { return c }
        let c = Connection()
        connections[slot, default: [:]][name] = c
        return c
    }

    /// Drops this thread's state of an instance (its kept handles close).
    func remove(_ slot: Int) { connections[slot] = nil }

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<HTTPClientThreadState>.fromOpaque(p).release() }
        }
        return key
    }()

    private static let lastSlot = Atomic<Int>(0)

    /// A slot number for a new module instance.
    static func newSlot() -> Int { lastSlot.add(1, ordering: .relaxed).newValue }

    /// The calling thread's state.
    static var current: HTTPClientThreadState {
        if let p = pthread_getspecific(key) {
            return Unmanaged<HTTPClientThreadState>.fromOpaque(p).takeUnretainedValue()
        }
        let s = HTTPClientThreadState()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The state of one TLS connection as the variables and RPCs see it (Kamailio's
/// `tls_extra_data`), written by the connection's event loop, read by script workers.
final class TLSConnectionState: @unchecked Sendable {
    enum Phase: String {
        case accepting = "tls_accept"
        case connecting = "tls_connect"
        case established
    }
    let endpoint: StreamSecurityEndpoint
    /// `tls_domain_str` of the profile the connection uses.
    let domainName: String
    /// time(NULL) when the connection was made.
    let created: Int
    private var mutex = pthread_mutex_t()
    private var _phase: Phase
    private var _info: TLSConnectionInfo?

    init(endpoint: StreamSecurityEndpoint, domainName: String) {
        self.endpoint = endpoint
        self.domainName = domainName
        created = time(nil)
        _phase = endpoint.role == .server ? .accepting : .connecting
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    var phase: Phase { locked { _phase } }
    /// Nil until the handshake completed.
    var info: TLSConnectionInfo? { locked { _info } }

    func established(_ info: TLSConnectionInfo) {
        locked {
            _info = info
            _phase = .established
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}

/// The open TLS connections by the core's connection id.
final class TLSConnectionRegistry: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var byID: [Int: TLSConnectionState] = [:]

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    func add(_ s: TLSConnectionState) { locked { byID[s.endpoint.connectionID] = s } }
    func remove(_ id: Int) { locked { _ = byID.removeValue(forKey: id) } }
    func state(_ id: Int) -> TLSConnectionState? { locked { byID[id] } }
    var count: Int { locked { byID.count } }
    var all: [TLSConnectionState] {
        locked { byID.values.sorted { $0.endpoint.connectionID < $1.endpoint.connectionID } }
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}

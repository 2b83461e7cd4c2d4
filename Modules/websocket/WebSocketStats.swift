import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The module's statistics (Kamailio's `websocket` group, `kamcmd stats.get_statistics
/// websocket:`), with Kamailio's names.
struct WebSocketStats {
    /// Open connections and the most there were at once (read-only counters).
    let current = LockedInt()
    let maxConcurrent = LockedInt()
    private(set) var receivedFrames = CounterHandle(id: 0)
    private(set) var transmittedFrames = CounterHandle(id: 0)
    private(set) var sipReceivedFrames = CounterHandle(id: 0)
    private(set) var sipTransmittedFrames = CounterHandle(id: 0)
    private(set) var localClosed = CounterHandle(id: 0)
    private(set) var remoteClosed = CounterHandle(id: 0)
    private(set) var failedHandshakes = CounterHandle(id: 0)
    private(set) var successfulHandshakes = CounterHandle(id: 0)
    private(set) var sipSuccessfulHandshakes = CounterHandle(id: 0)
    private var registered = false

    mutating func register() throws(FixupError) {
        guard !registered else { return }
        registered = true
        let c = Counters.shared
        func counter(_ name: String) throws(FixupError) -> CounterHandle {
            try c.register(group: "websocket", name: name, existingIsFine: true)
        }
        let current = self.current
        let maxConcurrent = self.maxConcurrent
        try c.register(group: "websocket", name: "ws_current_connections", existingIsFine: true) { current.value }
        try c.register(group: "websocket", name: "ws_max_concurrent_connections", existingIsFine: true) {
            maxConcurrent.value
        }
        receivedFrames = try counter("ws_received_frames")
        transmittedFrames = try counter("ws_transmitted_frames")
        sipReceivedFrames = try counter("ws_sip_received_frames")
        sipTransmittedFrames = try counter("ws_sip_transmitted_frames")
        localClosed = try counter("ws_local_closed_connections")
        remoteClosed = try counter("ws_remote_closed_connections")
        failedHandshakes = try counter("ws_failed_handshakes")
        successfulHandshakes = try counter("ws_successful_handshakes")
        sipSuccessfulHandshakes = try counter("ws_sip_successful_handshakes")
    }

    func connectionOpened(current count: Int) {
        current.store(count)
        maxConcurrent.raise(to: count)
    }
}

/// An integer shared between threads.
final class LockedInt: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var stored = 0

    init() { pthread_mutex_init(&mutex, nil) }

    var value: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return stored
    }

    func store(_ v: Int) {
        pthread_mutex_lock(&mutex)
        stored = v
        pthread_mutex_unlock(&mutex)
    }

    func raise(to v: Int) {
        pthread_mutex_lock(&mutex)
        if v > stored { stored = v }
        pthread_mutex_unlock(&mutex)
    }
}

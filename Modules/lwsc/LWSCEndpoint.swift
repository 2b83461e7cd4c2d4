import CWebsockets
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// One WebSocket client connection (Kamailio's `lwsc_endpoint_t`): a libwebsockets context
/// of its own for one URL and subprotocol, a service thread that runs it (connecting again
/// every 2 s while the connection is down), and the one pending outgoing message and the
/// received data the calling worker waits for.
///
/// The worker thread touches only the locked state and `lws_cancel_service` (libwebsockets'
/// thread-safe wake-up); every other libwebsockets call runs on the service thread.
final class LWSCEndpoint: @unchecked Sendable {
    let url: String
    let subprotocol: String
    let verbosity: Int
    private var parsed = swiftlet_lwsc_url_t()
    private var context: OpaquePointer?
    /// Where libwebsockets keeps the connection (cleared when it fails); service thread only.
    private let wsi = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: 1)
    private var lastConnect = 0.0

    private var mutex = pthread_mutex_t()
    private var changed = pthread_cond_t()
    /// The connection is established (CLIENT_ESTABLISHED until it closes).
    private var ready = false
    /// The message to send next (Kamailio keeps one: a newer one replaces it).
    private var pending: [UInt8]?
    private var received: [UInt8] = []
    /// The last fragment of a message arrived.
    private var receivedDone = false

    /// Parses the URL and creates the context; nil (logged) when either fails.
    init?(url: String, subprotocol: String, connectTimeout: Int, verbosity: Int) {
        self.url = url
        self.subprotocol = subprotocol
        self.verbosity = verbosity
        wsi.initialize(to: nil)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&changed, nil)
        guard swiftlet_lwsc_url_parse(url, &parsed) == 0 else {
            Log.error("lwsc", "cannot parse ws url [\(url)]")
            return nil
        }
        // timeout_connect is in microseconds; libwebsockets counts whole seconds.
        let seconds = connectTimeout > 0 ? UInt32(max(1, (connectTimeout + 999_999) / 1_000_000)) : 0
        let user = Unmanaged.passUnretained(self).toOpaque()
        // The protocol callback: the endpoint is the context's user data.
        context = swiftlet_lwsc_context(
            subprotocol,
            { conn, reason, _, input, len in
                guard let conn, let ctx = lws_get_context(conn), let user = lws_context_user(ctx) else { return 0 }
                return Unmanaged<LWSCEndpoint>.fromOpaque(user).takeUnretainedValue().handle(conn, reason, input, len)
            }, user, parsed.tls, seconds)
        guard context != nil else {
            Log.error("lwsc", "failed to intialize context for ws url [\(url)]")
            return nil
        }
    }

    /// Kamailio's first connect in the calling worker, then the service thread. False when
    /// libwebsockets refuses the connection at once (the endpoint is then dropped).
    func start() -> Bool {
        Log.debug("lwsc", "connecting to [\(url)]")
        lastConnect = now()
        guard swiftlet_lwsc_connect(context, &parsed, subprotocol, wsi) != nil, wsi.pointee != nil else {
            Log.error("lwsc", "failed to creating the ws client instance [\(url)]")
            lws_context_destroy(context)
            context = nil
            return false
        }
        // The endpoint lives as long as the process, as Kamailio's (pkg memory, never freed).
        let retained = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { arg in
                Unmanaged<LWSCEndpoint>.fromOpaque(arg!).takeUnretainedValue().serve()
                return nil
            }, retained.toOpaque())
        guard rc == 0 else {
            Log.error("lwsc", "failed to create the event loop thread")
            return false
        }
        pthread_detach(thread)
        return true
    }

    /// The service thread: runs libwebsockets, connecting again every 2 s while down.
    private func serve() {
        while true {
            if wsi.pointee == nil {
                if now() - lastConnect >= 2 {
                    lastConnect = now()
                    Log.debug("lwsc", "attempting to reconnect: \(url)")
                    _ = swiftlet_lwsc_connect(context, &parsed, subprotocol, wsi)
                }
                if wsi.pointee == nil {
                    wait(until: now() + 0.1) { false }
                    continue
                }
            }
            lws_service(context, 100)
        }
    }

    // MARK: the worker's side

    /// Waits until the connection is established, at most `timeout` microseconds.
    func waitReady(timeout: Int) -> Bool {
        let deadline = now() + Double(timeout) / 1_000_000
        return wait(until: deadline) { [self] in ready }
    }

    /// Queues `data` and wakes the service thread; a request first drops what was received.
    func send(_ data: [UInt8], clearReceived: Bool) {
        pthread_mutex_lock(&mutex)
        if clearReceived {
            if !received.isEmpty { Log.error("lwsc", "losing read buffer content of \(received.count) bytes") }
            received = []
            receivedDone = false
        }
        if let old = pending { Log.error("lwsc", "losing write buffer content of \(old.count) bytes") }
        pending = data
        pthread_mutex_unlock(&mutex)
        lws_cancel_service(context)
    }

    /// The next complete message received, waiting at most `timeout` microseconds.
    func receive(timeout: Int) -> [UInt8]? {
        let deadline = now() + Double(timeout) / 1_000_000
        var data: [UInt8]?
        _ = wait(until: deadline) { [self] in
            if receivedDone, !received.isEmpty {
                data = received
                received = []
                receivedDone = false
            }
            return data != nil
        }
        return data
    }

    /// Waits on the condition (mutex held around `done`) until `done` or the deadline.
    @discardableResult
    private func wait(until deadline: Double, _ done: () -> Bool) -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while !done() {
            let left = deadline - now()
            if left <= 0 { return false }
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            let ns = Int(ts.tv_nsec) + Int(min(left, 1) * 1_000_000_000)
            ts.tv_sec += ns / 1_000_000_000
            ts.tv_nsec = ns % 1_000_000_000
            pthread_cond_timedwait(&changed, &mutex, &ts)
        }
        return true
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer {
            pthread_cond_broadcast(&changed)
            pthread_mutex_unlock(&mutex)
        }
        return body()
    }

    private func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    // MARK: the service thread's callback

    /// Kamailio's ksr_lwsc_callback, on the service thread.
    func handle(_ conn: OpaquePointer?, _ reason: lws_callback_reasons, _ input: UnsafeMutableRawPointer?, _ len: Int)
        -> Int32
    {
        if verbosity > 1 { Log.debug("lwsc", "callback called with reason \(reason.rawValue)") }
        switch reason {
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            let text = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "(null)"
            Log.error("lwsc", "CLIENT_CONNECTION_ERROR: \(text)")
            disconnected()
        case LWS_CALLBACK_CLOSED, LWS_CALLBACK_CLIENT_CLOSED:
            Log.debug("lwsc", "connection closed: \(url)")
            disconnected()
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            Log.info("lwsc", "server initiated connection close - \(url)")
            disconnected()
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            Log.debug("lwsc", "LWS_CALLBACK_CLIENT_ESTABLISHED - \(url)")
            locked { ready = true }
            lws_callback_on_writable(conn)
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            // A worker queued a message: ask for a writable callback on the connection.
            let connected = locked { ready && pending != nil }
            if connected, let c = wsi.pointee { lws_callback_on_writable(c) }
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            guard
                let data = locked({ () -> [UInt8]? in
                    defer { pending = nil }
                    return pending
                })
            else { break }
            let pre = swiftlet_lwsc_pre()
            var buffer = [UInt8](repeating: 0, count: pre + data.count)
            buffer.replaceSubrange(pre..<buffer.count, with: data)
            let written = buffer.withUnsafeMutableBufferPointer {
                swiftlet_lwsc_write_text(conn, $0.baseAddress, data.count)
            }
            if written < data.count { Log.error("lwsc", "sending message failed: \(written) < \(data.count)") }
        case LWS_CALLBACK_CLIENT_RECEIVE:
            let final = lws_is_final_fragment(conn) != 0
            locked {
                if let input, len > 0 {
                    received.append(contentsOf: UnsafeRawBufferPointer(start: input, count: len))
                }
                if final { receivedDone = true }
            }
        default:
            break
        }
        return 0
    }

    private func disconnected() {
        locked { ready = false }
        wsi.pointee = nil
    }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The outcome of one query as the callback route sees it (Kamailio's `ah_reply`,
/// `ah_error`, `ah_time`): the HTTP reply, or the error that replaced it.
final class HTTPQueryResult {
    /// The query's `$http_req_id`.
    let id: String
    /// libcurl's error text (`TIMEOUT` for a timeout); nil when a reply came.
    let error: String?
    /// Status code and reason phrase of the final reply.
    let status: Int
    let reason: String
    /// The final reply's header fields, in order.
    let headers: [(name: String, value: String)]
    /// The final reply's header section (status line to the empty line) and body.
    let head: [UInt8]
    let body: [UInt8]
    /// Transfer times in microseconds: total, lookup, connect, redirect, appconnect,
    /// pretransfer, starttransfer.
    let times: HTTPTransferTimes

    init(
        id: String, error: String?, status: Int = 0, reason: String = "",
        headers: [(name: String, value: String)] = [], head: [UInt8] = [], body: [UInt8] = [],
        times: HTTPTransferTimes = HTTPTransferTimes()
    ) {
        self.id = id
        self.error = error
        self.status = status
        self.reason = reason
        self.headers = headers
        self.head = head
        self.body = body
        self.times = times
    }

    /// The values of the header fields called `name` (case-insensitive), in order.
    func headerValues(_ name: String) -> [String] {
        let lower = name.lowercased()
        return headers.filter { $0.name.lowercased() == lower }.map(\.value)
    }

    /// The result of the callback route running on this thread; nil elsewhere.
    static var current: HTTPQueryResult? {
        guard let raw = pthread_getspecific(key) else { return nil }
        return Unmanaged<HTTPQueryResult>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Runs `body` with `result` as this thread's `current`.
    func withCurrent(_ body: () -> Void) {
        let saved = pthread_getspecific(Self.key)
        let me = Unmanaged.passRetained(self)
        pthread_setspecific(Self.key, me.toOpaque())
        body()
        pthread_setspecific(Self.key, saved)
        me.release()
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}

/// libcurl's broken-down transfer times, in microseconds (`$http_time(name)`).
struct HTTPTransferTimes: Sendable {
    var total = 0
    var lookup = 0
    var connect = 0
    var redirect = 0
    var appconnect = 0
    var pretransfer = 0
    var starttransfer = 0
}

/// `$http_req_id`: the id of the last query sent from this thread, or, in a callback route,
/// of the query whose result it handles (Kamailio's per-process `q_id`).
enum HTTPQueryID {
    private static let counter = QueryCounter()

    /// A new id: `pid-n`, n counting the queries of the process from 1.
    static func next() -> String { "\(getpid())-\(counter.next())" }

    /// The id for this thread: the callback's query, else the last one sent here ("" before).
    static var current: String {
        if let result = HTTPQueryResult.current { return result.id }
        guard let raw = pthread_getspecific(key) else { return "" }
        return Unmanaged<IDBox>.fromOpaque(raw).takeUnretainedValue().id
    }

    /// Remembers `id` as the last query sent from this thread.
    static func setLast(_ id: String) {
        if let raw = pthread_getspecific(key) {
            Unmanaged<IDBox>.fromOpaque(raw).takeUnretainedValue().id = id
        } else {
            pthread_setspecific(key, Unmanaged.passRetained(IDBox(id)).toOpaque())
        }
    }

    private final class IDBox {
        var id: String
        init(_ id: String) { self.id = id }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            guard let raw else { return }
            Unmanaged<AnyObject>.fromOpaque(raw).release()
        }
        return key
    }()

    /// A process-wide counter behind a mutex.
    private final class QueryCounter: @unchecked Sendable {
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private var value: UInt32 = 0
        init() { pthread_mutex_init(mutex, nil) }
        func next() -> UInt32 {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            value &+= 1
            return value
        }
    }
}

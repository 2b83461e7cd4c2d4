import CHTTPAsyncCurl
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Module-wide settings that are not per query.
struct HTTPClientSettings: Sendable {
    /// `tls_version`: CURLOPT_SSLVERSION.
    var tlsVersion = 0
    /// `curl_verbose`.
    var verbose = false
}

/// The module's statistics (Kamailio's `requests`, `replies`, `errors`, `timeouts`).
final class HTTPAsyncStatistics: @unchecked Sendable {
    let requests: CounterHandle
    let replies: CounterHandle
    let errors: CounterHandle
    let timeouts: CounterHandle

    init() throws(FixupError) {
        let c = Counters.shared
        let g = "http_async_client"
        requests = try c.register(
            group: g, name: "requests", description: "http requests sent", flags: .noReset, existingIsFine: true)
        replies = try c.register(
            group: g, name: "replies", description: "http replies received", flags: .noReset, existingIsFine: true)
        errors = try c.register(group: g, name: "errors", description: "errors", flags: .noReset, existingIsFine: true)
        timeouts = try c.register(
            group: g, name: "timeouts", description: "timed out requests", flags: .noReset, existingIsFine: true)
    }
}

/// The `http_async_client` module (Kamailio's `modules/http_async_client`): HTTP(S) queries
/// sent by `workers` threads, each driving its transfers with one libcurl multi handle; the
/// request's transaction is suspended meanwhile and continued in the callback route.
final class HTTPAsyncClientModule {
    var workerCount = 1
    var hashSize = 2048
    var memoryManager = "shm"
    var defaults = HTTPQueryParameters()
    var settings = HTTPClientSettings()

    var tm: TransactionAPI?
    var continuation: TransactionContinuationAPI?
    var statistics: HTTPAsyncStatistics?
    private let workersLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var workers: [CurlMultiWorker] = []
    private var nextWorker = 0

    init() { pthread_mutex_init(workersLock, nil) }

    var exports: ModuleExports {
        let e = ModuleExports(name: "http_async_client")
        e.parameters = parameters
        e.functions = [
            ScriptFunction("http_async_query", parameters: 2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupQuery(args)
            }
        ]
        e.pseudoVariables = HTTPAsyncVariables.classes(self)
        e.initialize = { context in try self.initialize(context) }
        e.childInitialize = { rank in
            // Kamailio forks its HTTP workers from the main process's child_init.
            if rank == 0 { _ = self.startWorkers() }
        }
        e.destroy = { self.stopWorkers() }
        return e
    }

    private func initialize(_ context: ModuleInitContext) throws {
        statistics = try HTTPAsyncStatistics()
        if hashSize < 1 {
            Log.warning("http_async_client", "hash_size is smaller than 1  -> rounding from \(hashSize) to 1")
            hashSize = 1
        }
        if hashSize & (hashSize - 1) != 0 {
            var p = 1
            while p * 2 <= hashSize { p *= 2 }
            Log.warning(
                "http_async_client",
                "hash_size is not a power of 2 as it should be -> rounding from \(hashSize) to \(p)")
            hashSize = p
        }
        guard workerCount >= 1 else { throw FixupError("the 'workers' parameter must be >= 1") }
        guard memoryManager.hasPrefix("shm") || memoryManager.hasPrefix("sys") else {
            throw FixupError("invalid memory_manager parameter: '\(memoryManager)'")
        }
        if defaults.tcpKeepalive != 0 { Log.info("http_async_client", "TCP keepalives enabled") }
        if (defaults.tcpKeepaliveIdle > 0 || defaults.tcpKeepaliveInterval > 0) && defaults.tcpKeepalive <= 0 {
            Log.warning(
                "http_async_client",
                "either 'tcp_ka_idle' or 'tcp_ka_interval' are set but 'tcp_keepalive' is disabled: they will be ignored"
            )
        }
        guard curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK else { throw FixupError("cannot initialize cURL") }
        tm = context.core.apis.lookup(TransactionAPI.self)
        continuation = context.core.apis.lookup(TransactionContinuationAPI.self)
        if tm == nil { Log.info("http_async_client", "cannot load the TM-functions - async relay disabled") }
    }

    /// Starts the `workers` threads unless they run (the server's main `child_init`; the
    /// embedded test core starts them at the first query). False when none could start.
    func startWorkers() -> Bool {
        pthread_mutex_lock(workersLock)
        defer { pthread_mutex_unlock(workersLock) }
        guard workers.isEmpty, let statistics else { return !workers.isEmpty }
        for i in 1...workerCount {
            guard let w = CurlMultiWorker(index: i, statistics: statistics), w.start() else { continue }
            workers.append(w)
        }
        return !workers.isEmpty
    }

    private func stopWorkers() {
        pthread_mutex_lock(workersLock)
        let all = workers
        workers = []
        pthread_mutex_unlock(workersLock)
        for w in all { w.stop() }
    }

    /// Hands `transfer` to the next worker, round robin; false when none runs.
    func push(_ transfer: HTTPTransfer) -> Bool {
        if !startWorkers() { return false }
        pthread_mutex_lock(workersLock)
        guard !workers.isEmpty else {
            pthread_mutex_unlock(workersLock)
            return false
        }
        let w = workers[nextWorker % workers.count]
        nextWorker &+= 1
        pthread_mutex_unlock(workersLock)
        return w.push(transfer)
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "http_async_client") { HTTPAsyncClientModule().exports }
}

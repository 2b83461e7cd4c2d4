import CHTTPAsyncCurl
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// One HTTP worker (Kamailio's "Http Async Worker" process): a thread running a libcurl multi
/// handle, which drives all its transfers at once and runs each one's completion (the
/// callback route) when it ends. Queries are handed over from any thread with `push`.
final class CurlMultiWorker: @unchecked Sendable {
    let index: Int
    private let multi: UnsafeMutableRawPointer
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var queued: [HTTPTransfer] = []
    private var stopped = false
    private var thread: pthread_t?
    /// The transfers in the multi handle, by easy handle (worker thread only).
    private var active: [UnsafeMutableRawPointer: HTTPTransfer] = [:]
    private let statistics: HTTPAsyncStatistics

    init?(index: Int, statistics: HTTPAsyncStatistics) {
        guard let multi = curl_multi_init() else { return nil }
        self.index = index
        self.multi = multi
        self.statistics = statistics
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        curl_multi_cleanup(multi)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Starts the thread; false when it cannot be.
    func start() -> Bool {
        let box = Unmanaged.passRetained(self).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(
            &t, nil,
            { raw in
                let worker = Unmanaged<CurlMultiWorker>.fromOpaque(raw!).takeRetainedValue()
                worker.run()
                return nil
            }, box)
        guard rc == 0 else {
            Unmanaged<CurlMultiWorker>.fromOpaque(box).release()
            Log.error("http_async_client", "cannot start http worker \(index): error \(rc)")
            return false
        }
        thread = t
        return true
    }

    /// Hands `transfer` to the thread; false once it was stopped.
    func push(_ transfer: HTTPTransfer) -> Bool {
        pthread_mutex_lock(mutex)
        guard !stopped else {
            pthread_mutex_unlock(mutex)
            return false
        }
        queued.append(transfer)
        pthread_mutex_unlock(mutex)
        _ = curl_multi_wakeup(multi)
        return true
    }

    /// Stops the thread (transfers not ended are dropped without their callbacks) and waits
    /// for it.
    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_mutex_unlock(mutex)
        _ = curl_multi_wakeup(multi)
        if let thread, !pthread_equal(thread, pthread_self()).isTrue { pthread_join(thread, nil) }
        thread = nil
    }

    private func run() {
        Log.info("http_async_client", "started worker process: \(index)")
        while true {
            pthread_mutex_lock(mutex)
            let isStopped = stopped
            let new = queued
            queued.removeAll(keepingCapacity: true)
            pthread_mutex_unlock(mutex)
            if isStopped { break }
            for transfer in new { add(transfer) }
            var running: Int32 = 0
            _ = curl_multi_perform(multi, &running)
            finishTransfers()
            let untilNextTimeout = expireInactiveTransfers()
            _ = curl_multi_poll(multi, nil, 0, Int32(min(1000, untilNextTimeout)), nil)
        }
        for (easy, _) in active { curl_multi_remove_handle(multi, easy) }
        active.removeAll()
    }

    private func add(_ transfer: HTTPTransfer) {
        statistics.requests.increment()
        guard let easy = transfer.makeHandle(), curl_multi_add_handle(multi, easy) == CURLM_OK else {
            Log.error("http_async_client", "cannot create request for \(transfer.url)")
            statistics.errors.increment()
            transfer.completion(HTTPQueryResult(id: transfer.id, error: "cannot create the request"))
            return
        }
        transfer.lastActivity = InactivityTimeout.now()
        active[easy] = transfer
    }

    /// Ends with `TIMEOUT` the transfers that moved nothing for their timeout (Kamailio's
    /// libevent socket events with the timeout); the milliseconds until the next one may.
    private func expireInactiveTransfers() -> Int {
        let now = InactivityTimeout.now()
        var next = Int.max
        for (easy, transfer) in active where transfer.parameters.timeout > 0 {
            let idle = InactivityTimeout.idleMilliseconds(transfer, easy: easy, now: now)
            let left = transfer.parameters.timeout - idle
            guard left <= 0 else {
                next = min(next, left)
                continue
            }
            curl_multi_remove_handle(multi, easy)
            active.removeValue(forKey: easy)
            statistics.timeouts.increment()
            transfer.completion(HTTPQueryResult(id: transfer.id, error: "TIMEOUT"))
        }
        return next
    }

    /// Ends the transfers libcurl reports done (Kamailio's `check_multi_info`).
    private func finishTransfers() {
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            curl_multi_remove_handle(multi, easy)
            guard let transfer = active.removeValue(forKey: easy) else { continue }
            let result = transfer.result(code: code)
            if let error = result.error {
                if error == "TIMEOUT" {
                    statistics.timeouts.increment()
                } else {
                    Log.error("http_async_client", "handle returned error \(code.rawValue): \(error)")
                    statistics.errors.increment()
                }
            }
            transfer.completion(result)
            if result.error == nil { statistics.replies.increment() }
        }
    }
}

extension Int32 {
    fileprivate var isTrue: Bool { self != 0 }
}

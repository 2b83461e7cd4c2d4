import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// One publish worker's queue: the messages `nats_publish` hands over, as bytes in one
/// buffer (no allocation per message once the buffer has grown), taken by the worker all at
/// once. The SIP worker wakes the publish worker only when it sleeps with nothing to do; a
/// busy worker collects what comes for `batchMilliseconds` before taking the next batch, so
/// under load it wakes once per batch instead of once per message.
final class NATSPublishQueue: @unchecked Sendable {
    /// The most messages waiting (not yet taken by the worker).
    let capacity: Int
    /// How long a worker that just published a batch lets the next one build up.
    let batchMilliseconds: Int

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// The waiting messages, each `subject length (UInt32) | payload length (UInt32) |
    /// subject | NUL | payload`.
    private var bytes: [UInt8] = []
    private var count = 0
    /// Whether the worker waits for a message (then a push wakes it).
    private var idle = false
    private var stopped = false

    init(capacity: Int, batchMilliseconds: Int) {
        self.capacity = capacity
        self.batchMilliseconds = batchMilliseconds
        bytes.reserveCapacity(64 * 1024)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(wake, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        wake.deallocate()
        mutex.deallocate()
    }

    /// Queues one message; false when the queue is full or stopped.
    func push(subject: UnsafeBufferPointer<UInt8>, payload: UnsafeBufferPointer<UInt8>) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard count < capacity, !stopped else { return false }
        Self.appendLength(subject.count, to: &bytes)
        Self.appendLength(payload.count, to: &bytes)
        bytes.append(contentsOf: subject)
        bytes.append(0)
        bytes.append(contentsOf: payload)
        count += 1
        if idle || count == capacity / 2 {
            idle = false
            pthread_cond_signal(wake)
        }
        return true
    }

    /// On the worker: waits for messages and moves them all into `batch` (emptied first);
    /// their number, or nil once stopped. After a batch (`afterBatch`) it first waits
    /// `batchMilliseconds` unless the queue fills past half meanwhile.
    func take(into batch: inout [UInt8], afterBatch: Bool) -> Int? {
        batch.removeAll(keepingCapacity: true)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if afterBatch, batchMilliseconds > 0, !stopped {
            var deadline = timespec()
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            let nanoseconds = deadline.tv_nsec + batchMilliseconds * 1_000_000
            deadline.tv_sec += nanoseconds / 1_000_000_000
            deadline.tv_nsec = nanoseconds % 1_000_000_000
            // Only stop() and a queue half full signal during this wait (idle is false).
            while !stopped, count < capacity / 2, pthread_cond_timedwait(wake, mutex, &deadline) == 0 {}
        }
        while count == 0, !stopped {
            idle = true
            pthread_cond_wait(wake, mutex)
        }
        idle = false
        guard !stopped else { return nil }
        swap(&bytes, &batch)
        let taken = count
        count = 0
        return taken
    }

    /// Wakes the worker for good: `take` returns nil; waiting messages are dropped.
    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        bytes = []
        count = 0
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    /// Calls `body(subject, payload bytes)` for each message of a batch `take` filled, in order;
    /// the subject is NUL-terminated.
    static func forEach(
        in batch: [UInt8], _ body: (UnsafePointer<CChar>, UnsafeBufferPointer<UInt8>) -> Void
    ) {
        batch.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress else { return }
            var at = 0
            while at + 8 <= all.count {
                let subjectLength = readLength(base + at)
                let payloadLength = readLength(base + at + 4)
                let subject = base + at + 8
                let payload = subject + subjectLength + 1
                subject.withMemoryRebound(to: CChar.self, capacity: subjectLength + 1) { s in
                    body(s, UnsafeBufferPointer(start: payload, count: payloadLength))
                }
                at += 8 + subjectLength + 1 + payloadLength
            }
        }
    }

    private static func appendLength(_ n: Int, to bytes: inout [UInt8]) {
        let v = UInt32(truncatingIfNeeded: n)
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 24))
    }

    private static func readLength(_ p: UnsafePointer<UInt8>) -> Int {
        Int(p[0]) | Int(p[1]) << 8 | Int(p[2]) << 16 | Int(p[3]) << 24
    }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// A message framed on a connection, waiting for a script worker.
struct StreamJob {
    let bytes: [UInt8]
    let receive: ReceiveInfo
    let connection: TCPConnection
}

/// A blocking FIFO of jobs for one worker thread (a mutex and a condition variable).
final class JobQueue: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var jobs: [StreamJob] = []
    private var head = 0
    private var closed = false

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    func push(_ job: StreamJob) {
        pthread_mutex_lock(&mutex)
        jobs.append(job)
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// The next job; nil once the queue is closed and empty.
    func pop() -> StreamJob? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while head == jobs.count {
            if closed { return nil }
            pthread_cond_wait(&condition, &mutex)
        }
        let job = jobs[head]
        head += 1
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        }
        return job
    }

    /// Lets the worker finish what is queued, then stop.
    func close() {
        pthread_mutex_lock(&mutex)
        closed = true
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }
}

/// The script workers for connection-oriented transports (`tcp_children`). Messages of one
/// connection always go to the same worker, so they are handled in the order they arrived,
/// as Kamailio's TCP readers do.
final class StreamWorkerPool: @unchecked Sendable {
    let queues: [JobQueue]

    init(count: Int) { queues = (0..<max(1, count)).map { _ in JobQueue() } }

    func submit(_ job: StreamJob) {
        queues[job.connection.id % queues.count].push(job)
    }

    /// Runs worker `index` until its queue is closed and drained.
    func run(_ index: Int, dispatcher: MessageDispatcher) {
        let queue = queues[index]
        while let job = queue.pop() {
            dispatcher.handle(job.bytes, receive: job.receive)
        }
    }

    func close() { for q in queues { q.close() } }
}

#if canImport(Glibc)
    import Glibc
#endif

/// A FIFO of tasks and the threads that run them, one task at a time per thread: the core's
/// async task worker groups (`async_workers`) and the async module's `workers` run on it.
/// Tasks may be pushed from any thread.
public final class TaskWorkers: @unchecked Sendable {
    /// What the threads are called in log lines.
    public let name: String
    /// The most tasks waiting at once (0: no limit). A full queue makes `push` wait, or fail
    /// when it is told not to wait (Kamailio's `nonblock` task sockets).
    public let capacity: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let notEmpty = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let notFull = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var tasks: [() -> Void] = []
    private var head = 0
    private var stopped = false
    private var threads: [pthread_t] = []

    public init(name: String, capacity: Int = 0) {
        self.name = name
        self.capacity = max(0, capacity)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(notEmpty, nil)
        pthread_cond_init(notFull, nil)
    }

    deinit {
        pthread_cond_destroy(notFull)
        pthread_cond_destroy(notEmpty)
        pthread_mutex_destroy(mutex)
        notFull.deallocate()
        notEmpty.deallocate()
        mutex.deallocate()
    }

    /// The number of threads started.
    public var threadCount: Int { locked { threads.count } }

    /// The number of tasks waiting for a thread.
    public var pending: Int { locked { tasks.count - head } }

    /// Starts `count` threads. Each first runs `prepare(index)` (index from 1; a module's
    /// `child_init`), and stops at once when it returns false; then it runs tasks, sleeping
    /// `pauseMicroseconds` before taking each one (Kamailio's `async_usleep`).
    public func start(threads count: Int, pauseMicroseconds: Int = 0, prepare: @escaping (Int) -> Bool) {
        guard count > 0 else { return }
        for index in 1...count {
            let box = Unmanaged.passRetained(
                ThreadStart { [self] in
                    guard prepare(index) else { return }
                    while true {
                        if pauseMicroseconds > 0 { usleep(UInt32(min(pauseMicroseconds, Int(UInt32.max)))) }
                        guard let task = take() else { return }
                        task()
                    }
                }
            ).toOpaque()
            var thread = pthread_t()
            let started = pthread_create(
                &thread, nil,
                { raw in
                    Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue().body()
                    return nil
                }, box)
            if started == 0 {
                locked { threads.append(thread) }
            } else {
                Unmanaged<ThreadStart>.fromOpaque(box).release()
                Log.error("core", "cannot start a thread of \(name): error \(started)")
            }
        }
    }

    /// Queues `task`; false when the workers were stopped, or when the queue is full and
    /// `wait` is false. With `wait` a full queue blocks the caller until a task is taken.
    @discardableResult
    public func push(_ task: @escaping () -> Void, wait: Bool = true) -> Bool {
        locked {
            while capacity > 0, tasks.count - head >= capacity, !stopped {
                guard wait else { return false }
                pthread_cond_wait(notFull, mutex)
            }
            guard !stopped else { return false }
            tasks.append(task)
            pthread_cond_signal(notEmpty)
            return true
        }
    }

    /// Stops the threads: each finishes the task it runs, waiting tasks are dropped. Waits
    /// for them unless called from one of them.
    public func stop() {
        let (joined, dropped): ([pthread_t], [() -> Void]) = locked {
            stopped = true
            let waiting = tasks
            tasks = []
            head = 0
            pthread_cond_broadcast(notEmpty)
            pthread_cond_broadcast(notFull)
            let all = threads
            threads = []
            return (all, waiting)
        }
        _ = dropped  // released here, outside the lock
        let me = pthread_self()
        for t in joined where pthread_equal(t, me) == 0 { pthread_join(t, nil) }
    }

    /// The next task; nil once stopped.
    private func take() -> (() -> Void)? {
        locked {
            while head == tasks.count {
                if stopped { return nil }
                pthread_cond_wait(notEmpty, mutex)
            }
            if stopped { return nil }
            let task = tasks[head]
            head += 1
            if head == tasks.count {
                tasks.removeAll(keepingCapacity: true)
                head = 0
            }
            pthread_cond_signal(notFull)
            return task
        }
    }

    @inline(__always) private func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}

/// The body of a thread being started (passed through `pthread_create`'s argument).
private final class ThreadStart {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

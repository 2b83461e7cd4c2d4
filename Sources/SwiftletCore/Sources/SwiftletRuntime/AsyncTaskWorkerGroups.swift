import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessRank {
    /// The rank of the async task workers' `child_init` (Kamailio's `PROC_RPC`: its task
    /// workers are forked with that rank).
    public static let rpc = -2
}

/// The core's async task workers (Kamailio's `async_task.c`), offered to modules as
/// `AsyncTaskAPI`: one `TaskWorkers` per group, started with the other workers (each thread
/// runs the modules' `child_init(PROC_RPC)` first) and stopped at shutdown.
public final class AsyncTaskWorkerGroups: AsyncTaskAPI, @unchecked Sendable {
    /// One group and its threads.
    final class Group {
        let settings: AsyncWorkerGroupSettings
        let workers: TaskWorkers
        init(_ settings: AsyncWorkerGroupSettings) {
            self.settings = settings
            // A nonblock group refuses tasks once this many wait (Kamailio's datagram
            // socket refuses them when its queue is full); others queue without limit.
            workers = TaskWorkers(
                name: "async task worker - \(settings.name)", capacity: settings.nonblock ? 512 : 0)
        }
    }

    let groups: [Group]

    public init(_ settings: [AsyncWorkerGroupSettings]) {
        groups = settings.map(Group.init)
    }

    public var isActive: Bool { !groups.isEmpty }

    public var groupNames: [String] { groups.map(\.settings.name) }

    public func push(_ task: @escaping () -> Void, group: String?) -> Bool {
        let target = group.map { name in groups.first { $0.settings.name == name } } ?? groups.first
        guard let target else { return false }
        return target.workers.push(task, wait: !target.settings.nonblock)
    }

    public var currentGroup: String? {
        guard let raw = pthread_getspecific(Self.groupKey) else { return nil }
        return Unmanaged<Group>.fromOpaque(raw).takeUnretainedValue().settings.name
    }

    /// Starts every group's threads: each runs `prepare()` (the modules' `child_init`) and
    /// stops at once when it returns false.
    public func start(firstLogRank: Int = 0, prepare: @escaping () -> Bool) {
        var rank = firstLogRank
        for group in groups {
            let first = rank
            group.workers.start(threads: group.settings.workers, pauseMicroseconds: group.settings.usleep) { index in
                if first > 0 { Log.setRank(first + index - 1) }
                pthread_setspecific(Self.groupKey, Unmanaged.passUnretained(group).toOpaque())
                return prepare()
            }
            rank += group.settings.workers
        }
    }

    /// Stops every group's threads (each finishes its task; waiting tasks are dropped).
    public func stop() {
        for group in groups { group.workers.stop() }
    }

    /// The calling thread's group (unretained: the group outlives its threads).
    private static let groupKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}

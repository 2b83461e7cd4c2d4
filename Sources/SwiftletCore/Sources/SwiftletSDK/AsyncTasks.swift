/// The core's asynchronous task workers (Kamailio's `async_task.c`): groups of threads,
/// configured with the core parameters `async_workers` (the group `default`),
/// `async_usleep`, `async_nonblock` and `async_workers_group`, that run tasks modules hand
/// them (async's `async_task_route`). The core offers it in every configuration as
/// `core.apis.lookup(AsyncTaskAPI.self)`, also while fixups run.
public protocol AsyncTaskAPI: AnyObject {
    /// True when there are task workers (`async_workers` > 0 or a group): Kamailio's
    /// `async_task_initialized`.
    var isActive: Bool { get }
    /// The groups' names, the first (default) group first.
    var groupNames: [String] { get }
    /// Hands `task` to a worker of `group` (nil: the first group); false when there is no
    /// such group, the workers are stopped, or the group is `nonblock` and its queue is full.
    func push(_ task: @escaping () -> Void, group: String?) -> Bool
    /// The name of the group the calling thread works for; nil on other threads.
    var currentGroup: String? { get }
}

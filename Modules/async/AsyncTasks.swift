import SwiftletSDK

/// `async_task_route`, `async_task_group_route`, `async_task_data`, `async_task_group_data`:
/// work for the core's async task workers (`async_workers`, `async_workers_group`).
extension AsyncModule {
    var taskFunctions: [ScriptFunction] {
        [
            ScriptFunction("async_task_route", parameters: 1, routes: [.request, .failure]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupTaskRoute(route: args[0], group: nil)
            },
            ScriptFunction("async_task_group_route", parameters: 2, routes: [.request, .failure]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupTaskRoute(route: args[0], group: args[1])
            },
            ScriptFunction("async_task_data", parameters: 2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupTaskData(route: args[0], group: nil, data: args[1])
            },
            ScriptFunction("async_task_group_data", parameters: 3, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupTaskData(route: args[0], group: args[1], data: args[2])
            },
        ]
    }

    /// The core's task workers; a fixup error when there are none, as Kamailio's.
    func requireTaskWorkers() throws(FixupError) -> AsyncTaskAPI {
        guard let tasks = CoreContext.current.apis.lookup(AsyncTaskAPI.self), tasks.isActive else {
            throw FixupError("async task framework was not initialized - set async_workers parameter in core")
        }
        return tasks
    }

    /// The group named by `format` for this message: `.first` without a name or with an
    /// empty one (Kamailio's default group), `.unknown` (with an error line) when no group
    /// has that name.
    static func group(_ format: StringFormat?, _ ctx: MessageContext, in tasks: AsyncTaskAPI) -> TaskGroup {
        guard let format else { return .first }
        let name = format.render(ctx)
        if name.isEmpty { return .first }
        guard tasks.groupNames.contains(name) else {
            Log.error("async", "group [\(name)] not found")
            return .unknown
        }
        return .named(name)
    }

    enum TaskGroup {
        case first, named(String), unknown
        /// The name to push to (nil: the first group).
        var name: String? { if case .named(let n) = self { n } else { nil } }
    }

    /// `async_task_route(name)` / `async_task_group_route(name, group)`: the request is
    /// suspended and `route[name]` continues it in a task worker of the group; returns
    /// `return` (0: the script stops here), -1 on errors.
    func fixupTaskRoute(route: ScriptArgument, group: ScriptArgument?) throws(FixupError) -> ScriptAction {
        let tasks = try requireTaskWorkers()
        let name = try route.stringFormat()
        let groupName = try group?.stringFormat()
        return { ctx in
            guard let tm = self.tm else { return -1 }
            let route = name.render(ctx)
            guard let routes = ctx.core.routes, routes.routeNames.contains(route) else {
                Log.error("async", "route block not found: \(route)")
                return -1
            }
            let group = Self.group(groupName, ctx, in: tasks)
            if case .unknown = group { return -1 }
            guard tm.suspend(ctx) else {
                Log.error("async", "failed to suspend the processing")
                return -1
            }
            // The worker waits until this script is done with the request.
            let gate = ScriptHandOffGate()
            let pushed = tasks.push(
                {
                    gate.wait()
                    self.continueRequest(ctx) { ctx in _ = routes.runRoute(route, ctx, as: .request) }
                }, group: group.name)
            guard pushed else {
                Log.error("async", "failed to pass the task to async workers")
                return -1
            }
            return self.returnCode
        }
    }

    /// `async_task_data(name, data)` / `async_task_group_data(name, group, data)`: a task
    /// worker runs `route[name]` on Kamailio's faked request with `$async(data)` = `data`;
    /// the current message goes on. 1, or -1 on errors.
    func fixupTaskData(route: ScriptArgument, group: ScriptArgument?, data: ScriptArgument) throws(FixupError)
        -> ScriptAction
    {
        let tasks = try requireTaskWorkers()
        let name = try route.stringFormat()
        let groupName = try group?.stringFormat()
        let dataFormat = try data.stringFormat()
        return { ctx in
            let route = name.render(ctx)
            let core = ctx.core
            guard let routes = core.routes, routes.routeNames.contains(route) else {
                Log.error("async", "route block not found: \(route)")
                return -1
            }
            let group = Self.group(groupName, ctx, in: tasks)
            if case .unknown = group { return -1 }
            let value = dataFormat.render(ctx)
            let pushed = tasks.push(
                {
                    let faked = MessageContext.faked(core: core)
                    // Kamailio runs the pre-script callbacks on the faked request first.
                    for filter in core.hooks.requestIn where !filter(faked) { return }
                    AsyncVariable.withData(value) { _ = routes.runRoute(route, faked, as: .request) }
                }, group: group.name)
            guard pushed else {
                Log.error("async", "failed to pass the task to async workers")
                return -1
            }
            return 1
        }
    }
}

/// One action of the configuration script, as Kamailio's `struct action` describes it to
/// the `SREV_CFG_RUN_ACTION` event (the debugger's cfgtrace): the routing block it is in,
/// its position, Kamailio's action type number (`a=`) and name (`n=`).
public struct ScriptActionInfo: Sendable {
    /// The routing block's name: `DEFAULT_ROUTE` for `request_route`, the name of a named
    /// block (`route[R1]` → `R1`, `failure_route[MANAGE_FAILURE]` → `MANAGE_FAILURE`).
    public let route: String
    public let file: String
    public let line: Int
    /// Kamailio's `enum action_type` value (`IF_T` 16, `ASSIGN_T` 63, `MODULE1_T` 25, ...).
    public let type: Int
    /// The name the debugger prints: the function's name, or `if`, `assign`, `route`, ...
    public let name: String

    public init(route: String, file: String, line: Int, type: Int, name: String) {
        self.route = route
        self.file = file
        self.line = line
        self.type = type
        self.name = name
    }
}

/// Told before each action of the script runs (Kamailio's `SREV_CFG_RUN_ACTION`
/// callback). A module offers it with `exports.provide(self, as: ScriptActionTracer.self)`;
/// the script is then compiled with a check before each action. Without a provider the
/// compiled script has no such check (no cost).
public protocol ScriptActionTracer: AnyObject, Sendable {
    /// Called on the worker running `ctx`, before `action` runs.
    func actionWillRun(_ action: ScriptActionInfo, _ ctx: MessageContext)
}

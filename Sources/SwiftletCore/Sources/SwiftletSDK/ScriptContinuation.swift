/// The actions that follow a function call in its block (Kamailio's `action->next`, which
/// `async_sleep` continues with): from the action after the call to the end of the block
/// that holds it (an `if` branch, a loop body, a route), not beyond.
public protocol ScriptContinuation: AnyObject {
    /// False when the call is the last action of its block.
    var hasActions: Bool { get }
    /// Runs the actions as a top route of type `routeType` (`exit` and `return` end it);
    /// false when they ran `drop`.
    @discardableResult
    func run(_ context: MessageContext, as routeType: RouteTypes) -> Bool
}

/// How a function's fixup gets the actions after its call.
public enum ScriptContinuations {
    nonisolated(unsafe) private static var offered: ScriptContinuation?
    nonisolated(unsafe) private static var wasClaimed = false

    /// In a fixup: the actions after the call being fixed up, or nil when the call is not a
    /// statement of its own (a condition or an operand has no next action). Configuration
    /// loads are serialised, so this is only called by one thread at a time.
    public static func following() -> ScriptContinuation? {
        wasClaimed = offered != nil
        return offered
    }

    /// For the script compiler: offers `continuation` to the fixups run by `compile` (one
    /// function call); returns what `compile` returned and whether a fixup took it.
    public static func offer<R>(_ continuation: ScriptContinuation, while compile: () -> R) -> (R, claimed: Bool) {
        offered = continuation
        wasClaimed = false
        defer {
            offered = nil
            wasClaimed = false
        }
        let result = compile()
        return (result, wasClaimed)
    }
}

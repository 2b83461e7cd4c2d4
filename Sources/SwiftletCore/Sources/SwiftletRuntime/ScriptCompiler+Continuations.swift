import SwiftletSDK

/// The actions after a function call in its block, filled in once the block is compiled
/// (`ScriptContinuation`; async's `async_sleep` continues with them).
final class BlockContinuation: ScriptContinuation {
    var body: CompiledStatement = { _ in .next }
    var hasActions = false

    @discardableResult
    func run(_ ctx: MessageContext, as routeType: RouteTypes) -> Bool {
        ScriptHandOff.run {
            let saved = ctx.routeType
            ctx.routeType = routeType
            ctx.exitRequested = false
            defer { ctx.routeType = saved }
            return body(ctx) != .drop
        }
    }
}

extension ScriptCompiler {
    /// Compiles the statements of one block (a route, an `if` branch, a loop body, a `switch`
    /// case). A function call that is a statement of its own may take the actions after it
    /// (`ScriptContinuations.following()` in its fixup): they are set once the whole block
    /// is compiled.
    func compileStatements(_ body: [Statement]) -> [CompiledStep] {
        var compiled: [CompiledStep] = []
        var taken: [(index: Int, continuation: BlockContinuation)] = []
        for statement in body {
            let mark = pendingContinuations.count
            compiled.append(CompiledStep(run: compile(statement)))
            for c in pendingContinuations[mark...] { taken.append((compiled.count - 1, c)) }
            pendingContinuations.removeSubrange(mark...)
        }
        for (index, continuation) in taken {
            let rest = Array(compiled[(index + 1)...])
            continuation.hasActions = !rest.isEmpty
            continuation.body = sequence(rest)
        }
        return compiled
    }

    /// One block as one compiled statement.
    func compileList(_ body: [Statement]) -> CompiledStatement { sequence(compileStatements(body)) }

    /// A function call written as a statement: its fixup may take the actions after it.
    func compileStatementCall(_ name: String, _ args: [Expression], _ loc: SourceLocation) -> ScriptAction {
        let continuation = BlockContinuation()
        let (action, claimed) = ScriptContinuations.offer(continuation) { compileCall(name, args, loc) }
        if claimed { pendingContinuations.append(continuation) }
        return action
    }
}

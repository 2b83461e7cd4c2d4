import SwiftletSDK

/// The functions exported by the loaded modules, by name.
struct FunctionTable {
    private(set) var byName: [String: [(module: String, function: ScriptFunction)]] = [:]

    mutating func add(_ module: LoadedModule) {
        for f in module.exports.functions { byName[f.name, default: []].append((module.name, f)) }
    }

    func lookup(_ name: String) -> [(module: String, function: ScriptFunction)] { byName[name] ?? [] }
}

/// What the compiler needs to know besides the modules: the core's limits, the local
/// addresses (`myself`) and which modules were loaded or failed to load.
struct CompilerEnvironment {
    var maxRecursiveLevel = 256
    /// `max_while_loops`: iterations of one `while` before it is stopped (0: no limit).
    var maxWhileLoops = 100
    var localAddresses = LocalAddresses()
    /// Names of the modules that are loaded (`sl`, `xlog`).
    var loadedModules: Set<String> = []
    /// Names of the modules whose `loadmodule` failed (`tm` for `loadmodule "tm.so"`).
    var failedModules: Set<String> = []
    /// Told before each action runs (the debugger's cfgtrace); nil compiles no check.
    var tracer: ScriptActionTracer?
}

/// Compiles the routing blocks of a configuration into closures, resolving every function,
/// pseudo-variable and route name once. Collects all errors with their positions.
final class ScriptCompiler {
    let functions: FunctionTable
    let registry: PseudoVariableRegistry
    let environment: CompilerEnvironment
    var maxRecursiveLevel: Int { environment.maxRecursiveLevel }
    var localAddresses: LocalAddresses { environment.localAddresses }
    private(set) var diagnostics: [ConfigDiagnostic] = []
    /// Problems that do not stop the configuration (functions of `route[NAME]` that may not
    /// run in some block that calls NAME).
    private(set) var warnings: [ConfigDiagnostic] = []
    private var named: [String: CompiledRoute] = [:]
    /// The route type of the block being compiled (for a named route: every type reaching it).
    private(set) var currentRoute: RouteTypes = .request
    /// The named route being compiled, nil in a top-level block.
    private(set) var currentNamedRoute: String?
    /// Kamailio's `rname` of the block being compiled (`DEFAULT_ROUTE` for unnamed blocks),
    /// for the action tracer.
    private(set) var traceRouteName = "DEFAULT_ROUTE"
    private(set) var reach = RouteReach(ConfigFile())
    /// Named flags (`flags NAME:n`).
    private(set) var flagNames: [String: Int] = [:]
    /// `avpflags` names (lower case) and their bits.
    private(set) var avpFlagBits: [String: UInt32] = [:]
    /// Uses of functions and pseudo-variables of modules that failed to load: reported once
    /// per name, at the first use (see `reportDeferred`).
    var deferred: [String: (message: String, location: SourceLocation, count: Int)] = [:]
    /// Continuations taken by the fixups of calls in the statement being compiled, waiting
    /// for its block to be complete (see `compileStatements`).
    var pendingContinuations: [BlockContinuation] = []

    init(
        functions: FunctionTable, registry: PseudoVariableRegistry = .shared, environment: CompilerEnvironment = .init()
    ) {
        self.functions = functions
        self.registry = registry
        self.environment = environment
    }

    convenience init(functions: FunctionTable, registry: PseudoVariableRegistry = .shared, maxRecursiveLevel: Int) {
        var e = CompilerEnvironment()
        e.maxRecursiveLevel = maxRecursiveLevel
        self.init(functions: functions, registry: registry, environment: e)
    }

    func error(_ message: String, _ location: SourceLocation) {
        diagnostics.append(ConfigDiagnostic(message, at: location))
    }

    func warning(_ message: String, _ location: SourceLocation) {
        warnings.append(ConfigDiagnostic(message, at: location))
    }

    /// Compiles all routing blocks of `config`.
    func compile(_ config: ConfigFile) -> CompiledScript {
        let script = CompiledScript()
        flagNames = CoreFlags.resolve(config.flags, errors: &diagnostics)
        avpFlagBits = AVPFlagActions.resolve(config.avpFlags, errors: &diagnostics)
        CoreFlags.declared = flagNames
        reach = RouteReach(config)
        var seen: [String: SourceLocation] = [:]
        func key(_ kind: RouteKind) -> String {
            switch kind {
            case .request: "request_route"
            case .named(let n): "route[\(n)]"
            case .failure(let n): "failure_route[\(n)]"
            case .branch(let n): "branch_route[\(n)]"
            case .onReply(let n): "onreply_route[\(n ?? "0")]"
            case .onSend: "onsend_route"
            case .event(let n): "event_route[\(n)]"
            }
        }
        for block in config.routes {
            let k = key(block.kind)
            if let first = seen[k] {
                error("\(k) is defined twice (first at \(first))", block.location)
            }
            seen[k] = block.location
            if case .named(let n) = block.kind {
                named[n] = CompiledRoute(name: n)
                if script.namedRouteIndexes[n] == nil {
                    script.namedRouteIndexes[n] = script.namedRouteIndexes.count + 1
                }
            }
        }
        for block in config.routes {
            let k = key(block.kind)
            traceRouteName = ScriptCompiler.traceName(of: block.kind)
            switch block.kind {
            case .request:
                script.requestRoute = compileBlock(block, k, .request)
            case .named(let n):
                currentNamedRoute = n
                named[n]?.body = compileBlock(block, k, reach.types(of: n)).body
                currentNamedRoute = nil
            case .onReply(nil):
                script.replyRoute = compileBlock(block, "reply_route", .coreOnReply)
            case .onReply(let n?):
                script.onReplyRoutes[n] = compileBlock(block, k, .tmOnReply)
            case .failure(let n):
                script.failureRoutes[n] = compileBlock(block, k, .failure)
            case .branch(let n):
                script.branchRoutes[n] = compileBlock(block, k, .branch)
            case .onSend:
                script.onSendRoute = compileBlock(block, k, .onSend)
            case .event(let n):
                script.eventRoutes[n] = compileBlock(block, k, .event)
            }
        }
        script.namedRoutes = named
        reportDeferred()
        return script
    }

    private func compileBlock(_ block: RouteBlock, _ name: String, _ type: RouteTypes) -> CompiledRoute {
        currentRoute = type
        let r = CompiledRoute(name: name)
        r.body = compileList(block.body)
        return r
    }

    /// The statements run in order until one does not end with `.next`. Built from
    /// closures that each capture their statements directly (two or three; longer lists as
    /// a balanced tree of them): a statement is called without reading it from an array
    /// (which retains and releases it for the call).
    func sequence(_ statements: [CompiledStep]) -> CompiledStatement {
        switch statements.count {
        case 0: return { _ in .next }
        case 1: return statements[0].run
        case 2:
            let a = statements[0].run
            let b = statements[1].run
            return { ctx in
                let f = a(ctx)
                return f != .next ? f : b(ctx)
            }
        case 3:
            let a = statements[0].run
            let b = statements[1].run
            let c = statements[2].run
            return { ctx in
                var f = a(ctx)
                if f != .next { return f }
                f = b(ctx)
                return f != .next ? f : c(ctx)
            }
        default:
            let middle = statements.count / 2
            return sequence([
                CompiledStep(run: sequence(Array(statements[..<middle]))),
                CompiledStep(run: sequence(Array(statements[middle...]))),
            ])
        }
    }

    // MARK: statements

    func compile(_ statement: Statement) -> CompiledStatement {
        let compiled = compileUntraced(statement)
        guard let tracer = environment.tracer else { return compiled }
        return traced(statement, compiled, tracer)
    }

    private func compileUntraced(_ statement: Statement) -> CompiledStatement {
        switch statement {
        case .block(let body):
            return compileList(body)
        case .expression(let e):
            var call: (String, [Expression], SourceLocation)? = nil
            if case .call(let name, let args, let loc) = e { call = (name, args, loc) }
            // `force_rport;`, `revert_uri;`: core actions written without parentheses.
            if case .name(let name, let loc) = e, CoreActions.table[name]?.bare == true { call = (name, [], loc) }
            if let (name, args, loc) = call {
                let action = compileStatementCall(name, args, loc)
                return { ctx in
                    ctx.coreError.beginAction()
                    let r = action(ctx)
                    ctx.lastReturnCode = r
                    return r == 0 || ctx.exitRequested ? .exit : .next
                }
            }
            let value = compileExpression(e)
            return { ctx in
                _ = value(ctx)
                return ctx.exitRequested ? .exit : .next
            }
        case .ifElse(let condition, let then, let otherwise, _):
            let cond = compileCondition(condition)
            let thenBlock = compileList(then)
            let elseBlock = otherwise.map { compileList($0) }
            return { ctx in
                ctx.coreError.beginAction()
                let c = cond(ctx)
                if ctx.exitRequested { return .exit }
                if c { return thenBlock(ctx) }
                return elseBlock?(ctx) ?? .next
            }
        case .exit(let value, _):
            let v = value.map(compileExpression)
            return { ctx in
                if let v { ctx.lastReturnCode = v(ctx).intValue }
                return .exit
            }
        case .drop:
            return { _ in .drop }
        case .return(let value, _):
            let v = value.map(compileExpression)
            return { ctx in
                ctx.coreError.beginAction()
                let code = v.map { $0(ctx).intValue } ?? 1
                ctx.lastReturnCode = code
                return code == 0 ? .exit : .return
            }
        case .break:
            return { _ in .break }
        case .routeCall(let name, let loc):
            let call = compileRouteCall(name, loc)
            return { ctx in
                ctx.coreError.beginAction()
                let r = call(ctx)
                return ctx.exitRequested || r == .exit ? .exit : (r == .drop ? .drop : .next)
            }
        case .assignment(let target, let op, let value, let loc):
            return compileAssignment(target, op, value, loc)
        case .switch(let subject, let cases, let loc):
            return compileSwitch(subject, cases, loc)
        case .while(let condition, let body, let loc):
            return compileWhile(condition, body, loc)
        }
    }

    /// `route(NAME)`: runs the named route; its `return` value becomes `$rc`.
    func compileRouteCall(_ name: String, _ loc: SourceLocation) -> (MessageContext) -> Flow {
        if currentRoute == .onSend { error("route() cannot be used in onsend_route", loc) }
        guard let route = named[name] else {
            error("route '\(name)' is not defined", loc)
            return { _ in .next }
        }
        let limit = maxRecursiveLevel
        return { ctx in
            ctx.routeDepth += 1
            defer { ctx.routeDepth -= 1 }
            guard ctx.routeDepth <= limit else {
                Log.error("core", "too many recursive route() calls (max_recursive_level \(limit)) in route '\(name)'")
                return .exit
            }
            let f = route.body(ctx)
            if f == .next { ctx.lastReturnCode = 1 }
            return f
        }
    }

    private func compileAssignment(_ target: Token, _ op: String, _ value: Expression, _ loc: SourceLocation)
        -> CompiledStatement
    {
        guard let pv = compilePseudoVariable(target.text, target.location) else { return { _ in .next } }
        guard let set = pv.set else {
            error("pseudo-variable \(target.text) is read-only", target.location)
            return { _ in .next }
        }
        let v = compileExpression(
            op == "+="
                ? .binary(op: "+", lhs: .pseudoVariable(target.text, location: loc), rhs: value, location: loc) : value)
        return { ctx in
            ctx.coreError.beginAction()
            _ = set(ctx, v(ctx))
            return ctx.exitRequested ? .exit : .next
        }
    }
}

extension Expression {
    /// The route name in `route(NAME)`.
    var routeName: String? {
        switch self {
        case .name(let n, _), .string(let n, _): n
        case .integer(let i, _): String(i)
        default: nil
        }
    }
}

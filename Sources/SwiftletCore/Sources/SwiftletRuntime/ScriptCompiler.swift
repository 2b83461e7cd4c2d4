import SwiftletSDK

/// The functions exported by the loaded modules, by name.
struct FunctionTable {
    private(set) var byName: [String: [(module: String, function: ScriptFunction)]] = [:]

    mutating func add(_ module: LoadedModule) {
        for f in module.exports.functions { byName[f.name, default: []].append((module.name, f)) }
    }

    func lookup(_ name: String) -> [(module: String, function: ScriptFunction)] { byName[name] ?? [] }
}

/// Compiles the routing blocks of a configuration into closures, resolving every function,
/// pseudo-variable and route name once. Collects all errors with their positions.
final class ScriptCompiler {
    let functions: FunctionTable
    let registry: PseudoVariableRegistry
    let maxRecursiveLevel: Int
    private(set) var diagnostics: [ConfigDiagnostic] = []
    private var named: [String: CompiledRoute] = [:]
    private var currentRoute: RouteTypes = .request
    private var checkRouteTypes = true

    init(functions: FunctionTable, registry: PseudoVariableRegistry = .shared, maxRecursiveLevel: Int = 256) {
        self.functions = functions
        self.registry = registry
        self.maxRecursiveLevel = maxRecursiveLevel
    }

    func error(_ message: String, _ location: SourceLocation) {
        diagnostics.append(ConfigDiagnostic(message, at: location))
    }

    /// Compiles all routing blocks of `config`.
    func compile(_ config: ConfigFile) -> CompiledScript {
        let script = CompiledScript()
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
            if case .named(let n) = block.kind { named[n] = CompiledRoute(name: n) }
        }
        for block in config.routes {
            switch block.kind {
            case .request:
                let r = CompiledRoute(name: "request_route")
                r.body = compileBlock(block.body, routeType: .request, check: true)
                script.requestRoute = r
            case .named(let n):
                named[n]?.body = compileBlock(block.body, routeType: .request, check: false)
            case .onReply(nil):
                let r = CompiledRoute(name: "reply_route")
                r.body = compileBlock(block.body, routeType: .coreOnReply, check: true)
                script.replyRoute = r
            case .onReply(let n?):
                error("onreply_route[\(n)] needs the tm module, which is not available yet", block.location)
            case .failure(let n):
                error("failure_route[\(n)] needs the tm module, which is not available yet", block.location)
            case .branch(let n):
                error("branch_route[\(n)] needs the tm module, which is not available yet", block.location)
            case .onSend:
                error("onsend_route is not supported yet", block.location)
            case .event(let n):
                error("event_route[\(n)] is not supported yet", block.location)
            }
        }
        script.namedRoutes = named
        return script
    }

    private func compileBlock(_ body: [Statement], routeType: RouteTypes, check: Bool) -> CompiledStatement {
        currentRoute = routeType
        checkRouteTypes = check
        return sequence(body.map(compile))
    }

    private func sequence(_ statements: [CompiledStatement]) -> CompiledStatement {
        switch statements.count {
        case 0: return { _ in .next }
        case 1: return statements[0]
        default:
            return { ctx in
                for s in statements {
                    let f = s(ctx)
                    if f != .next { return f }
                }
                return .next
            }
        }
    }

    // MARK: statements

    private func compile(_ statement: Statement) -> CompiledStatement {
        switch statement {
        case .block(let body):
            return sequence(body.map(compile))
        case .expression(let e):
            if case .call(let name, let args, let loc) = e {
                let action = compileCall(name, args, loc)
                return { ctx in
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
            let thenBlock = sequence(then.map(compile))
            let elseBlock = otherwise.map { sequence($0.map(compile)) }
            return { ctx in
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
                let code = v.map { $0(ctx).intValue } ?? 1
                ctx.lastReturnCode = code
                return code == 0 ? .exit : .return
            }
        case .break:
            return { _ in .break }
        case .routeCall(let name, let loc):
            let call = compileRouteCall(name, loc)
            return { ctx in
                let r = call(ctx)
                return ctx.exitRequested || r == .exit ? .exit : (r == .drop ? .drop : .next)
            }
        case .assignment(let target, let op, let value, let loc):
            return compileAssignment(target, op, value, loc)
        }
    }

    /// `route(NAME)`: runs the named route; its `return` value becomes `$rc`.
    private func compileRouteCall(_ name: String, _ loc: SourceLocation) -> (MessageContext) -> Flow {
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
        let pv: PseudoVariable
        do {
            pv = try registry.compile(target.text)
        } catch {
            self.error(error.message, target.location)
            return { _ in .next }
        }
        guard let set = pv.set else {
            error("pseudo-variable \(target.text) is read-only", target.location)
            return { _ in .next }
        }
        let v = compileExpression(
            op == "+="
                ? .binary(op: "+", lhs: .pseudoVariable(target.text, location: loc), rhs: value, location: loc) : value)
        return { ctx in
            _ = set(ctx, v(ctx))
            return ctx.exitRequested ? .exit : .next
        }
    }

    // MARK: function calls

    /// Resolves a module function call: name, parameter count, allowed route, fixup.
    func compileCall(_ name: String, _ args: [Expression], _ loc: SourceLocation) -> ScriptAction {
        if name == "route" {
            guard args.count == 1, let routeName = args[0].routeName else {
                error("route() takes one route name", loc)
                return { _ in 1 }
            }
            let call = compileRouteCall(routeName, loc)
            return { ctx in
                let f = call(ctx)
                if f == .exit { ctx.exitRequested = true }
                return ctx.lastReturnCode
            }
        }
        let candidates = functions.lookup(name)
        guard !candidates.isEmpty else {
            error("unknown function '\(name)': no loaded module exports it", loc)
            return { _ in 1 }
        }
        guard let (module, function) = candidates.first(where: { $0.function.parameterCounts.contains(args.count) })
        else {
            let counts = candidates.map { c in
                let r = c.function.parameterCounts
                return r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound) to \(r.upperBound)"
            }.joined(separator: " or ")
            error("function '\(name)' takes \(counts) parameter(s), \(args.count) given", loc)
            return { _ in 1 }
        }
        if checkRouteTypes, function.allowedRoutes.intersection(currentRoute).isEmpty {
            error("function '\(name)' (module \(module)) cannot be used in \(currentRoute.displayName)", loc)
        }
        var arguments: [ScriptArgument] = []
        for a in args {
            switch a {
            case .integer(let v, let l): arguments.append(ScriptArgument(.int(v), at: l))
            case .string(let s, let l): arguments.append(ScriptArgument(.string(s), at: l))
            case .pseudoVariable(let p, let l): arguments.append(ScriptArgument(.pseudoVariable(p), at: l))
            case .name(let n, let l): arguments.append(ScriptArgument(.string(n), at: l))
            case .unary(op: "-", operand: .integer(let v, _), location: let l):
                arguments.append(ScriptArgument(.int(-v), at: l))
            default:
                error("arguments of '\(name)' must be strings, integers or pseudo-variables", a.location)
                return { _ in 1 }
            }
        }
        do {
            return try function.fixup(arguments)
        } catch {
            self.error("\(name): \(error.message)", error.location ?? loc)
            return { _ in 1 }
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

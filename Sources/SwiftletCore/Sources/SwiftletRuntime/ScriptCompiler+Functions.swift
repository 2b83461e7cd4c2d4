import SwiftletSDK

extension ScriptCompiler {
    /// Resolves a function call: `route()`, a core action, or a module function (name,
    /// parameter count, allowed route, fixup).
    func compileCall(_ name: String, _ args: [Expression], _ loc: SourceLocation) -> ScriptAction {
        let action = compileUntracedCall(name, args, loc)
        guard let tracer = environment.tracer else { return action }
        return traced(call: name, args, loc, action, tracer)
    }

    private func compileUntracedCall(_ name: String, _ args: [Expression], _ loc: SourceLocation) -> ScriptAction {
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
        if let action = compileCoreAction(name, args, loc) { return action }
        let candidates = functions.lookup(name)
        guard !candidates.isEmpty else {
            reportUnknownFunction(name, loc)
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
        checkRouteType(name, module, function.allowedRoutes, loc)
        var arguments: [ScriptArgument] = []
        for a in args {
            switch a {
            case .integer(let v, let l): arguments.append(ScriptArgument(.int(v), at: l))
            case .string(let s, let l): arguments.append(ScriptArgument(.string(s), at: l))
            case .pseudoVariable(let p, let l): arguments.append(ScriptArgument(.pseudoVariable(p), at: l))
            case .name(let n, let l): arguments.append(ScriptArgument(.string(n), at: l))
            case .unary(op: "-", operand: .integer(let v, _), location: let l):
                arguments.append(ScriptArgument(.int(-v), at: l))
            case .binary(_, _, _, let l) where ScriptCompiler.foldConstant(a) != nil:
                switch ScriptCompiler.foldConstant(a)! {
                case .int(let v): arguments.append(ScriptArgument(.int(v), at: l))
                case .string(let s): arguments.append(ScriptArgument(.string(s), at: l))
                }
            default:
                error("arguments of '\(name)' must be strings, integers or pseudo-variables", a.location)
                return { _ in 1 }
            }
        }
        do {
            return try function.fixup(arguments)
        } catch {
            let at = error.location ?? loc
            if !explainUnknownPseudoVariable(in: error.message, at) { self.error("\(name): \(error.message)", at) }
            return { _ in 1 }
        }
    }

    /// A function used where it may not run: an error in the block itself; in `route[NAME]`
    /// a warning naming the blocks that reach NAME (Kamailio does not check those at all).
    private func checkRouteType(_ name: String, _ module: String, _ allowed: RouteTypes, _ loc: SourceLocation) {
        guard let routeName = currentNamedRoute else {
            if !allowed.allows(currentRoute) {
                error("function '\(name)' (module \(module)) cannot be used in \(currentRoute.displayName)", loc)
            }
            return
        }
        let bad = reach.entries(of: routeName).filter { !allowed.allows($0.type) }
        guard let first = bad.first else { return }
        let kinds = bad.map(\.type.displayName).joined(separator: ", ")
        warning(
            "function '\(name)' (module \(module)) cannot be used in \(kinds), from which route[\(routeName)] is called (\(first.path))",
            loc)
    }

    /// A function no loaded module exports: named with the Kamailio module it belongs to
    /// when known; for a module whose `loadmodule` failed, reported once per function.
    func reportUnknownFunction(_ name: String, _ loc: SourceLocation) {
        if CoreActions.notImplemented.contains(name) {
            error("unknown function '\(name)': Kamailio core function not implemented yet", loc)
            return
        }
        guard let module = KamailioModuleCatalog.module(ofFunction: name) else {
            error("unknown function '\(name)': no loaded module exports it (unknown command, missing loadmodule?)", loc)
            return
        }
        if environment.failedModules.contains(module) {
            deferReport(
                "function:\(name)", "function '\(name)' belongs to module '\(module)', which failed to load", loc)
        } else if environment.loadedModules.contains(module) {
            error("unknown function '\(name)': module '\(module)' of Swiftlet does not implement it yet", loc)
        } else {
            error("unknown function '\(name)': it belongs to module '\(module)', which is not loaded", loc)
        }
    }

    /// Compiles a pseudo-variable reference, reporting an unknown one (with its module
    /// when known).
    func compilePseudoVariable(_ text: String, _ loc: SourceLocation) -> PseudoVariable? {
        do {
            return try registry.compile(text)
        } catch {
            if !explainUnknownPseudoVariable(in: error.message, loc) { self.error(error.message, loc) }
            return nil
        }
    }

    /// When `message` is the registry's "unknown pseudo-variable '$x...'" and `$x` belongs
    /// to a known Kamailio module, reports that instead and returns true.
    func explainUnknownPseudoVariable(in message: String, _ loc: SourceLocation) -> Bool {
        let prefix = "unknown pseudo-variable '"
        guard message.hasPrefix(prefix), message.hasSuffix("'") else { return false }
        let text = String(message.dropFirst(prefix.count).dropLast())
        guard let name = try? PseudoVariableName(parsing: text),
            let module = KamailioModuleCatalog.module(ofPseudoVariable: name.className)
        else { return false }
        if environment.failedModules.contains(module) {
            deferReport(
                "pv:\(name.className)",
                "pseudo-variable '$\(name.className)' belongs to module '\(module)', which failed to load", loc)
        } else if environment.loadedModules.contains(module) {
            error("unknown pseudo-variable '\(text)': module '\(module)' of Swiftlet does not implement it yet", loc)
        } else {
            error("unknown pseudo-variable '\(text)': it belongs to module '\(module)', which is not loaded", loc)
        }
        return true
    }

    /// Records one use of something reported once per key.
    private func deferReport(_ key: String, _ message: String, _ loc: SourceLocation) {
        if let d = deferred[key] {
            deferred[key] = (d.message, d.location, d.count + 1)
        } else {
            deferred[key] = (message, loc, 1)
        }
    }

    /// Turns the once-per-name reports into errors at their first use.
    func reportDeferred() {
        for (_, d) in deferred {
            error(d.count > 1 ? "\(d.message) (first of \(d.count) uses)" : d.message, d.location)
        }
        deferred = [:]
    }
}

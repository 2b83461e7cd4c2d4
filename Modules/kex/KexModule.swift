import SwiftletSDK

/// The `kex` module (Kamailio's `modules/kex`): script, branch and destination-URI flag
/// functions, `pv_printf`, `is_myself`, `setdebug`, `$sruid`, and the `stats.*` RPC commands over the
/// core's counters (Kamailio's kex registers the "core" statistics; Swiftlet's core does).
final class KexModule {
    var exports: ModuleExports {
        let e = ModuleExports(name: "kex")
        e.functions = [
            ScriptFunction("setsflag", parameters: 1, routes: .any, fixup: Self.scriptFlag(Self.set)),
            ScriptFunction("resetsflag", parameters: 1, routes: .any, fixup: Self.scriptFlag(Self.reset)),
            ScriptFunction("issflagset", parameters: 1, routes: .any, fixup: Self.scriptFlag(Self.isSet)),
            ScriptFunction("setbflag", parameters: 1...2, routes: .any, fixup: Self.branchFlag(Self.set)),
            ScriptFunction("resetbflag", parameters: 1...2, routes: .any, fixup: Self.branchFlag(Self.reset)),
            ScriptFunction("isbflagset", parameters: 1...2, routes: .any, fixup: Self.branchFlag(Self.isSet)),
            ScriptFunction("setdsturi", parameters: 1, routes: .any, fixup: Self.setDestinationURI),
            ScriptFunction("resetdsturi", parameters: 0, routes: .any, fixup: Self.resetDestinationURI),
            ScriptFunction("isdsturiset", parameters: 0, routes: .any, fixup: Self.isDestinationURISet),
            ScriptFunction("pv_printf", parameters: 2, routes: .any, fixup: Self.pvPrintf),
            ScriptFunction("avp_printf", parameters: 2, routes: .any, fixup: Self.pvPrintf),
            ScriptFunction("is_myself", parameters: 1, routes: .any, fixup: Self.isMyself),
            ScriptFunction("setdebug", parameters: 1, routes: .any, fixup: Self.setDebug),
            ScriptFunction("resetdebug", parameters: 0, routes: .any, fixup: Self.resetDebug),
        ]
        e.rpcs = KexStatsRPC.commands
        let uniqueID = KexUniqueID()
        e.pseudoVariables = [.readOnly("sruid") { _ in .string(uniqueID.next()) }]
        e.initialize = { _ in KexSharedMemoryStatistics.register(in: Counters.shared) }
        return e
    }

    // MARK: flags

    /// What a flag function does with one flag word: returns Kamailio's 1 / -1.
    typealias FlagOperation = (inout UInt64, Int) -> Int
    static func set(_ flags: inout UInt64, _ flag: Int) -> Int {
        flags |= UInt64(1) << UInt64(flag)
        return 1
    }
    static func reset(_ flags: inout UInt64, _ flag: Int) -> Int {
        flags &= ~(UInt64(1) << UInt64(flag))
        return 1
    }
    static func isSet(_ flags: inout UInt64, _ flag: Int) -> Int { flags & (UInt64(1) << UInt64(flag)) != 0 ? 1 : -1 }

    /// `setsflag(flag)` & co: the worker's script flags; a flag outside 0-31 is false.
    static func scriptFlag(_ op: @escaping FlagOperation) -> ([ScriptArgument]) throws(FixupError) -> ScriptAction {
        { (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            let flag = try args[0].intParameter()
            return { ctx in
                guard let f = flag.value(ctx) else {
                    Log.error("kex", "no flag value")
                    return -1
                }
                guard (0...31).contains(f) else { return -1 }
                var flags = UInt64(ScriptFlags.value)
                let r = op(&flags, f)
                ScriptFlags.value = UInt32(truncatingIfNeeded: flags)
                return r
            }
        }
    }

    /// `setbflag(flag[, branch])` & co: branch 0 (the default) is the Request-URI's branch,
    /// branch n the n-th added one; a missing branch or a flag outside 0-31 is false.
    static func branchFlag(_ op: @escaping FlagOperation) -> ([ScriptArgument]) throws(FixupError) -> ScriptAction {
        { (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            let flag = try args[0].intParameter()
            let branch = args.count > 1 ? try args[1].intParameter() : IntParameter.constant(0)
            return { ctx in
                guard let f = flag.value(ctx) else {
                    Log.error("kex", "no flag value")
                    return -1
                }
                guard (0...31).contains(f) else { return -1 }
                guard let b = branch.value(ctx) else {
                    Log.error("kex", "no idx value")
                    return -1
                }
                if b == 0 { return op(&ctx.branchFlags, f) }
                guard b > 0, b <= ctx.branches.count else { return -1 }
                return op(&ctx.branches[b - 1].flags, f)
            }
        }
    }

    // MARK: destination URI

    static func setDestinationURI(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let uri = try args[0].stringFormat()
        return { ctx in
            ctx.destinationURI = uri.render(ctx)
            return 1
        }
    }

    static func resetDestinationURI(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        { ctx in
            ctx.destinationURI = nil
            return 1
        }
    }

    static func isDestinationURISet(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        { ctx in (ctx.destinationURI?.isEmpty ?? true) ? -1 : 1 }
    }

    // MARK: pv_printf

    /// `pv_printf(var, format)`: assigns the evaluated format, as a string, to a writable
    /// pseudo-variable.
    static func pvPrintf(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let text: String
        switch args[0].value {
        case .pseudoVariable(let p), .string(let p): text = p.trimmingCharacters()
        case .int(let i): throw FixupError("a pseudo-variable is required here, not \(i)", at: args[0].location)
        }
        guard text.hasPrefix("$") else {
            throw FixupError("a pseudo-variable is required here, not \"\(text)\"", at: args[0].location)
        }
        let pv: PseudoVariable
        do throws(FixupError) {
            pv = try PseudoVariableRegistry.shared.compile(text)
        } catch {
            throw FixupError(error.message, at: args[0].location)
        }
        guard let set = pv.set else { throw FixupError("\(text) is not writable", at: args[0].location) }
        let format = try args[1].stringFormat()
        return { ctx in set(ctx, .string(format.render(ctx))) ? 1 : -1 }
    }

    // MARK: is_myself

    /// `is_myself(uri)`: a `sip:`/`sips:` URI is checked by host and (when written) port;
    /// anything else as a host name or address with any port.
    static func isMyself(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let value = try args[0].stringFormat()
        return { ctx in
            let text = value.render(ctx)
            if text.utf8.count > 4, text.hasPrefix("sip:") || text.hasPrefix("sips:") {
                guard let uri = SIPURI(text) else {
                    Log.error("kex", "failed to parse uri [\(text)]")
                    return -1
                }
                return ctx.core.isMyself(uri.host, uri.port) ? 1 : -1
            }
            return ctx.core.isMyself(text, nil) ? 1 : -1
        }
    }

    // MARK: setdebug

    /// `setdebug(level)`: the worker's own log level until `resetdebug()`.
    static func setDebug(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let level = try args[0].intParameter()
        return { ctx in
            guard let l = level.value(ctx) else {
                Log.error("kex", "no debug level value")
                return -1
            }
            Log.setLocalLevel(LogLevel(debugValue: l))
            return 1
        }
    }

    static func resetDebug(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        { _ in
            Log.setLocalLevel(nil)
            return 1
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "kex") { KexModule().exports }
}

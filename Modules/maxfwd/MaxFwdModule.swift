import SwiftletSDK

/// The `maxfwd` module (Kamailio's `modules/maxfwd`): checks and decrements `Max-Forwards`,
/// or adds it when missing, so that the script can answer `483 Too Many Hops`.
final class MaxFwdModule {
    /// `max_limit`: a received value above it is lowered to it before the decrement.
    var maxLimit = 70

    var exports: ModuleExports {
        let e = ModuleExports(name: "maxfwd")
        e.parameters = [
            ModuleParameter("max_limit", .int { (v: Int) throws(FixupError) in self.maxLimit = v })
        ]
        let process = { (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            try self.fixupProcess(args)
        }
        let lowerThan = { (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            try self.fixupLowerThan(args)
        }
        let lowRoutes: RouteTypes = [.request, .failure, .branch]
        e.functions = [
            ScriptFunction("maxfwd_process", parameters: 1, routes: .request, fixup: process),
            ScriptFunction("mf_process_maxfwd_header", parameters: 1, routes: .request, fixup: process),
            ScriptFunction("process_maxfwd", parameters: 1, routes: .request, fixup: process),
            ScriptFunction("is_maxfwd_lt", parameters: 1, routes: lowRoutes, fixup: lowerThan),
            ScriptFunction("maxfwd_at_least", parameters: 1, routes: lowRoutes, fixup: lowerThan),
            ScriptFunction("mf_lowlimit", parameters: 1, routes: lowRoutes, fixup: lowerThan),
        ]
        return e
    }

    /// `mf_process_maxfwd_header(max)`: 2 after adding `Max-Forwards: max` (header absent),
    /// 1 after decrementing it, -1 when it is 0 or `max` is outside 0-255, -2 when the value
    /// cannot be parsed (Kamailio's `process_maxfwd_header`).
    func fixupProcess(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let limit = try args[0].intParameter()
        return { ctx in
            guard let max = limit.value(ctx) else {
                Log.error("maxfwd", "could not get param value")
                return -1
            }
            return self.process(ctx, max: max)
        }
    }

    func process(_ ctx: MessageContext, max: Int) -> Int {
        guard (0...255).contains(max) else {
            Log.error("maxfwd", "invalid param value: \(max)")
            return -1
        }
        switch MaxForwards.current(ctx) {
        case .missing:
            MaxForwards.add(ctx, value: max)
            return 2
        case .invalid:
            return -2
        case .value(0, _):
            return -1
        case .value(var v, let range):
            if v > maxLimit {
                Log.debug("maxfwd", "value \(v) decreased to \(maxLimit)")
                v = maxLimit + 1
            }
            MaxForwards.store(ctx, value: v - 1, in: range)
            return 1
        }
    }

    /// `is_maxfwd_lt(n)`: 1 when Max-Forwards is below `n`, -1 when not (or `n` is outside
    /// 0-255), -2 when the header is missing, -3 when it cannot be parsed.
    func fixupLowerThan(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let limit = try args[0].intParameter()
        return { ctx in
            guard let n = limit.value(ctx) else {
                Log.error("maxfwd", "could not get param value")
                return -1
            }
            guard (0...255).contains(n) else {
                Log.error("maxfwd", "invalid param value: \(n)")
                return -1
            }
            switch MaxForwards.current(ctx) {
            case .missing: return -2
            case .invalid: return -3
            case .value(let v, _): return v >= n ? -1 : 1
            }
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "maxfwd") { MaxFwdModule().exports }
}

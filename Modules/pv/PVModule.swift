import SwiftletSDK

/// The `pv` module (Kamailio's `modules/pv`): the pseudo-variable helper functions
/// `pv_isset`, `pv_unset`, `is_int`, `typeof`, `not_empty`, the `shvset`/`varset`
/// parameters and the shared variables `$shv(name)`. The message pseudo-variables, `$var`,
/// `$avp`, `$xavp` and the transformations are in the Swiftlet core.
final class PVModule {
    let shared = SharedVariables()

    var exports: ModuleExports {
        let e = ModuleExports(name: "pv")
        e.parameters = [
            ModuleParameter(
                "shvset",
                .function { (v: ModuleParameterSetting.Value) throws(FixupError) in
                    let s = try VariableSetting(parsing: Self.text(v))
                    guard self.shared.set(self.shared.slot(s.name), s.value) else {
                        throw FixupError("out of shared memory for $shv(\(s.name))")
                    }
                }),
            ModuleParameter(
                "avp_aliases",
                .function { (v: ModuleParameterSetting.Value) throws(FixupError) in
                    try AVPAliases.add(definition: Self.text(v))
                }),
            ModuleParameter(
                "varset",
                .function { (v: ModuleParameterSetting.Value) throws(FixupError) in
                    let s = try VariableSetting(parsing: Self.text(v))
                    ScriptVariables.shared.setInitialValue(s.name, s.value)
                }),
        ]
        e.pseudoVariables =
            [shared.pseudoVariableClass(), StatVariable.pseudoVariableClass]
        e.functions =
            [
                ScriptFunction("pv_isset", parameters: 1, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
                    let pv = try args[0].pseudoVariable()
                    return { ctx in
                        guard let v = pv.value(ctx), v != .null else { return -1 }
                        return 1
                    }
                },
                ScriptFunction("pv_unset", parameters: 1, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
                    try self.fixupUnset(args[0])
                },
                ScriptFunction("is_int", parameters: 1, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
                    let pv = try args[0].pseudoVariable()
                    return { ctx in
                        if case .int? = pv.value(ctx) { return 1 }
                        return -1
                    }
                },
                ScriptFunction("typeof", parameters: 2, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
                    let pv = try args[0].pseudoVariable()
                    let type = try args[1].constantString().lowercased().first
                    return { ctx in
                        guard let v = pv.value(ctx) else { return -1 }
                        switch (type, v) {
                        case ("i", .int), ("n", .null), ("s", .string): return 1
                        default: return -1
                        }
                    }
                },
                ScriptFunction("not_empty", parameters: 1, routes: .any) {
                    (args: [ScriptArgument]) throws(FixupError) in
                    let pv = try args[0].pseudoVariable()
                    return { ctx in
                        if case .string(let s)? = pv.value(ctx), !s.isEmpty { return 1 }
                        return -1
                    }
                },
            ] + XAVIFunctions.functions
        return e
    }

    static func text(_ v: ModuleParameterSetting.Value) -> String {
        switch v {
        case .int(let i): String(i)
        case .string(let s): s
        }
    }

    /// `pv_unset(pv)`: assigns null (`$var` becomes 0, `$avp` loses its newest value, `$du`
    /// is reset); `$shv` becomes 0.
    func fixupUnset(_ arg: ScriptArgument) throws(FixupError) -> ScriptAction {
        let pv = try arg.pseudoVariable()
        guard let set = pv.set else {
            throw FixupError("pseudo-variable \(pv.text) is read-only", at: arg.location)
        }
        if let name = try? PseudoVariableName(parsing: pv.text), name.className == "shv",
            name.transformations.isEmpty, let inner = name.inner
        {
            let slot = shared.slot(inner.trimmingCharacters())
            return { _ in
                self.shared.set(slot, .int(0))
                return 1
            }
        }
        return { ctx in set(ctx, .null) ? 1 : -1 }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "pv") { PVModule().exports }
}

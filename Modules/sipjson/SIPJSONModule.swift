import SwiftletSDK

/// The `sipjson` module (Kamailio's `modules/sipjson`): `sj_serialize(mode, pv)` writes
/// attributes of the SIP message as one JSON object into a pseudo-variable.
final class SIPJSONModule {
    var exports: ModuleExports {
        let e = ModuleExports(name: "sipjson")
        e.functions = [
            ScriptFunction("sj_serialize", parameters: 2, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
                let mode = try args[0].stringFormat()
                let output = try args[1].pseudoVariable()
                guard let set = output.set else {
                    throw FixupError("sj_serialize: \(output.text) is read-only", at: args[1].location)
                }
                let serializer = try SIPJSONSerializer()
                return { ctx in
                    let m = mode.render(ctx)
                    guard !m.isEmpty else {
                        Log.error("sipjson", "no serialization mode parameter")
                        return -1
                    }
                    guard set(ctx, .string(serializer.serialize(ctx, mode: m))) else {
                        Log.error("sipjson", "setting string to output PV failed")
                        return -1
                    }
                    return 1
                }
            }
        ]
        return e
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "sipjson") { SIPJSONModule().exports }
}

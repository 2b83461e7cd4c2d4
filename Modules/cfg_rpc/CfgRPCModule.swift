import SwiftletSDK

/// The `cfg_rpc` module (Kamailio's `modules/cfg_rpc`): reads and changes the run-time
/// configuration variables (`CfgVariables`: the core's `core` group) over RPC. Changes
/// apply at once, in every worker.
enum CfgRPCModule {
    static var exports: ModuleExports {
        let e = ModuleExports(name: "cfg_rpc")
        e.rpcs = CfgRPC.commands
        return e
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "cfg_rpc") { CfgRPCModule.exports }
}

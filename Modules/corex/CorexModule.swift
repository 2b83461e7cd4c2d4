import SwiftletSDK

/// The `corex` module (Kamailio's `modules/corex`): branch, send, flag, socket and file
/// functions that are not in the core grammar, the `alias_subdomains` parameter, the
/// `corex.list_sockets`/`corex.list_aliases` RPC commands and `$lsock`.
final class CorexModule {
    let aliases = AliasSubdomains()

    var exports: ModuleExports {
        let e = ModuleExports(name: "corex")
        e.functions = Self.branchAndSendFunctions + Self.flagFunctions + Self.socketFunctions + Self.fileFunctions
        e.parameters = [
            ModuleParameter(
                "alias_subdomains",
                .string { (v: String) throws(FixupError) in try self.aliases.add(v) })
        ]
        e.rpcs = CorexRPC.commands
        e.pseudoVariables = [LocalSocketVariable.pseudoVariableClass]
        e.initialize = { _ in self.aliases.register() }
        return e
    }

    static var branchAndSendFunctions: [ScriptFunction] {
        [
            ScriptFunction("forward_reply", parameters: 0, routes: .coreOnReply, fixup: forwardReply),
            ScriptFunction(
                "append_branch", parameters: 0...2, routes: [.request, .failure], fixup: CorexBranches.appendBranch),
            ScriptFunction("send_udp", parameters: 0...1, routes: [.request, .failure], fixup: CorexSend.sendUDP),
            ScriptFunction("send_tcp", parameters: 0...1, routes: [.request, .failure], fixup: CorexSend.sendTCP),
            ScriptFunction("send_data", parameters: 2, routes: .any, fixup: CorexSend.sendData),
            ScriptFunction("sendx", parameters: 3, routes: .any, fixup: CorexSend.sendx),
        ]
    }

    /// `forward_reply()`: forwards the reply statelessly to the address of its second Via
    /// now; returns 1 even when that fails (as Kamailio).
    static func forwardReply(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        { ctx in
            _ = StatelessForwarding.forwardReply(ctx)
            return 1
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "corex") { CorexModule().exports }
}

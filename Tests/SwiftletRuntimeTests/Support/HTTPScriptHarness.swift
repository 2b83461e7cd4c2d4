import Foundation

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// Loads a configuration (after ScriptHarness's prelude) and runs mod_init and child_init of
/// its modules, as EmbeddedCore and the server do (http_client reads `config_file` and slack
/// binds http_client's API there); then runs its request route on a request.
enum HTTPScriptHarness {
    static func load(_ config: String) throws -> LoadedConfiguration {
        let (loaded, _) = try ScriptHarness.loadRecording(ScriptHarness.prelude + config)
        let initContext = ModuleInitContext(listeners: loaded.core.listen, core: loaded.context)
        for m in loaded.modules {
            try m.exports.initialize(initContext)
            try m.exports.childInitialize(ProcessRank.firstWorker)
        }
        return loaded
    }

    static func run(_ config: String, _ message: String = ScriptHarness.request()) throws -> MessageContext {
        let loaded = try load(config)
        let ctx = try ScriptHarness.context(message, core: loaded.context)
        loaded.script.runRequestRoute(ctx)
        return ctx
    }
}

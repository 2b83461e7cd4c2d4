import Glibc
import SwiftletSDK

/// The `rtpengine` module (Kamailio's `modules/rtpengine`): controls Sipwise rtpengine
/// instances over the ng protocol (bencode over UDP) to relay a call's media.
final class RtpengineModule: @unchecked Sendable {
    var sockets: [String] = []
    var settings = EngineSelection.Settings()
    var timeoutMs = 1000
    var retries = 5
    var defaultSetID = 0
    var databaseURL = ""
    var selection: EngineSelection?
    var choice: SetChoice?

    var exports: ModuleExports {
        let e = ModuleExports(name: "rtpengine")
        func int(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(v) })
        }
        e.parameters = [
            ModuleParameter("rtpengine_sock", .string { (v: String) throws(FixupError) in self.sockets.append(v) }),
            int("rtpengine_disable_tout") { self.settings.disableTimeout = $0 },
            int("aggressive_redetection") { self.settings.aggressiveRedetection = $0 },
            int("rtpengine_retr") { self.retries = $0 },
            int("queried_nodes_limit") { self.settings.queriedNodesLimit = $0 },
            int("rtpengine_tout_ms") { self.timeoutMs = $0 },
            int("rtpengine_allow_op") { self.settings.allowOperation = $0 },
            int("hash_table_tout") { self.settings.hashTableTimeout = $0 },
            int("hash_table_size") { _ in },
            int("setid_default") { self.defaultSetID = $0 },
            ModuleParameter("db_url", .string { (v: String) throws(FixupError) in self.databaseURL = v }),
        ]
        e.functions = functions
        e.pseudoVariables = ["rtpstat", "rtpestat"].map { name in
            .readOnly(name) { [weak self] ctx in
                guard let calls = self?.calls, let s = calls.statistics(ctx) else { return .null }
                return .string(s)
            }
        }
        e.rpcs = RtpengineRPC(module: self).commands
        e.initialize = { (context: ModuleInitContext) throws(FixupError) in try self.prepare(context.core) }
        e.childInitialize = { rank in
            // Kamailio probes the instances in the first SIP worker.
            guard rank == 1, let selection = self.selection else { return }
            for node in selection.allNodes where !node.isPermanentlyDisabled {
                _ = selection.test(node, force: true)
            }
        }
        return e
    }

    /// Builds the sets in `mod_init`, on the module's own core's clock.
    func prepare(_ core: CoreContext) throws(FixupError) {
        guard databaseURL.isEmpty else { throw FixupError("rtpengine: db_url is not supported yet") }
        let sets = try EngineSetParser.parse(sockets, defaultSet: defaultSetID)
        let timers = core.timers
        let s = EngineSelection(
            sets: sets, settings: settings, client: NGClient(timeoutMs: timeoutMs, retries: retries),
            defaultSetID: defaultSetID, clock: { Int(timers.ticks / UInt64(Timers.ticksPerSecond)) })
        selection = s
        choice = SetChoice(selection: s)
    }

    var calls: RtpengineCalls? {
        guard let selection, let choice else { return nil }
        return RtpengineCalls(selection: selection, sets: choice)
    }

    var functions: [ScriptFunction] {
        func flagged(_ name: String, _ body: @escaping (RtpengineCalls, MessageContext, String?) -> Int)
            -> ScriptFunction
        {
            ScriptFunction(name, parameters: 0...1, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let flags = try args.first?.stringFormat()
                return { ctx in
                    guard let calls = self.calls else { return -1 }
                    return body(calls, ctx, flags?.render(ctx))
                }
            }
        }
        return [
            ScriptFunction("set_rtpengine_set", parameters: 1...2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                // The sets as configured so far (modparams come before the routes).
                let configured = Set(try EngineSetParser.parse(self.sockets, defaultSet: self.defaultSetID).map(\.id))
                var ids: [IntParameter] = []
                for a in args {
                    let id = try a.intParameter()
                    if case .constant(let n) = id, !configured.contains(n) {
                        throw FixupError("rtpp_proxy set \(n) not configured", at: a.location)
                    }
                    ids.append(id)
                }
                return { ctx in
                    guard let selection = self.selection, let choice = self.choice else { return -1 }
                    var chosen: [EngineSet] = []
                    for id in ids {
                        guard let n = id.value(ctx), let set = selection.set(n) else {
                            Log.error("rtpengine", "could not locate rtpengine set \(id.value(ctx) ?? -1)")
                            return -1
                        }
                        // Kamailio checks the enabled instances only of a set given by a variable.
                        if case .dynamic = id, !set.nodes.contains(where: { !$0.isDisabled }) {
                            Log.warning("rtpengine", "rtpp: selected proxy set ID \(n) but it has no active node.")
                            return -2
                        }
                        chosen.append(set)
                    }
                    choice.choose(chosen[0], chosen.count > 1 ? chosen[1] : nil, for: ctx)
                    return 1
                }
            },
            flagged("rtpengine_offer") { $0.offerAnswer($1, .offer, flags: $2) },
            flagged("rtpengine_answer") { calls, ctx, flags in
                if ctx.message.isRequest, !["ACK", "PRACK"].contains(ctx.message.methodText.uppercased()) { return -1 }
                return calls.offerAnswer(ctx, .answer, flags: flags)
            },
            flagged("rtpengine_delete") { $0.simple($1, .delete, flags: $2) },
            flagged("rtpengine_query") { $0.simple($1, .query, flags: $2) },
            flagged("rtpengine_manage") { $0.manage($1, flags: $2) },
            flagged("start_recording") { $0.simple($1, .startRecording, flags: $2) },
            flagged("stop_recording") { $0.simple($1, .stopRecording, flags: $2) },
        ]
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "rtpengine") { RtpengineModule().exports }
}

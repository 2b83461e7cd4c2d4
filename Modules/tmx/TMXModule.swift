import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `tmx` module: extensions of tm for the script (Kamailio's `modules/tmx`), on tm's API.
final class TMXModule {
    var tm: TransactionAPI?
    /// tm's transactions as tmx reads and acts on them.
    var inspect: TransactionInspectionAPI?
    /// `precheck_trans`: `t_precheck_trans()` is active (1).
    var precheckEnabled = true
    let inProgress = ShardedTable<String, Bool>(shards: 64)
    var core: CoreContext?

    var exports: ModuleExports {
        let e = ModuleExports(name: "tmx")
        e.parameters = [
            ModuleParameter("precheck_trans", .int { (v: Int) throws(FixupError) in self.precheckEnabled = v != 0 })
        ]
        func routeCheck(_ name: String, _ kinds: RouteTypes) -> ScriptFunction {
            ScriptFunction(name, parameters: 0, routes: .any) { _ in { ctx in kinds.contains(ctx.routeType) ? 1 : -1 } }
        }
        e.functions =
            [
                routeCheck("t_is_failure_route", .failure), routeCheck("t_is_branch_route", .branch),
                routeCheck("t_is_reply_route", .onReply), routeCheck("t_is_request_route", .request),
                ScriptFunction("t_precheck_trans", parameters: 0, routes: .request) { _ in { ctx in self.precheck(ctx) }
                },
            ] + transactionFunctions + [reuseBranchFunction]
        e.pseudoVariables = transactionPseudoVariables
        e.initialize = { context in
            self.core = context.core
            self.tm = try context.requireAPI(TransactionAPI.self, by: "tmx", from: "tm")
            let inspect = try context.requireAPI(TransactionInspectionAPI.self, by: "tmx", from: "tm")
            self.inspect = inspect
            TMXStatistics(inspect).register(in: Counters.shared)
        }
        return e
    }

    /// `t_precheck_trans()`: true when another worker is handling the same request right now
    /// (a retransmission racing the first copy, before its transaction exists). The request
    /// is marked as in progress for 2 s (Kamailio removes the mark after the script; a later
    /// retransmission finds the transaction with `t_check_trans()` either way).
    func precheck(_ ctx: MessageContext) -> Int {
        guard precheckEnabled, let key = Self.key(ctx) else { return -1 }
        let now = Self.nowMilliseconds()
        _ = inProgress.expire(now: now)
        if inProgress.contains(key) { return 1 }
        inProgress.insert(true, for: key, expiresAt: now + 2000)
        return -1
    }

    static func key(_ ctx: MessageContext) -> String? {
        let m = ctx.message
        guard let via = ctx.via1, let cseq = try? m.cseq() else { return nil }
        let b = m.buffer
        let branch = via.branch?.value.map { String(decoding: b[$0], as: UTF8.self) } ?? ""
        return (m.callID ?? "") + "|" + String(cseq.number) + "|" + m.methodText + "|" + (m.fromTag ?? "") + "|"
            + branch
    }

    static func nowMilliseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1000 + UInt64(t.tv_nsec) / 1_000_000
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "tmx") { TMXModule().exports }
}

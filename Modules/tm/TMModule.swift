import SwiftletSDK

/// The `tm` module: transaction-stateful processing (Kamailio's `modules/tm`). See README.md
/// for what is there and what is not yet.
final class TMModule: TransactionAPI, RequestRouteCompletion {
    let manager = TransactionManager()

    var exports: ModuleExports {
        let e = ModuleExports(name: "tm")
        let m = manager
        e.parameters = Self.parameters(m)
        e.functions = functions + uacFunctions + [cleanFunction, releaseFunction]
        e.rpcs =
            [
                RPCCommand("tm.stats", "Prints the transaction statistics.") { _ in m.statsValue },
                RPCCommand("tm.list", "Lists the transactions.") { _ in m.listValue },
                RPCCommand("tm.cancel", "Cancels an INVITE transaction: tm.cancel callid cseq.") {
                    (r: RPCRequest) throws(RPCError) -> RPCValue in
                    try m.cancel(callID: try r.string(0), cseq: try r.string(1))
                },
            ] + uacRPCs + uacStartRPCs + maintenanceRPCs
        // A new request starts with nothing armed (Kamailio resets T and the route marks).
        e.requestFilters = [
            { _ in
                TMThreadState.thread.reset()
                m.graveyard.free()
                return true
            },
            { ctx in m.e2eAckFilter(ctx) },
        ]
        e.replyHandler = { ctx in
            m.graveyard.free()
            return m.handleReply(ctx)
        }
        e.initialize = { context in
            m.start(core: context.core)
            CfgVariables.shared.declare(group: "tm", m.cfgVariables)
        }
        e.provide(self, as: TransactionAPI.self)
        e.provide(TMInspection(manager), as: TransactionInspectionAPI.self)
        e.provide(self, as: TransactionUACAPI.self)
        e.provide(self, as: TransactionCallbacksAPI.self)
        e.provide(self, as: TransactionFailureAPI.self)
        e.provide(self, as: TransactionContinuationAPI.self)
        e.provide(self, as: RequestRouteCompletion.self)
        e.provide(self, as: TransactionReplyToTagAPI.self)
        return e
    }

    /// The end of a request route: the delayed error reply of a failed `t_relay()`; the
    /// transaction leaves the worker's state (which holds it strongly).
    func requestRouteFinished(_ context: MessageContext) {
        let state = TMThreadState.thread
        manager.sendDelayedError(context, state: state)
        state.current = nil
    }

    func hasTransaction(_ context: MessageContext) -> Bool {
        guard let tx = TMThreadState.thread.current else { return false }
        return tx.ctx === context
    }

    func reply(_ context: MessageContext, code: Int, reason: String) -> Int {
        manager.reply(context, code: code, reason: reason)
    }

    func relay(_ context: MessageContext) -> Int { manager.relay(context) }

    func replyCode(_ context: MessageContext) -> Int? { TMThreadState.thread.replyCode }

    func branchIndex(_ context: MessageContext) -> Int? { TMThreadState.thread.branchIndex }

    func suspend(_ context: MessageContext) -> Bool {
        let tx: Transaction
        if let current = TMThreadState.thread.current, current.ctx === context {
            tx = current
        } else {
            switch manager.transaction(for: context) {
            case .created(let t): tx = t
            case .existing(let t):
                manager.absorbRetransmission(t)
                return false
            case .refused: return false
            }
        }
        // As Kamailio's t_suspend: an INVITE is answered 100 Trying while it waits.
        tx.locked {
            if tx.isInvite, manager.settings.autoInv100, tx.lastReplyCode < 100,
                let trying = LocalMessages.reply(tx, code: 100, reason: manager.settings.autoInv100Reason)
            {
                manager.stats.add(.local)
                manager.sendUpstream(tx, trying, code: 100)
            }
        }
        return true
    }

    func resume(_ context: MessageContext, route: String) -> Bool {
        guard let tx = manager.lookup(context), tx.ctx === context, let routes = manager.core.routes,
            routes.routeNames.contains(route)
        else { return false }
        return tx.locked {
            guard tx.lastReplyCode < 200, !tx.finished else { return false }
            let state = TMThreadState.thread
            let saved = state.current
            state.current = tx
            defer { state.current = saved }
            // Kamailio continues with the request's route type and a fresh run of the script.
            context.exitRequested = false
            return routes.runRoute(route, context, as: .request) != nil
        }
    }

    static func parameters(_ m: TransactionManager) -> [ModuleParameter] {
        func ms(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(
                name,
                .int { (v: Int) throws(FixupError) in
                    guard v > 0 else { throw FixupError("\(name) must be a positive number of milliseconds, got \(v)") }
                    set(v)
                })
        }
        func seconds(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(
                name,
                .int { (v: Int) throws(FixupError) in
                    guard v >= 0 else { throw FixupError("\(name) must be >= 0, got \(v)") }
                    set(v)
                })
        }
        func flag(_ name: String, _ set: @escaping (Bool) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(v != 0) })
        }
        return [
            ms("fr_timer") { m.settings.frTimer = $0 },
            ms("fr_inv_timer") { m.settings.frInvTimer = $0 },
            ms("wt_timer") { m.settings.wtTimer = $0 },
            ms("retr_timer1") { m.settings.retrTimer1 = $0 },
            ms("retr_timer2") { m.settings.retrTimer2 = $0 },
            ms("max_inv_lifetime") { m.settings.maxInvLifetime = $0 },
            ms("max_noninv_lifetime") { m.settings.maxNonInvLifetime = $0 },
            flag("restart_fr_on_each_reply") { m.settings.restartFrOnEachReply = $0 },
            flag("auto_inv_100") { m.settings.autoInv100 = $0 },
            ModuleParameter(
                "auto_inv_100_reason", .string { (v: String) throws(FixupError) in m.settings.autoInv100Reason = v }),
            ModuleParameter(
                "default_code",
                .int { (v: Int) throws(FixupError) in
                    guard (400...699).contains(v) else { throw FixupError("default_code must be 400-699, got \(v)") }
                    m.settings.defaultCode = v
                }),
            ModuleParameter(
                "default_reason", .string { (v: String) throws(FixupError) in m.settings.defaultReason = v }),
            flag("disable_6xx_block") { m.settings.disable6xxBlock = $0 },
            flag("remap_503_500") { m.settings.remap503to500 = $0 },
            ModuleParameter(
                "failure_reply_mode",
                .int { (v: Int) throws(FixupError) in
                    guard (0...3).contains(v) else { throw FixupError("failure_reply_mode must be 0-3, got \(v)") }
                    m.settings.failureReplyMode = v
                }),
            flag("e2e_cancel_reason") { m.settings.e2eCancelReason = $0 },
            ModuleParameter(
                "contacts_avp",
                .string { (v: String) throws(FixupError) in m.settings.contactsAVP = v.isEmpty ? nil : v }),
            ModuleParameter(
                "contact_flows_avp",
                .string { (v: String) throws(FixupError) in m.settings.contactFlowsAVP = v.isEmpty ? nil : v }),
            ModuleParameter(
                "faked_reply_prio", .int { (v: Int) throws(FixupError) in m.settings.fakedReplyPriority = v }),
            flag("reparse_invite") { m.settings.hopByHop.reparseInvite = $0 },
            flag("blst_503") { m.settings.blocklist.add503 = $0 },
            seconds("blst_503_def_timeout") { m.settings.blocklist.default503 = $0 },
            seconds("blst_503_min_timeout") { m.settings.blocklist.min503 = $0 },
            seconds("blst_503_max_timeout") { m.settings.blocklist.max503 = $0 },
            seconds("blst_methods_add") { m.settings.blocklist.methodsAdd = $0 },
            seconds("blst_methods_lookup") { m.settings.blocklist.methodsLookup = $0 },
            ModuleParameter(
                "reparse_on_dns_failover",
                .int { (v: Int) throws(FixupError) in
                    guard v != 0 else {
                        throw FixupError("reparse_on_dns_failover 0 is not supported (1, the default, is)")
                    }
                }),
            ModuleParameter(
                "ac_extra_hdrs", .string { (v: String) throws(FixupError) in m.settings.hopByHop.extraHeaderPrefix = v }
            ),
            ModuleParameter(
                "max_transactions",
                .int { (v: Int) throws(FixupError) in
                    guard v >= 0 else { throw FixupError("max_transactions must be >= 0") }
                    m.settings.maxTransactions = v
                }),
        ]
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "tm") { TMModule().exports }
}

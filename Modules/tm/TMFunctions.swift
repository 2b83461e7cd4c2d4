import SwiftletSDK

extension TMModule {
    /// The script functions (each works as in Kamailio 5.6; see README.md for the ones not
    /// exported yet).
    var functions: [ScriptFunction] {
        let m = manager
        let requestAndFailure: RouteTypes = [.request, .failure]
        return relayFunctions + lifetimeFunctions + failureFunctions + replicateFunctions + [
            ScriptFunction("t_relay", parameters: 0, routes: requestAndFailure) { _ in { ctx in m.relay(ctx) } },
            ScriptFunction("t_relay", parameters: 2, routes: requestAndFailure) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let host = try args[0].stringFormat()
                let port = try args[1].intParameter()
                return { ctx in
                    let h = host.render(ctx)
                    let p = port.value(ctx) ?? 5060
                    // Kamailio's w_t_relay2: over the protocol the request came in on.
                    let proto = ctx.receive.proto
                    do throws(NextHop.Failure) {
                        let target = try NextHop.resolve(h, port: p, proto: proto)
                        return m.relay(ctx, forced: Destination(proto: target.proto, address: target.address))
                    } catch {
                        Log.error("tm", "t_relay: cannot resolve \(h): \(error)")
                        return -1
                    }
                }
            },
            Self.relayTo("t_relay_to_udp", .udp, m), Self.relayTo("t_relay_to_tcp", .tcp, m),
            Self.relayTo("t_relay_to_tls", .tls, m), Self.relayTo("t_relay_to_sctp", .sctp, m),
            ScriptFunction("t_newtran", parameters: 0, routes: .request) { _ in
                { ctx in
                    switch m.transaction(for: ctx) {
                    case .created: return 1
                    case .existing(let tx):
                        m.absorbRetransmission(tx)
                        return 0
                    case .refused: return -1
                    }
                }
            },
            ScriptFunction("t_reply", parameters: 2, routes: requestAndFailure) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let code = try args[0].intParameter()
                if case .constant(let c) = code, !(100...699).contains(c) {
                    throw FixupError("invalid reply code \(c) (must be 100-699)", at: args[0].location)
                }
                let reason = try args[1].stringFormat()
                return { ctx in m.reply(ctx, code: code.value(ctx), reason: reason.render(ctx)) }
            },
            ScriptFunction("t_check_trans", parameters: 0, routes: [.request, .failure, .branch, .onReply]) { _ in
                { ctx in m.checkTransaction(ctx) }
            },
            Self.routeSetter("t_on_failure", kind: "failure", routes: [.request, .failure, .branch, .tmOnReply]) {
                s, tx, name in
                if let tx { tx.onFailure = name } else { s.onFailure = name }
            },
            Self.routeSetter("t_on_reply", kind: "onreply", routes: [.request, .failure, .branch, .tmOnReply]) {
                s, tx, name in
                if let tx { tx.onReply = name } else { s.onReply = name }
            },
            Self.routeSetter("t_on_branch", kind: "branch", routes: [.request, .failure]) { s, tx, name in
                if let tx { tx.onBranch = name } else { s.onBranch = name }
            },
            ScriptFunction("t_is_set", parameters: 1, routes: [.request, .failure, .branch, .tmOnReply]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let target = try args[0].constantString()
                guard ["failure_route", "branch_route", "onreply_route"].contains(target) else {
                    throw FixupError(
                        "t_is_set: unknown target '\(target)' (failure_route, branch_route or onreply_route)",
                        at: args[0].location)
                }
                return { _ in
                    let s = TMThreadState.thread
                    let name: String? =
                        if let tx = s.current {
                            tx.locked {
                                target == "failure_route"
                                    ? tx.onFailure : target == "branch_route" ? tx.onBranch : tx.onReply
                            }
                        } else {
                            target == "failure_route" ? s.onFailure : target == "branch_route" ? s.onBranch : s.onReply
                        }
                    return name == nil ? -1 : 1
                }
            },
            ScriptFunction("t_branch_timeout", parameters: 0, routes: [.failure, .event]) { _ in
                { _ in
                    guard let b = TMThreadState.thread.failedBranch, let tx = TMThreadState.thread.current else {
                        return -1
                    }
                    return tx.locked { !b.receivedFinal } ? 1 : -1
                }
            },
            ScriptFunction("t_branch_replied", parameters: 0, routes: [.failure, .event]) { _ in
                { _ in
                    guard let b = TMThreadState.thread.failedBranch, let tx = TMThreadState.thread.current else {
                        return -1
                    }
                    return tx.locked { b.replied } ? 1 : -1
                }
            },
            Self.transactionFlag("t_set_disable_6xx") { tx, on in tx.disable6xxBlock = on },
            Self.transactionFlag("t_set_no_e2e_cancel_reason") { tx, on in tx.noE2ECancelReason = on },
            ScriptFunction("t_load_contacts", parameters: 0...1, routes: [.request, .failure]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let mode = try args.first?.intParameter()
                if let a = args.first, case .constant(let v) = mode, v != 0, v != 1 {
                    throw FixupError("t_load_contacts: mode must be 0 (standard) or 1 (proportional)", at: a.location)
                }
                return { ctx in
                    let v = mode?.value(ctx) ?? 0
                    guard v == 0 || v == 1 else { return -1 }
                    return ContactLoading.load(ctx, avp: m.settings.contactsAVP, proportional: v == 1)
                }
            },
            ScriptFunction("t_next_contacts", parameters: 0, routes: [.request, .failure]) { _ in
                { ctx in ContactLoading.next(ctx, avp: m.settings.contactsAVP, flowsAVP: m.settings.contactFlowsAVP) }
            },
            // Kamailio exports it for request routes; it works in the branch-failure event route.
            ScriptFunction("t_next_contact_flow", parameters: 0, routes: .request) { _ in
                { ctx in
                    let state = TMThreadState.thread
                    let failed = state.current?.ctx === ctx ? state.failedBranch : nil
                    return ContactLoading.nextFlow(ctx, avp: m.settings.contactFlowsAVP, failed: failed)
                }
            },
            ScriptFunction("t_is_canceled", parameters: 0, routes: [.request, .failure, .tmOnReply, .branch]) { _ in
                { ctx in
                    guard let tx = TMThreadState.thread.current ?? m.lookup(ctx) else { return -1 }
                    return tx.locked { tx.canceled } ? 1 : -1
                }
            },
            ScriptFunction("t_set_fr", parameters: 1...2, routes: [.request, .failure, .branch]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let inv = try args[0].intParameter()
                let nonInv = try args.count > 1 ? args[1].intParameter() : nil
                return { ctx in
                    let s = TMThreadState.thread
                    let i = inv.value(ctx).flatMap { $0 > 0 ? $0 : nil }
                    let n = nonInv?.value(ctx).flatMap { $0 > 0 ? $0 : nil }
                    if let tx = s.current {
                        tx.locked {
                            if let i { tx.frInvTimeout = i }
                            if let n { tx.frTimeout = n }
                        }
                    } else {
                        if let i { s.frInvTimeout = i }
                        if let n { s.frTimeout = n }
                    }
                    return 1
                }
            },
            ScriptFunction("t_check_status", parameters: 1, routes: [.request, .failure, .tmOnReply, .branch]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let pattern = try args[0].constantString()
                let re = try POSIXRegex(pattern)
                return { ctx in
                    let code = TMThreadState.thread.replyCode ?? ctx.message.statusCode
                    guard let code else { return -1 }
                    return re.matches(String(code)) ? 1 : -1
                }
            },
        ]
    }

    /// `t_relay_to_udp([host, port])`, `t_relay_to_tcp(...)`, `t_relay_to_tls(...)`, `t_relay_to_sctp(...)`: `t_relay()` over that
    /// protocol, to the next hop (`$du`, else the Request-URI) or to `host:port`.
    static func relayTo(_ name: String, _ proto: TransportProtocol, _ m: TransactionManager) -> ScriptFunction {
        ScriptFunction(name, parameters: 0...2, routes: [.request, .failure]) {
            (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            guard args.count != 1 else { throw FixupError("\(name) takes no parameter or host and port") }
            let host = try args.first?.stringFormat()
            let port = try args.count > 1 ? args[1].intParameter() : nil
            return { ctx in
                do throws(NextHop.Failure) {
                    let dst: Destination
                    if let host {
                        let target = try NextHop.resolve(
                            host.render(ctx), port: port?.value(ctx) ?? (proto == .tls ? 5061 : 5060), proto: proto)
                        dst = Destination(proto: proto, address: target.address)
                    } else {
                        guard let uri = ctx.nextHopURI else { return -1 }
                        dst = try NextHop.destination(forURI: uri, proto: proto)
                    }
                    return m.relay(ctx, forced: dst)
                } catch {
                    Log.error("tm", "\(name): \(error)")
                    return -1
                }
            }
        }
    }

    /// `t_set_disable_6xx(0|1)` and its kin: a per-transaction switch; -1 without a
    /// transaction (call it after `t_newtran()`/`t_relay()`, or in a failure route).
    static func transactionFlag(_ name: String, _ set: @escaping (Transaction, Bool) -> Void) -> ScriptFunction {
        ScriptFunction(name, parameters: 1, routes: [.request, .failure, .branch, .tmOnReply]) {
            (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            let value = try args[0].intParameter()
            return { ctx in
                guard let tx = TMThreadState.thread.current, let v = value.value(ctx) else { return -1 }
                tx.locked { set(tx, v != 0) }
                return 1
            }
        }
    }

    /// `t_on_failure("NAME")` and its kin: a constant route name, checked when the
    /// configuration's routes are known.
    static func routeSetter(
        _ name: String, kind: String, routes: RouteTypes,
        _ set: @escaping (TMThreadState, Transaction?, String) -> Void
    ) -> ScriptFunction {
        ScriptFunction(name, parameters: 1, routes: routes) {
            (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            let route = try args[0].constantString()
            return { _ in
                let s = TMThreadState.thread
                if let tx = s.current { tx.locked { set(s, tx, route) } } else { set(s, nil, route) }
                return 1
            }
        }
    }
}

extension TransactionManager {
    /// `t_reply(code, reason)`: a stateful reply (the transaction is created when needed).
    func reply(_ ctx: MessageContext, code: Int?, reason: String) -> Int {
        let c = code.flatMap { (100...699).contains($0) ? $0 : nil } ?? settings.defaultCode
        let r = code == nil ? settings.defaultReason : reason
        let tx: Transaction
        if let current = TMThreadState.thread.current, current.ctx === ctx {
            tx = current
        } else {
            switch transaction(for: ctx) {
            case .created(let t): tx = t
            case .existing(let t):
                absorbRetransmission(t)
                return 0
            case .refused: return -1
            }
        }
        return tx.locked {
            guard tx.lastReplyCode < 200, let bytes = LocalMessages.reply(tx, code: c, reason: r) else { return -1 }
            stats.add(.local)
            sendUpstream(tx, bytes, code: c)
            return 1
        }
    }

    /// `t_check_trans()` as Kamailio 5.6: a CANCEL is true when its INVITE's transaction
    /// exists; an ACK to a negative reply ends here (0), an ACK to a 2xx is true when the
    /// transaction is still there; another request's retransmission gets the last reply
    /// again and ends the script (0); a new request is false.
    func checkTransaction(_ ctx: MessageContext) -> Int {
        if TMThreadState.thread.current != nil, ctx.routeType != .request { return 1 }
        switch ctx.message.method {
        case .cancel:
            return lookup(ctx, methodClass: "INVITE") != nil ? 1 : -1
        case .ack:
            guard let tx = lookup(ctx, methodClass: "INVITE") else { return -1 }
            if tx.locked({ tx.lastReplyCode >= 300 }) {
                absorbAck(tx)
                return 0
            }
            return 1
        default:
            guard let tx = lookup(ctx) else { return -1 }
            absorbRetransmission(tx)
            return 0
        }
    }

    /// `tm.stats`.
    var statsValue: RPCValue {
        let v = stats.value
        return .object([
            ("current", .int(table.count)), ("created", .int(v(.created))), ("total_local", .int(v(.local))),
            ("relayed_total", .int(v(.relayed))), ("rpl_generated", .int(v(.local))),
            ("retransmissions", .int(v(.retransmissions))), ("timeouts", .int(v(.timeouts))),
            ("refused", .int(v(.refused))), ("2xx", .int(v(.final2xx))), ("3xx", .int(v(.final3xx))),
            ("4xx", .int(v(.final4xx))), ("5xx", .int(v(.final5xx))), ("6xx", .int(v(.final6xx))),
        ])
    }
}

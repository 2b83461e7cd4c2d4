import SwiftletSDK

extension TMXModule {
    /// tmx's `$T_*` pseudo-variables (Kamailio's `t_var.c`), read through tm's
    /// `TransactionInspectionAPI`.
    var transactionPseudoVariables: [PseudoVariableClass] {
        [
            .readOnly("T_reply_code") { ctx in self.replyCode(ctx) },
            .readOnly("T_branch_idx") { ctx in self.branchIndex(ctx) },
            failing("T_reply_reason") { ctx in self.replyReason(ctx) },
            .readOnly("T_reply_ruid") { ctx in self.replyRUID(ctx) },
            failing("T_reply_last") { ctx in
                // Only in tm's onreply route (elsewhere Kamailio fails: nothing is printed).
                guard ctx.routeType == .tmOnReply, let b = self.inspect?.replyBranch(ctx) else { return nil }
                // As Kamailio, the route sees the branch's code raised to this reply's.
                return .int(max(b.lastReceived, ctx.message.statusCode ?? 0))
            },
            inner("T_req") { ctx in
                RouteTypes.onReply.contains(ctx.routeType) ? self.inspect?.request(ctx) : nil
            },
            inner("T_rpl") { ctx in ctx.routeType == .failure ? self.inspect?.reply(ctx) : nil },
            inner("T_inv") { ctx in ctx.routeType == .request ? self.inspect?.cancelledInvite(ctx) : nil },
            PseudoVariableClass("T") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
                let get = try self.transactionField(pv)
                return PseudoVariable(text: pv.text, evaluate: get)
            },
            PseudoVariableClass("T_branch") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
                let get = try self.branchField(pv)
                return PseudoVariable(text: pv.text, get: get)
            },
        ]
    }

    /// A read-only PV whose getter may fail (nil: Kamailio's getter returning -1, which a
    /// format prints as nothing).
    func failing(_ name: String, _ get: @escaping (MessageContext) -> PVValue?) -> PseudoVariableClass {
        PseudoVariableClass(name) { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard pv.inner == nil, pv.index == nil else { throw FixupError("$\(name) takes no name or index") }
            return PseudoVariable(text: pv.text, evaluate: get)
        }
    }

    /// `$T_req(pv)` and its kin: `pv` (any pseudo-variable, compiled at start-up) evaluated on
    /// the message `target` gives; null when there is none.
    func inner(_ name: String, _ target: @escaping (MessageContext) -> MessageContext?) -> PseudoVariableClass {
        PseudoVariableClass(name) { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard let text = pv.inner, !text.isEmpty, pv.index == nil else {
                throw FixupError("$\(name) needs a pseudo-variable as its name, e.g. $\(name)($hdr(Call-ID))")
            }
            let compiled: PseudoVariable
            do throws(FixupError) {
                compiled = try pv.registry.compile(text)
            } catch {
                throw FixupError("invalid pv name [\(text)] in \(pv.text): \(error.message)")
            }
            return PseudoVariable(text: pv.text) { ctx in target(ctx).map { compiled.get($0) } ?? .null }
        }
    }

    /// `$T_reply_code`: the reply's code in a reply route; with a transaction, the last code
    /// sent in a request or branch route, the chosen one in a failure route and the failed
    /// branch's in the branch-failure route; else 0.
    func replyCode(_ ctx: MessageContext) -> PVValue {
        if RouteTypes.onReply.contains(ctx.routeType) { return .int(ctx.message.statusCode ?? 0) }
        guard let api = inspect, let sent = api.lastSentCode(ctx) else { return .int(0) }
        switch ctx.routeType {
        case .request, .branch: return .int(sent)
        case .failure, .branchFailure: return .int(tm?.replyCode(ctx) ?? 0)
        default: return .int(0)
        }
    }

    /// `$T_branch_idx`: the reply's branch in a reply route, the branch being created in a
    /// branch route, the number of branches added so far in a request route, and the index the
    /// next branch gets in a failure route.
    func branchIndex(_ ctx: MessageContext) -> PVValue {
        if !ctx.message.isRequest || ctx.routeType == .branch || ctx.routeType == .branchFailure {
            return .int(tm?.branchIndex(ctx) ?? -1)
        }
        switch ctx.routeType {
        case .request: return .int(ctx.branches.count)
        case .failure:
            guard let n = inspect?.branchCount(ctx) else { return .null }
            return .int(n + ctx.branches.count)
        default: return .int(-1)
        }
    }

    /// `$T_reply_reason`: the reply's reason phrase (a reply route), the chosen reply's (a
    /// failure route; for a timeout the standard phrase); empty without a transaction.
    /// In other routes with a transaction, it fails (nil) as Kamailio's.
    func replyReason(_ ctx: MessageContext) -> PVValue? {
        guard let api = inspect else { return nil }
        if api.lastSentCode(ctx) == nil { return .string("") }
        guard RouteTypes.onReply.contains(ctx.routeType) || ctx.routeType == .failure else { return nil }
        return api.replyReason(ctx).map(PVValue.string)
    }

    /// `$T_reply_ruid`: the ruid of the reply's branch (empty when there is none).
    func replyRUID(_ ctx: MessageContext) -> PVValue {
        guard ctx.routeType == .failure || ctx.routeType == .tmOnReply else { return .string("") }
        return .string(inspect?.replyBranch(ctx)?.ruid ?? "")
    }

    /// `$T(name)`.
    func transactionField(_ pv: PseudoVariableName) throws(FixupError) -> (MessageContext) -> PVValue? {
        switch pv.inner ?? "" {
        case "reply_code": return { ctx in self.replyCode(ctx) }
        case "branch_index": return { ctx in self.branchIndex(ctx) }
        case "reply_reason": return { ctx in self.replyReason(ctx) }
        case "id_index", "id_label", "id_index_n", "id_label_n":
            let name = pv.inner ?? ""
            let create = name.hasSuffix("_n")
            let index = name.hasPrefix("id_index")
            return { ctx in
                guard let id = self.inspect?.identity(ctx, create: create) else { return .null }
                return .int(index ? id.index : id.label)
            }
        case "reply_type":
            return { ctx in
                guard self.inspect?.identity(ctx, create: false) != nil else { return .null }
                guard ctx.routeType == .failure, let b = self.inspect?.replyBranch(ctx) else { return .int(0) }
                return .int(b.replyIsLocal ? 1 : 0)
            }
        default:
            throw FixupError("unknown PV name \(pv.inner ?? "") in \(pv.text)")
        }
    }

    /// `$T_branch(name)`.
    func branchField(_ pv: PseudoVariableName) throws(FixupError) -> (MessageContext) -> PVValue {
        let field = try branchFieldWithTransaction(pv)
        return { ctx in self.inspect?.identity(ctx, create: false) == nil ? .null : field(ctx) }
    }

    private func branchFieldWithTransaction(_ pv: PseudoVariableName) throws(FixupError) -> (MessageContext) -> PVValue
    {
        switch pv.inner ?? "" {
        case "flags":
            return { ctx in
                guard ctx.routeType == .failure || ctx.routeType == .tmOnReply,
                    let b = self.inspect?.replyBranch(ctx)
                else { return .null }
                return .int(Int(truncatingIfNeeded: b.flags))
            }
        case "uri":
            return { ctx in
                guard ctx.routeType == .tmOnReply, let b = self.inspect?.replyBranch(ctx) else { return .null }
                return .string(b.uri)
            }
        case "ruid":
            return { ctx in
                if ctx.routeType == .branch {
                    return self.inspect?.replyBranch(ctx).map { .string($0.ruid) } ?? .null
                }
                return self.replyRUID(ctx)
            }
        default:
            throw FixupError("unknown PV name \(pv.inner ?? "") in \(pv.text)")
        }
    }
}

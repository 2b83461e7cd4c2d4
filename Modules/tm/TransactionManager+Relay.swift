import SwiftletSDK

/// A target `startBranches` makes a branch for: the request's own Request-URI (`uri` nil
/// for a plain relay's, which is the context's) or an appended branch.
struct BranchTarget {
    let uri: String?
    let du: String?
    let socket: ListeningSocket?
    let flags: UInt64
    /// nil for the request's own (the context's, not copied).
    let binding: ContactBinding?
}

extension TransactionManager {
    /// `t_relay()`: the request goes on statefully to the Request-URI / `$du` and every
    /// appended branch (or to `forced`); 100 Trying answers a new INVITE first. In a failure
    /// route it adds branches to the transaction (serial forking). Returns 1 when at least
    /// one branch was sent, -1 when none could be, 0 when the request was a retransmission
    /// (answered again) or an ACK that ends here.
    ///
    /// `replicate` (`t_replicate()`): the transaction's replies are not relayed upstream and a
    /// failure is silent (Kamailio's `T_IS_LOCAL_FLAG`).
    func relay(_ ctx: MessageContext, forced: Destination? = nil, replicate: Bool = false) -> Int {
        let state = TMThreadState.thread
        switch ctx.message.method {
        case .ack:
            if let tx = lookup(ctx, methodClass: "INVITE", state: state), tx.locked({ tx.lastReplyCode >= 300 }) {
                absorbAck(tx)
                return 0
            }
            // An end-to-end ACK (for a 2xx) goes on statelessly, as in Kamailio.
            return forwardStatelessly(ctx, forced)
        case .cancel:
            if let invite = lookup(ctx, methodClass: "INVITE", state: state) { return cancelInvite(ctx, invite) }
        default:
            break
        }
        if let tx = state.current, tx.ctx === ctx {
            // One locked section: the 100 Trying is queued first and goes out when it ends,
            // before the branches are sent (after it, or queued behind it).
            // The branch to send once unlocked, moved out of the transaction (no copy).
            var unsent: (ClientBranch, [UInt8])?
            // Locked without a closure (`enter`/`leave`): nothing captured to retain.
            tx.enter()
            let result = relayLocked(tx, ctx, forced: forced, replicate: replicate, unsent: &unsent)
            tx.leave()
            guard let (branch, bytes) = unsent else { return result }
            return send(branch, bytes, of: tx, replicate: replicate)
        }
        switch transaction(for: ctx, state: state) {
        case .refused:
            return 0
        case .existing(let tx):
            absorbRetransmission(tx)
            return 0
        case .created(let tx):
            // One locked section: the 100 Trying is queued first and goes out when it ends,
            // before the branches are sent (after it, or queued behind it).
            // The branch to send once unlocked, moved out of the transaction (no copy).
            var unsent: (ClientBranch, [UInt8])?
            // Locked without a closure (`enter`/`leave`): nothing captured to retain.
            tx.enter()
            let result = relayCreatedLocked(tx, ctx, forced: forced, replicate: replicate, unsent: &unsent)
            tx.leave()
            guard let (branch, bytes) = unsent else { return result }
            return send(branch, bytes, of: tx, replicate: replicate)
        }
    }

    /// `relay` of the request of the current transaction `tx`, under its lock. `unsent`: the
    /// branch to send once unlocked, moved out of the transaction (no copy).
    private func relayLocked(
        _ tx: Transaction, _ ctx: MessageContext, forced: Destination?, replicate: Bool,
        unsent: inout (ClientBranch, [UInt8])?
    ) -> Int {
        let inRequestRoute = ctx.routeType == .request
        if replicate { tx.replicated = true }
        // After t_newtran(), t_relay() answers the INVITE 100 as Kamailio's t_relay_to.
        if inRequestRoute {
            sendTrying(tx)
            if tx.savedEdits == nil { tx.savedEdits = ctx.edits }
        }
        // A CANCEL answered already: nothing more goes out.
        if inRequestRoute, tx.canceled, tx.lastReplyCode >= 200 { return 0 }
        if startBranches(tx, forced: forced, deferSend: inRequestRoute) > 0 {
            unsent = tx.takeUnsentBranch()
            return 1
        }
        guard inRequestRoute else { return -1 }
        return relayFailed(tx, replicate: replicate)
    }

    /// `relay` of a request whose transaction `tx` it just created, under its lock. `unsent`:
    /// the branch to send once unlocked, moved out of the transaction (no copy).
    private func relayCreatedLocked(
        _ tx: Transaction, _ ctx: MessageContext, forced: Destination?, replicate: Bool,
        unsent: inout (ClientBranch, [UInt8])?
    ) -> Int {
        tx.replicated = replicate
        sendTrying(tx)
        if tx.savedEdits == nil { tx.savedEdits = ctx.edits }
        // A CANCEL answered already: nothing more goes out.
        if tx.canceled, tx.lastReplyCode >= 200 { return 0 }
        if startBranches(tx, forced: forced, deferSend: true) > 0 {
            unsent = tx.takeUnsentBranch()
            return 1
        }
        if tx.loopDetected, !replicate, let loop = LocalMessages.reply(tx, code: 482, reason: "Loop Detected") {
            // Every target was this server: the caller gets 482 and the script stops.
            stats.add(.local)
            sendUpstream(tx, loop, code: 482)
            return 0
        }
        return relayFailed(tx, replicate: replicate)
    }

    /// `t_relay()` in a request route sent nothing (Kamailio's `t_relay_to` error path): a
    /// replicated request's transaction ends silently; with `t_relay_to()` flag 0x02 it stays
    /// for the script's `t_reply()` (-4); otherwise the error reply goes when the request route
    /// ends unless the script replied or relayed statefully (`sendDelayedError`). Returns the
    /// error: E_SEND's -1 when branches were made but not sent, else the code of the reason
    /// (-7 no socket, -478 unresolvable, ...). Lock held.
    func relayFailed(_ tx: Transaction, replicate: Bool) -> Int {
        let error = tx.ctx.coreError.current
        let code = error == .send ? -1 : min(error.rawValue, -1)
        if replicate {
            finish(tx)
            return code
        }
        // Released silently at the end of its lifetime when nothing answers it.
        tx.releaseWhenExpired = true
        if tx.options.disableInternalReply == true { return -4 }
        tx.delayedError = error
        return code
    }

    /// The end of the request route (Kamailio's `t_unref`): when `t_relay()` failed and the
    /// script neither replied statefully nor relayed since, the error goes to the caller as
    /// `err2reason_phrase` words it (`500 I'm terribly sorry, server error occurred (7/TM)`,
    /// `478 Unresolvable destination (478/TM)`, ...).
    func sendDelayedError(_ ctx: MessageContext, state: TMThreadState = .thread) {
        // `delayedError` is set only by `relayFailed` in the request route, on this thread:
        // read here without the lock, the usual request (no error) takes no lock.
        guard let tx = state.current, tx.ctx === ctx, tx.delayedError != nil else { return }
        tx.locked {
            guard let error = tx.delayedError else { return }
            tx.delayedError = nil
            guard tx.lastReplyCode < 200, tx.branches.isEmpty, !tx.finished else { return }
            let (code, reason) = error.reply(signature: "TM")
            guard let bytes = LocalMessages.reply(tx, code: code, reason: reason) else { return }
            stats.add(.local)
            sendUpstream(tx, bytes, code: code)
        }
    }

    /// 100 Trying for a new INVITE (`auto_inv_100`, `t_set_auto_inv_100()`, `t_relay_to()`
    /// flag 0x01), once. Lock held.
    func sendTrying(_ tx: Transaction) {
        guard tx.isInvite, tx.options.autoInv100 ?? settings.autoInv100, tx.lastReplyCode < 100,
            let trying = LocalMessages.reply(tx, code: 100, reason: settings.autoInv100Reason)
        else { return }
        stats.add(.local)
        sendUpstream(tx, trying, code: 100)
    }

    /// The lower (more negative, as Kamailio's `MIN_int(lowest_ret, ...)`) of two errors.
    static func lowest(_ a: CoreError?, _ b: CoreError) -> CoreError {
        guard let a else { return b }
        return a.rawValue <= b.rawValue ? a : b
    }

    /// An ACK or a request relayed without a transaction.
    private func forwardStatelessly(_ ctx: MessageContext, _ forced: Destination?) -> Int {
        let dst: Destination
        if let forced {
            dst = forced
        } else {
            guard let uri = ctx.nextHopURI else { return -1 }
            do throws(NextHop.Failure) {
                dst = try NextHop.destination(forURI: uri)
            } catch {
                Log.error("tm", "cannot relay \(ctx.message.methodText): \(error)")
                return -1
            }
        }
        return StatelessForwarding.forwardRequest(ctx, to: dst) ? 1 : -1
    }

    /// Sends the request on a branch for each target: the Request-URI (with `$du`) and the
    /// appended branches, which are consumed. Returns how many were sent. Lock held.
    ///
    /// `deferSend` (t_relay() in a request route): a single branch with no branch route is
    /// made and added but not sent; the caller sends it after the lock with `send(_:of:)`
    /// (Kamailio's `t_forward_nonack` sends without the reply lock too), so that a reply
    /// arriving at once finds its branch and does not wait for this `sendto`.
    func startBranches(_ tx: Transaction, forced: Destination?, deferSend: Bool = false) -> Int {
        let ctx = tx.ctx
        guard let transport = core.transport else {
            Log.error("tm", "cannot relay: no transport")
            return 0
        }
        let firstDU = ctx.destinationURI
        let firstFlags = ctx.branchFlags
        // In a failure route the Request-URI makes a branch only when it is new (changed
        // there, or `$du` set), as Kamailio's `ruri_is_new`.
        let failureRoute = ctx.routeType == .failure || ctx.routeType == .branchFailure
        let includeFirst = ctx.requestURIIsNew || !failureRoute
        // The appended branches, taken (the context's list is emptied; this keeps its buffer).
        let appended = ctx.branches
        // Only the request's own target and no branch route: the context holds the branch's
        // Request-URI, $du, flags and edits already, and nothing changes them: nothing to set
        // or restore, and the Request-URI is made into a string only when it is needed.
        let plain = includeFirst && appended.isEmpty && tx.onBranch == nil
        // The first target's Request-URI (nil for a plain relay: `ctx.requestURI` as it is).
        let firstURI: String? = plain ? nil : ctx.requestURI ?? ""
        // A target's binding: nil for the request's own (the context's, not copied).
        let firstBinding = plain ? nil : ctx.binding
        if !appended.isEmpty { ctx.branches.removeAll() }
        let forcedSocket = ctx.forcedSendSocket
        let targetCount = (includeFirst ? 1 : 0) + appended.count
        /// Target `i`: the request's own first (when it makes a branch), then the appended ones.
        func target(_ i: Int) -> BranchTarget {
            if includeFirst, i == 0 {
                return BranchTarget(
                    uri: firstURI, du: firstDU, socket: forcedSocket, flags: firstFlags, binding: nil)
            }
            let b = appended[i - (includeFirst ? 1 : 0)]
            return BranchTarget(
                uri: b.uri, du: b.destinationURI, socket: b.sendSocket ?? forcedSocket, flags: b.flags,
                binding: b.binding)
        }
        let deferring = deferSend && plain && tx.localUAC == nil
        let savedURI = plain ? nil : ctx.newRequestURI
        let savedEdits = plain ? nil : ctx.edits
        let savedRouteType = ctx.routeType
        defer {
            if !plain {
                ctx.newRequestURI = savedURI
                ctx.destinationURI = firstDU
                if let savedEdits { ctx.edits = savedEdits }
                ctx.routeType = savedRouteType
                ctx.branchFlags = firstFlags
                if let firstBinding { ctx.binding = firstBinding }
            }
            ctx.requestURIIsNew = false  // consumed (Kamailio's ruri_mark_consumed)
        }
        // The branch's Request-URI (non-plain: the context's, as the branch route left it).
        func branchURI(_ target: BranchTarget) -> String { ctx.requestURI ?? target.uri ?? "" }
        // The Request-URI a branch keeps: a plain relay's received one is made into a string
        // only if asked for (`$T_branch(uri)`, failure routes).
        func keptURI(_ target: BranchTarget) -> ClientBranch.RequestURI {
            guard plain else { return .text(branchURI(target)) }
            if let uri = ctx.newRequestURI { return .text(uri) }
            return .received(ctx.message)
        }
        var sent = 0
        // What went wrong, for sl_reply_error() (Kamailio's ser_error): a branch that could
        // not be made (the lowest error), or E_SEND once one was made but not sent.
        var addError: CoreError?
        var sendFailed = false
        defer {
            if sent == 0 { ctx.coreError.current = sendFailed ? .send : addError ?? .unspecified }
        }
        for t in 0..<targetCount {
            let target = target(t)
            if !plain {
                if let savedEdits { ctx.edits = savedEdits }
                if target.uri != ctx.message.requestURI {
                    ctx.newRequestURI = target.uri
                } else {
                    ctx.newRequestURI = savedURI
                }
                ctx.destinationURI = target.du
                // The branch's own flags while its branch route runs (Kamailio sets bflags per branch).
                ctx.branchFlags = target.flags
                ctx.binding = target.binding ?? firstBinding ?? ContactBinding()
            }
            if let name = tx.onBranch, let routes = core.routes, routes.branchRouteNames.contains(name) {
                let state = TMThreadState.thread
                let saved = (state.current, state.branchIndex)
                (state.current, state.branchIndex) = (tx, tx.branches.count)
                let kept = routes.runBranchRoute(name, ctx)
                (state.current, state.branchIndex) = saved
                if !kept { continue }
            }
            var dst: Destination
            var alternatives: [Destination] = []
            if let forced {
                dst = forced
            } else {
                do throws(NextHop.Failure) {
                    guard
                        let found = try branchDestinations(tx, uri: ctx.destinationURI ?? branchURI(target))
                    else {
                        sendFailed = true  // Kamailio's t_send_branch refuses a blocklisted one
                        continue
                    }
                    (dst, alternatives) = found
                } catch {
                    Log.error("tm", "cannot relay to <\(ctx.destinationURI ?? branchURI(target))>: \(error)")
                    addError = Self.lowest(addError, error.error)
                    continue
                }
            }
            guard
                let socket = dst.socket
                    ?? transport.sendSocket(
                        for: dst.proto, to: dst.address, received: ctx.receive.socket, forced: target.socket)
            else {
                Log.error("tm", "no socket to relay to \(dst)")
                addError = Self.lowest(addError, .noSocket)
                continue
            }
            if dst.proto == socket.proto,
                transport.sockets.contains(where: { $0.proto == dst.proto && $0.address == dst.address })
            {
                Log.error("tm", "not relaying \(ctx.message.methodText) to \(dst): that is this server (a loop)")
                tx.loopDetected = true
                continue
            }
            dst.socket = socket
            dst.flags = ctx.sendFlags
            let index = tx.branches.count
            let bytes: [UInt8]
            do {
                // The branch written on the stack, not made as a string.
                bytes = try TransactionKey.withBranch(of: tx, index: index) { branch in
                    try StatelessForwarding.buildRequest(ctx, socket: socket, proto: dst.proto, branchBytes: branch)
                }
            } catch {
                Log.error("tm", "cannot build the request for branch \(index): \(error)")
                addError = Self.lowest(addError, .unspecified)
                continue
            }
            guard let copy = SharedBytes(copyOf: bytes, in: core.memory) else {
                Log.error("tm", "no more shared memory for branch \(index) of \(ctx.message.callID ?? "")")
                addError = Self.lowest(addError, .outOfMemory)
                continue
            }
            if deferring {
                let branch = ClientBranch(index: index, uri: keptURI(target), destination: dst, request: copy)
                branch.flags = ctx.branchFlags
                if ctx.hasBinding { branch.binding = ctx.binding }
                branch.onBranchFailure = tx.onBranchFailure
                branch.alternatives = alternatives
                tx.branches.append(branch)
                tx.unsentBranch = branch
                tx.unsentBytes = bytes
                sent += 1
                continue
            }
            // The send's outcome decides the branch: what was queued goes first, in order.
            tx.sendQueuedNow()
            // A request tm originates runs no onsend_route (Kamailio has no message for it).
            let outcome = core.send(
                OutboundMessage(bytes: bytes, destination: dst, kind: .request), context: tx.localUAC == nil ? ctx : nil
            )
            let branch = ClientBranch(index: index, uri: keptURI(target), destination: dst, request: copy)
            branch.flags = ctx.branchFlags
            if ctx.hasBinding { branch.binding = ctx.binding }
            branch.onBranchFailure = tx.onBranchFailure
            branch.alternatives = alternatives
            guard outcome == .sent else {
                // A send error blocklists the destination; DNS failover tries the next address.
                destinationPolicy?.blocklist?.add(dst.proto, dst.address)
                if failover(tx, from: branch) { sent += 1 }
                sendFailed = true
                continue
            }
            tx.branches.append(branch)
            startTimers(tx, branch)
            sent += 1
        }
        return sent
    }

    /// Retransmissions over UDP (T1, doubling up to T2) and the final-response timer.
    func startTimers(_ tx: Transaction, _ b: ClientBranch) {
        if !b.isReliable {
            b.retransmissionInterval = settings.retrTimer1
            b.retransmission = schedule(
                tx, .retransmission, branch: b.index, milliseconds: b.retransmissionInterval, name: "tm-retr")
        }
        // After the transaction's maximum lifetime a new branch times out at once.
        armFinalResponseTimer(tx, b, milliseconds: tx.expired ? 1 : tx.frTimeout ?? settings.frTimer)
    }

    /// (Re)starts the branch's final-response timer.
    /// The branch's handle is moved when it can be (no new handle for `fr_inv_timer` after
    /// a provisional reply).
    func armFinalResponseTimer(_ tx: Transaction, _ b: ClientBranch, milliseconds: Int) {
        if let timer = b.finalResponseTimer,
            timer.restart(
                afterMilliseconds: milliseconds, name: "tm-fr", event: TMTimer.finalResponse.event(branch: b.index))
        {
            return
        }
        tx.stop(b.finalResponseTimer)
        b.finalResponseTimer = schedule(tx, .finalResponse, branch: b.index, milliseconds: milliseconds, name: "tm-fr")
    }

    /// No final reply in time: a CANCEL when the branch rang, then the branch counts as a
    /// 408 (487 when the transaction was cancelled). Lock held.
    func branchTimedOut(_ tx: Transaction, _ b: ClientBranch) {
        guard !b.isFinal, !tx.finished || tx.lastReplyCode < 200 else { return }
        if !b.replied { branchTimedOutWithoutReply(tx, b) }
        if tx.isInvite, b.lastCode >= 100 { cancel(tx, b) }
        stats.add(.timeouts)
        b.lastCode = tx.canceled ? 487 : 408
        b.finalReply = nil
        tx.stop(b.retransmission)
        runBranchFailure(tx, b)
        branchFinished(tx, b)
    }

    /// Sends a CANCEL on a branch that had a provisional reply; one that had none is
    /// cancelled when it answers (RFC 3261 section 9.1). Its `Reason` is the received
    /// CANCEL's, else that of the final reply that ends the transaction (`cause`, or the one
    /// sent upstream), as Kamailio's. Lock held.
    func cancel(_ tx: Transaction, _ b: ClientBranch, cause: Int? = nil) {
        guard tx.isInvite, !b.isFinal, !b.cancelSent else { return }
        guard b.lastCode >= 100 else {
            b.cancelPending = true
            tx.stop(b.retransmission)
            return
        }
        b.cancelSent = true
        let localCause = cause ?? (tx.lastReplyCode >= 200 ? tx.lastReplyCode : nil)
        let reason = tx.cancelReason ?? localCause.map { LocalMessages.localCancelReason(cause: $0) }
        guard let bytes = LocalMessages.cancel(tx, for: b, reason: reason, settings.hopByHop) else { return }
        tx.send(OutboundMessage(bytes: bytes, destination: b.destination, kind: .request), context: nil)
        retransmitCancel(tx, b, bytes)
    }

    /// `t_relay()` of a CANCEL whose INVITE transaction exists: 200 to the CANCEL, CANCEL on
    /// every pending branch; the INVITE ends with the branches' 487 (Kamailio's `e2e_cancel`).
    private func cancelInvite(_ ctx: MessageContext, _ invite: Transaction) -> Int {
        switch transaction(for: ctx) {
        case .refused:
            return 0
        case .existing(let tx):
            absorbRetransmission(tx)
            return 0
        case .created(let tx):
            // Nothing went out to cancel (no branch, or only t_suspend's placeholder): 487 now.
            let terminated = invite.locked { terminateUnforwarded(invite) }
            tx.locked {
                let reason = terminated ? "ok -- no more pending branches" : "canceling"
                if let ok = LocalMessages.reply(tx, code: 200, reason: reason) {
                    stats.add(.local)
                    sendUpstream(tx, ok, code: 200)
                }
            }
            if terminated {
                TMThreadState.thread.current = nil
                return 1
            }
        }
        TMThreadState.thread.current = nil
        invite.locked {
            guard invite.lastReplyCode < 200 else { return }
            invite.canceled = true
            if settings.e2eCancelReason, invite.noE2ECancelReason != true,
                let r = ctx.message.firstHeader(named: "Reason")
            {
                invite.cancelReason = ctx.message.buffer.tmText(r.valueRange)
            }
            for b in invite.pendingBranches { cancel(invite, b) }
        }
        return 1
    }
}

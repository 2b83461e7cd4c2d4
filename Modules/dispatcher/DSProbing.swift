import SwiftletSDK

/// What `$dsv(code)`, `$dsv(reason)` and `$dsv(flags)` show in `event_route[dispatcher:*]`
/// (Kamailio's `ds_rctx_t`): the reply that changed the state (flags 1 when there was a
/// received reply), or 800/810/820 when the state was set from the script.
struct DSReplyContext: Sendable {
    var flags = 0
    var code = 0
    var reason = ""
}

/// Destination states: `ds_mark_dst`, the probes' replies, the RPCs, and the
/// `dispatcher:dst-down`/`dst-up` event routes (Kamailio's `ds_update_state`,
/// `ds_options_callback`, `ds_ping_set`).
extension DispatcherModule {
    /// Kamailio's `ds_update_state`: sets `state` for `uri` of `group`, counting failed probes
    /// up to `ds_probing_threshold` and replies of an inactive one up to
    /// `ds_inactive_threshold`; runs the event route when it goes down or up. 0, or -1 when the
    /// set or address is unknown.
    @discardableResult
    func updateState(_ ctx: MessageContext?, group: Int, uri: String, state requested: Int, reply: DSReplyContext)
        -> Int
    {
        let probing = settings.probingThreshold
        let inactive = settings.inactiveThreshold
        let change: (old: Int, new: Int)? = list.withLock { list -> (Int, Int)? in
            guard let p = list.position(of: group), let i = list.sets[p].index(of: uri) else { return nil }
            var d = list.sets[p].destinations[i]
            let old = d.flags
            var state = requested
            d.flags &= ~DSState.all
            if state & DSState.trying != 0 && old & DSState.inactive != 0 {
                state &= ~DSState.trying
                state |= DSState.inactive
            }
            if state & DSState.disabled != 0 { d.flags |= DSState.disabled } else { d.flags |= state }
            if state & DSState.trying != 0 {
                d.messageCount += 1
                if d.messageCount >= probing {
                    d.flags &= ~DSState.trying
                    d.flags |= DSState.inactive
                    d.messageCount = 0
                }
            } else if requested & DSState.trying == 0 && old & DSState.inactive != 0 {
                d.messageCount += 1
                if d.messageCount < inactive {
                    d.flags |= DSState.inactive
                    if old & DSState.probing != 0 { d.flags |= DSState.probing }
                } else {
                    d.messageCount = 0
                }
            } else {
                d.messageCount = 0
            }
            list.sets[p].destinations[i] = d
            if d.attrs.rweight > 0 && DSState.skipped(old) != DSState.skipped(d.flags) {
                list.sets[p].initRelativeWeights()
            }
            return (old, d.flags)
        }
        guard let change else {
            if list.withLock({ $0.position(of: group) }) == nil {
                Log.error("dispatcher", "destination set [\(group)] not found")
            }
            return -1
        }
        if !DSState.skipped(change.old) && DSState.skipped(change.new) {
            runEventRoute("dispatcher:dst-down", ctx, uri: uri, reply: reply)
        } else if DSState.skipped(change.old) && !DSState.skipped(change.new) {
            runEventRoute("dispatcher:dst-up", ctx, uri: uri, reply: reply)
        }
        return 0
    }

    /// Kamailio's `ds_reinit_state` / `ds_reinit_duid_state` / `ds_reinit_state_all`: sets the
    /// state bits without thresholds or event routes.
    func reinitState(group: Int, uri: String?, duid: String?, state: Int) -> Bool {
        list.withLock { list -> Bool in
            guard let p = list.position(of: group) else {
                Log.error("dispatcher", "destination set [\(group)] not found")
                return false
            }
            var indexes: [Int]
            if let uri {
                indexes = list.sets[p].index(of: uri).map { [$0] } ?? []
            } else if let duid {
                indexes = list.sets[p].index(duid: duid).map { [$0] } ?? []
            } else {
                indexes = Array(list.sets[p].destinations.indices)
            }
            guard !indexes.isEmpty else {
                Log.error("dispatcher", "destination address [\(group) : \(uri ?? duid ?? "")] not found")
                return false
            }
            var reweight = false
            for i in indexes {
                let old = list.sets[p].destinations[i].flags
                list.sets[p].destinations[i].flags = (old & ~DSState.all) | state
                if list.sets[p].destinations[i].attrs.rweight > 0 && DSState.skipped(old) != DSState.skipped(state) {
                    reweight = true
                }
            }
            if reweight { list.sets[p].initRelativeWeights() }
            return true
        }
    }

    /// Kamailio's `ds_get_state`: the flags of `uri` in `group`, 0 when unknown.
    func flags(group: Int, uri: String) -> Int {
        list.withLock { list in
            guard let p = list.position(of: group), let i = list.sets[p].index(of: uri) else { return 0 }
            return list.sets[p].destinations[i].flags
        }
    }

    /// Kamailio's `ds_run_route`: the event route runs as a request route on the message, or
    /// on a faked one whose Request-URI is the destination when there is none.
    func runEventRoute(_ name: String, _ ctx: MessageContext?, uri: String, reply: DSReplyContext) {
        guard let routes = core.routes, routes.eventRouteNames.contains(name) else { return }
        let target: MessageContext
        if let ctx {
            target = ctx
        } else {
            target = MessageContext.faked(core: core)
            target.newRequestURI = uri
        }
        let id = ObjectIdentifier(target)
        replyContexts.withLock { $0[id] = reply }
        let saved = target.routeType
        _ = routes.runEventRoute(name, target, as: .request)
        target.routeType = saved
        replyContexts.withLock { _ = $0.removeValue(forKey: id) }
    }

    /// `$dsv(code|reason|flags)`.
    var dsvClass: PseudoVariableClass {
        PseudoVariableClass("dsv") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            let key = pv.inner ?? ""
            guard ["code", "reason", "flags"].contains(key) else { throw FixupError("unknown PV key: \(key)") }
            return PseudoVariable(text: pv.text) { ctx in
                guard let r = self.replyContexts.withLock({ $0[ObjectIdentifier(ctx)] }) else { return .null }
                switch key {
                case "code": return .int(r.code)
                case "flags": return .int(r.flags)
                default: return r.reason.isEmpty ? .null : .string(r.reason)
                }
            }
        }
    }

    /// Kamailio's `ds_check_timer` + `ds_ping_set`: an OPTIONS (`ds_ping_method`) to each
    /// destination `ds_probing_mode` selects, not to disabled ones.
    func pingTimer() {
        guard pingActive.load(ordering: .relaxed) != 0 else {
            Log.debug("dispatcher", "pinging destinations is inactive by admin")
            return
        }
        let mode = settings.probingMode
        let now = core.timers.ticks
        let targets: [(group: Int, dest: DSDestination)] = list.withLock { list in
            var out: [(Int, DSDestination)] = []
            for p in list.sets.indices {
                for i in list.sets[p].destinations.indices {
                    let d = list.sets[p].destinations[i]
                    if d.flags & DSState.disabled != 0 { continue }
                    let probe =
                        mode == 1 || (mode != 2 && d.flags & DSState.probing != 0)
                        || (mode == 2 && d.flags & DSState.probing != 0 && d.flags & DSState.inactive != 0)
                    guard probe else { continue }
                    list.sets[p].destinations[i].latency.start = now
                    out.append((list.sets[p].id, d))
                }
            }
            return out
        }
        for t in targets { ping(group: t.group, t.dest) }
    }

    func ping(group: Int, _ d: DSDestination) {
        guard let tmUAC else { return }
        var socket: ListeningSocket? = nil
        if !d.attrs.sockname.isEmpty {
            socket = sockets.find(name: d.attrs.sockname)
        } else if !d.attrs.socket.isEmpty, let p = ProtoHostPort(d.attrs.socket) {
            socket = sockets.find(host: p.host, port: p.port, proto: p.proto)
        } else {
            socket = defaultSocket
        }
        let from = d.attrs.pingFrom.isEmpty ? settings.pingFrom : d.attrs.pingFrom
        let obproxy = d.attrs.obproxy.isEmpty ? settings.outboundProxy : d.attrs.obproxy
        let request = LocalRequest(
            method: settings.pingMethod, requestURI: d.uri, nextHop: obproxy.isEmpty ? nil : obproxy,
            sendSocket: socket, from: from, to: d.uri)
        let uri = d.uri
        let sent = tmUAC.sendRequest(request) { reply in
            guard reply.isFinal else { return }
            self.probeCompleted(group: group, uri: uri, reply: reply)
        }
        if case .failure(let error) = sent {
            Log.error("dispatcher", "unable to ping [\(uri)] in group [\(group)]: \(error)")
            var state = DSState.trying
            if settings.probingMode != 0 { state |= DSState.probing }
            if flags(group: group, uri: uri) & DSState.disabled == 0 {
                updateState(
                    nil, group: group, uri: uri, state: state,
                    reply: DSReplyContext(flags: 0, code: 500, reason: "Sending keepalive failed"))
            }
        }
    }

    /// Kamailio's `ds_options_callback`: a 2xx (or a code of `ds_ping_reply_codes`) makes the
    /// destination active (probing kept with mode 1 or when flagged), anything else trying.
    func probeCompleted(group: Int, uri: String, reply: LocalReply) {
        if settings.pingLatencyStats != 0 { updateLatency(group: group, uri: uri, code: reply.code) }
        var rctx = DSReplyContext(code: reply.code)
        if reply.message != nil {
            rctx.flags = 1
            rctx.reason = reply.reason
        }
        let current = flags(group: group, uri: uri)
        if settings.probingMode == 3 && current & DSState.probing == 0 { return }
        guard current & DSState.disabled == 0 else { return }
        if (200...299).contains(reply.code) || acceptsReplyCode(reply.code) {
            var state = 0
            if settings.probingMode == 1 || (settings.probingMode == 3 && current & DSState.probing != 0) {
                state |= DSState.probing
            }
            if updateState(nil, group: group, uri: uri, state: state, reply: rctx) != 0 {
                Log.error("dispatcher", "Setting the state failed (\(uri), group \(group))")
            }
        } else {
            var state = DSState.trying
            if settings.probingMode != 0 { state |= DSState.probing }
            if updateState(nil, group: group, uri: uri, state: state, reply: rctx) != 0 {
                Log.error("dispatcher", "Setting the probing state failed (\(uri), group \(group))")
            }
        }
    }

    /// Kamailio's `ds_update_latency`: the probed destination's latency statistics; with
    /// `cc=1` destinations of a set, the `rweight`s follow the congestion (estimate above
    /// average) and, when every one is congested, the share of the congestion.
    func updateLatency(group: Int, uri: String, code: Int) {
        let now = core.timers.ticks
        let alpha = self.alpha
        list.withLock { list in
            guard let p = list.position(of: group) else { return }
            var set = list.sets[p]
            defer { list.sets[p] = set }
            let lower = uri.lowercased()
            var ccEnabled = true
            var congested = 0
            var normal = 0
            var totalCongestion = 0
            var applyRweights = false
            func activeWeight(_ d: DSDestination) -> Int {
                guard d.attrs.weight > 0 else { return 0 }
                let congestion = max(Int(d.latency.estimate - d.latency.average), 0)
                totalCongestion += congestion
                let w = max(d.attrs.weight - congestion, 0)
                if w == 0 { congested += 1 } else { normal += 1 }
                return w
            }
            for i in set.destinations.indices {
                var d = set.destinations[i]
                if d.uri.lowercased() == lower {
                    guard d.flags & DSState.probing != 0 else { continue }
                    if code == 408 { d.latency.timeout += 1 }
                    let ms = Int((now &- d.latency.start) * 1000 / UInt64(Timers.ticksPerSecond))
                    if code != 408 { d.latency.update(ms, alpha: alpha) }
                    if d.attrs.congestionControl != 0 && d.attrs.weight > 0 {
                        let w = activeWeight(d)
                        if d.attrs.rweight != w {
                            applyRweights = true
                            d.attrs.rweight = w
                        }
                    }
                    set.destinations[i] = d
                } else if d.attrs.congestionControl != 0 && d.attrs.weight > 0 {
                    _ = activeWeight(d)
                }
                if d.attrs.congestionControl == 0 { ccEnabled = false }
            }
            if ccEnabled && congested > 1 && normal == 0 {
                for i in set.destinations.indices {
                    let d = set.destinations[i]
                    let congestion = Int(d.latency.estimate - d.latency.average)
                    let w = (totalCongestion << 4) / (congestion != 0 ? congestion : 1)
                    if d.attrs.rweight != w {
                        applyRweights = true
                        set.destinations[i].attrs.rweight = w
                    }
                }
            }
            if ccEnabled && applyRweights { set.initRelativeWeights() }
        }
    }
}

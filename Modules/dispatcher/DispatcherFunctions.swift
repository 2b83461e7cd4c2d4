import SwiftletSDK

/// The script functions with Kamailio's names, parameters, routes and return codes.
extension DispatcherModule {
    var selectFunctions: [ScriptFunction] {
        func selector(_ name: String, _ count: Int, _ routes: RouteTypes, _ mode: DSUpdateMode) -> ScriptFunction {
            ScriptFunction(name, parameters: count, routes: routes) { (args: [ScriptArgument]) throws(FixupError) in
                let set = try args[0].intParameter()
                let alg = try args[1].intParameter()
                let limit = count == 3 ? try args[2].intParameter() : nil
                return { ctx in
                    guard let s = set.value(ctx) else {
                        Log.error("dispatcher", "unable to get destination set")
                        return -1
                    }
                    guard let a = alg.value(ctx) else {
                        Log.error("dispatcher", "unable to get algorithm")
                        return -1
                    }
                    var l = -1
                    if let limit {
                        guard let v = limit.value(ctx) else {
                            Log.error("dispatcher", "unable to get dst number limit")
                            return -1
                        }
                        l = v
                    }
                    return self.select(ctx, set: s, alg: a, limit: l, mode: mode)
                }
            }
        }
        func routesFunction(_ count: Int) -> ScriptFunction {
            ScriptFunction("ds_select_routes", parameters: count, routes: [.request, .failure]) {
                (args: [ScriptArgument]) throws(FixupError) in
                let rules = try args[0].stringFormat()
                let mode = try args[1].stringFormat()
                let limit = count == 3 ? try args[2].intParameter() : nil
                return { ctx in
                    var l = 0
                    if let limit {
                        guard let v = limit.value(ctx) else {
                            Log.error("dispatcher", "failed to get limit parameter")
                            return -1
                        }
                        l = v
                    }
                    return self.selectRoutes(ctx, rules: rules.render(ctx), mode: mode.render(ctx), limit: l)
                }
            }
        }
        func update(_ name: String, next: Bool, _ mode: DSUpdateMode) -> ScriptFunction {
            ScriptFunction(name, parameters: 0, routes: [.request, .failure]) {
                (_: [ScriptArgument]) throws(FixupError) in
                self.warnFixup()
                return { ctx in self.updateDestination(ctx, next: next, mode: mode) }
            }
        }
        let rf: RouteTypes = [.request, .failure]
        return [
            selector("ds_select", 2, .any, .xavp), selector("ds_select", 3, rf, .xavp),
            selector("ds_select_dst", 2, rf, .destinationURI), selector("ds_select_dst", 3, rf, .destinationURI),
            selector("ds_select_domain", 2, rf, .requestURI), selector("ds_select_domain", 3, rf, .requestURI),
            routesFunction(2), routesFunction(3),
            update("ds_next_dst", next: true, .destinationURI), update("ds_next_domain", next: true, .requestURI),
            update("ds_set_dst", next: false, .destinationURI), update("ds_set_domain", next: false, .requestURI),
        ]
    }

    /// Kamailio's `ds_warn_fixup`.
    func warnFixup() {
        if settings.xavpDst.isEmpty || settings.xavpCtx.isEmpty {
            Log.error(
                "dispatcher", "failover functions used, but required XAVP parameters are NULL -- feature disabled")
        }
    }

    var stateFunctions: [ScriptFunction] {
        let mark: RouteTypes = [.request, .failure, .onReply]
        func setParameter(_ args: [ScriptArgument], _ i: Int) throws(FixupError) -> IntParameter {
            try args[i].intParameter()
        }
        return [
            ScriptFunction("ds_mark_dst", parameters: 0, routes: mark) { (_: [ScriptArgument]) throws(FixupError) in
                self.warnFixup()
                return { ctx in
                    var state = DSState.inactive
                    if self.settings.probingMode == 1 { state |= DSState.probing }
                    return self.markDestination(ctx, state: state)
                }
            },
            ScriptFunction("ds_mark_dst", parameters: 1, routes: mark) { (args: [ScriptArgument]) throws(FixupError) in
                self.warnFixup()
                let text = try args[0].constantString()
                return { ctx in
                    if text.isEmpty {
                        var state = DSState.inactive
                        if self.settings.probingMode == 1 { state |= DSState.probing }
                        return self.markDestination(ctx, state: state)
                    }
                    let state = DSState.parse(text)
                    guard state >= 0 else {
                        Log.warning("dispatcher", "Failed to parse state flags: \(text)")
                        return -1
                    }
                    return self.markDestination(ctx, state: state)
                }
            },
            ScriptFunction("ds_is_from_list", parameters: 0, routes: [.request, .failure, .onReply, .branch]) {
                (_: [ScriptArgument]) throws(FixupError) in
                { ctx in self.isFromList(ctx, group: -1, uri: nil, mode: 2) }
            },
            ScriptFunction("ds_is_from_list", parameters: 1...3, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) in
                let group = try setParameter(args, 0)
                let mode = args.count > 1 ? try setParameter(args, 1) : nil
                let uri = args.count > 2 ? try args[2].stringFormat() : nil
                return { ctx in
                    guard let g = group.value(ctx) else {
                        Log.error("dispatcher", "cannot get set id value")
                        return -1
                    }
                    var m = 2
                    if let mode {
                        guard let v = mode.value(ctx) else {
                            Log.error("dispatcher", "cannot get mode value")
                            return -1
                        }
                        m = v
                    }
                    return self.isFromList(ctx, group: g, uri: uri?.render(ctx), mode: m)
                }
            },
            listExists("ds_list_exist"), listExists("ds_list_exists"),
            ScriptFunction("ds_load_unset", parameters: 0, routes: .any) { (_: [ScriptArgument]) throws(FixupError) in
                { ctx in self.loadUnset(ctx) }
            },
            ScriptFunction("ds_load_update", parameters: 0, routes: .any) { (_: [ScriptArgument]) throws(FixupError) in
                { ctx in self.loadUpdate(ctx) }
            },
            ScriptFunction("ds_is_active", parameters: 1...2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) in
                let group = try setParameter(args, 0)
                let uri = args.count > 1 ? try args[1].stringFormat() : nil
                return { ctx in
                    guard let g = group.value(ctx) else {
                        Log.error("dispatcher", "cannot get set id value")
                        return -1
                    }
                    return self.isActive(group: g, uri: uri?.render(ctx))
                }
            },
            ScriptFunction("ds_reload", parameters: 0, routes: .any) { (_: [ScriptArgument]) throws(FixupError) in
                { _ in
                    if case .failure = self.reload() { return -1 }
                    return 1
                }
            },
        ]
    }

    func listExists(_ name: String) -> ScriptFunction {
        ScriptFunction(name, parameters: 1, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
            let set = try args[0].intParameter()
            return { ctx in
                guard let s = set.value(ctx) else {
                    Log.error("dispatcher", "cannot get set id param value")
                    return -2
                }
                return self.list.withLock { $0.position(of: s) } != nil ? 1 : -1
            }
        }
    }

    /// Kamailio's `ds_update_dst`: the first record (`ds_set_dst`) or, dropping it, the next
    /// one (`ds_next_dst`), into `$du` or the R-URI; with call load the call's load moves.
    func updateDestination(_ ctx: MessageContext, next: Bool, mode: DSUpdateMode) -> Int {
        if next && (!settings.failover || settings.xavpDst.isEmpty) {
            Log.warning("dispatcher", "failover support disabled")
            return -1
        }
        let name = settings.xavpDst
        while true {
            guard var i = ctx.xavps.firstIndex(where: { $0.name == name }), case .list = ctx.xavps[i].value else {
                return -1
            }
            if next {
                ctx.xavps.remove(at: i)
                guard let j = ctx.xavps.firstIndex(where: { $0.name == name }), case .list = ctx.xavps[j].value else {
                    return -1
                }
                i = j
            }
            guard case .list(let fields) = ctx.xavps[i].value else { return -1 }
            func field(_ n: String) -> XAVP.Value? { fields.first { $0.name == n }?.value }
            var socket: ListeningSocket? = nil
            if case .string(let s) = field("sock") { socket = sockets.find(listen: s) }
            guard case .string(let uri) = field("uri") else {
                Log.warning("dispatcher", "no xavp uri field in next destination record")
                return -1
            }
            guard push(ctx, uri, socket, mode) else {
                Log.error("dispatcher", "cannot set dst addr: \(uri)")
                return -1
            }
            guard next, case .string(let duid) = field("dstid") else { return 1 }
            switch replaceLoad(ctx, duid: duid) {
            case 0: return 1
            case -2:
                Log.error("dispatcher", "cannot update load with \(duid), skipping dst.")
                continue
            default:
                Log.error("dispatcher", "cannot update load distribution")
                return -1
            }
        }
    }

    /// Kamailio's `ds_mark_dst`: the state of the first record's destination; the event
    /// routes see code 820 for a request, the reply's code and reason for a reply.
    func markDestination(_ ctx: MessageContext, state: Int) -> Int {
        guard settings.failover else {
            Log.warning("dispatcher", "failover support disabled")
            return -1
        }
        guard !settings.xavpDst.isEmpty else {
            Log.warning("dispatcher", "no xavp name to store dst records")
            return -1
        }
        guard let root = ctx.xavps.first(where: { $0.name == settings.xavpDst }), case .list(let fields) = root.value,
            case .int(let group)? = fields.first(where: { $0.name == "grp" })?.value,
            case .string(let uri)? = fields.first(where: { $0.name == "uri" })?.value
        else { return -1 }
        var rctx = DSReplyContext(code: 820)
        if let code = ctx.message.statusCode {
            rctx.flags = 1
            rctx.code = code
            if case .response(_, let r) = ctx.message.firstLine { rctx.reason = DSHash.text(ctx.message.buffer, r) }
        }
        return updateState(ctx, group: group, uri: uri, state: state, reply: rctx) == 0 ? 1 : -1
    }

    /// Kamailio's `ds_is_addr_from_list`: the source address (or `uri`'s) against the
    /// destinations' resolved addresses; mode 1 ignores the port, 2 the protocol, 4 skips
    /// inactive ones. With group -1 every set is tried and `setid_pvname` gets the set.
    func isFromList(_ ctx: MessageContext, group: Int, uri: String?, mode: Int) -> Int {
        let address: SocketAddress
        let port: Int
        let proto: TransportProtocol?
        if let uri, !uri.isEmpty {
            guard let u = SIPURI(uri), u.scheme != "tel" else {
                Log.error("dispatcher", "bad uri [\(uri)]")
                return -1
            }
            var host = u.host
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard let a = SocketAddress(numericHost: host, port: 0) ?? (try? NextHop.resolve(host, port: 0)) else {
                Log.error("dispatcher", "could not resolve \(u.host)")
                return -1
            }
            address = a
            port = u.port ?? 0
            proto = u.parameter("transport").flatMap(NextHop.transport(named:))
        } else {
            address = ctx.receive.source
            port = ctx.receive.sourcePort
            proto = ctx.receive.proto
        }
        let ip = address.ipString
        let always = settings.dnsMode & 2 != 0
        let srv = dnsSRV
        // Without ds_dns_mode 2 the stored addresses are compared under the lock; with it each
        // host is resolved again, outside the lock (on a copy of the sets).
        let match: (set: Int, attrs: String)? =
            list.withLock { list -> (Int, String)? in
                let sets = group == -1 ? list.sets : list.position(of: group).map { [list.sets[$0]] } ?? []
                return always ? nil : Self.match(sets, address, ip, port, proto, mode)
            } ?? (always ? resolvedMatch(group: group, address, ip, port, proto, mode, srv: srv) : nil)
        guard let match else { return -1 }
        if group == -1, let setidPV, setidPV.set?(ctx, .int(match.set)) == false {
            Log.error("dispatcher", "setting PV failed")
            return -2
        }
        if let attrsPV, !match.attrs.isEmpty, attrsPV.set?(ctx, .string(match.attrs)) == false {
            Log.error("dispatcher", "setting attrs pv failed")
            return -3
        }
        return 1
    }

    /// `ds_dns_mode` 2: the sets copied out of the lock, each destination's host resolved now.
    func resolvedMatch(
        group: Int, _ address: SocketAddress, _ ip: String, _ port: Int, _ proto: TransportProtocol?, _ mode: Int,
        srv: Bool
    ) -> (set: Int, attrs: String)? {
        var sets = list.withLock { list in
            group == -1 ? list.sets : list.position(of: group).map { [list.sets[$0]] } ?? []
        }
        for s in sets.indices {
            for i in sets[s].destinations.indices {
                let d = sets[s].destinations[i]
                guard d.flags & DSState.noDNSResolve == 0,
                    let r = DSDNS.resolve(host: d.host, port: d.port, proto: d.proto, srv: srv)
                else {
                    sets[s].destinations[i].address = nil
                    continue
                }
                sets[s].destinations[i].address = r.address
                sets[s].destinations[i].port = r.port
                sets[s].destinations[i].proto = r.proto
            }
        }
        return Self.match(sets, address, ip, port, proto, mode)
    }

    /// Kamailio's `ds_is_addr_from_set` over `sets`: the first destination whose address
    /// (and port and protocol, unless `mode` says otherwise) is the source's.
    static func match(
        _ sets: [DSSet], _ address: SocketAddress, _ ip: String, _ port: Int, _ proto: TransportProtocol?, _ mode: Int
    ) -> (set: Int, attrs: String)? {
        for s in sets {
            for d in s.destinations {
                guard let a = d.address, a.family == address.family, a.ipString == ip else { continue }
                guard mode & 1 != 0 || d.port == 0 || port == d.port else { continue }
                guard mode & 2 != 0 || proto == d.proto else { continue }
                guard mode & 4 == 0 || !DSState.skipped(d.flags) else { continue }
                return (s.id, d.attrs.body)
            }
        }
        return nil
    }

    /// Kamailio's `ds_is_active_uri`: an active destination in `group` (with exactly `uri`).
    func isActive(group: Int, uri: String?) -> Int {
        list.withLock { list in
            guard let p = list.position(of: group) else { return -1 }
            for d in list.sets[p].destinations where !DSState.skipped(d.flags) {
                if uri == nil || uri!.isEmpty || d.uri == uri { return 1 }
            }
            return -1
        }
    }
}

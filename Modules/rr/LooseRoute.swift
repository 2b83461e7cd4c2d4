import SwiftletSDK

/// `loose_route()` return values (Kamailio's `RR_*`).
enum RouteStatus {
    /// The next hop comes from the route set.
    static let driven = 1
    static let error = -1
    /// After a strict router: nothing left after our double Route.
    static let notDriven = -1
    /// A preloaded route set (no To tag) held only this server.
    static let preloaded = -3
}

/// The deletions one `loose_route()` makes, applied together: Kamailio's lumps may overlap
/// (it merges them when building), the message editor's may not.
struct RouteDeletions {
    /// The first deletion, kept inline (the usual case, our one Route line, allocates nothing).
    private var first: Range<Int>?
    private var more: [Range<Int>] = []

    mutating func delete(_ r: Range<Int>) {
        if first == nil {
            first = r
        } else {
            more.append(r)
        }
    }

    func apply(_ ctx: MessageContext) {
        guard let first else { return }
        if more.isEmpty {
            // The usual case (our one Route line): nothing to sort or merge.
            if !first.isEmpty { ctx.edits.delete(first) }
            return
        }
        let ranges = [first] + more
        var merged: [Range<Int>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, r.lowerBound < last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        for r in merged where !r.isEmpty { ctx.edits.delete(r) }
    }
}

/// Route processing (Kamailio's `loose.c`, RFC 3261 section 16.4): removes this server's
/// Route entries, sets `$du` from the next loose router, or handles strict routers (the
/// Request-URI becomes the next Route and the old one the last Route).
extension RRModule {
    /// Kamailio's `loose_route_mode()` without the callbacks (RRAPI.swift runs them).
    /// `ownParameters` is set when the top Route was found to be ours after a loose router
    /// (the parameters of that Route, what `routedParameters()` would find again).
    func looseRouteSteps(_ ctx: MessageContext, mode: Int, ownParameters: inout Range<Int>?) -> Int {
        var routes = RouteSet(ctx.message)
        guard !routes.isEmpty else {
            Log.debug("rr", "There is no Route HF")
            return -1
        }
        do {
            try routes.parseFirstField()
        } catch {
            Log.error("rr", "failed to parse Route HF")
            return -1
        }
        // The received Request-URI is parsed where it lies; one set by the script from its
        // text. Not an optional: an optional `RouteURI` is copied and destroyed through
        // generic value witnesses.
        let ruri: RouteURI
        do throws(SIPParseError) {
            if ctx.newRequestURI == nil, let r = ctx.message.requestURIRange {
                ruri = try RouteURI(ctx.message.buffer, r)
            } else if let text = ctx.requestURI {
                ruri = try RouteURI(text: text)
            } else {
                Log.error("rr", "failed to parse Request URI")
                return -1
            }
        } catch {
            Log.error("rr", "failed to parse Request URI")
            return -1
        }
        guard ctx.message.firstHeader(.to) != nil else {
            Log.error("rr", "To header field not found")
            return -1
        }
        var deletions = RouteDeletions()
        defer { deletions.apply(ctx) }
        // Only a state this message already has can hold a routed range (a new one starts
        // empty): none is made here, so a message that only routes takes no state.
        states.existing(ctx)?.routed = nil
        if !hasToTag(ctx) {
            return afterLoose(ctx, &routes, &deletions, preloaded: true, ownParameters: &ownParameters)
        }
        if mode == 0, isMyself(ctx, ruri) {
            return afterStrict(ctx, &routes, &deletions, states.state(ctx))
        }
        return afterLoose(ctx, &routes, &deletions, preloaded: false, ownParameters: &ownParameters)
    }

    /// The previous hop was a loose router (or the route set is preloaded).
    private func afterLoose(
        _ ctx: MessageContext, _ routes: inout RouteSet, _ deletions: inout RouteDeletions, preloaded: Bool,
        ownParameters: inout Range<Int>?
    ) -> Int {
        let b = ctx.message.buffer
        var pos = RouteSet.Position(field: 0, value: 0)
        do {
            var uri = try RouteURI(b, routes.entry(pos).uri)
            if isMyself(ctx, uri) {
                // Our top Route, read in place (no copy) until `uri` moves on to the next one.
                ownParameters = uri.parametersRange
                let double = enableDoubleRR != 0 && ParameterScan.isDoubleRoute(uri.parameters)
                if forceSendSocket != 0, !double { forceSocket(ctx, uri, secondRoute: false) }
                guard let next = try step(&routes, &deletions, from: pos) else {
                    return preloaded ? RouteStatus.preloaded : RouteStatus.driven
                }
                pos = next
                if double {
                    let second = try RouteURI(b, routes.entry(pos).uri)
                    forceSocket(ctx, second, secondRoute: true)
                    guard let next = try step(&routes, &deletions, from: pos) else {
                        return preloaded ? RouteStatus.preloaded : RouteStatus.driven
                    }
                    pos = next
                }
                uri = try RouteURI(b, routes.entry(pos).uri)
                ctx.internalFlags |= MessageFlag.routeAddress
            }
            if ParameterScan.isStrict(uri.parameters) {
                return try nextIsStrict(ctx, &routes, &deletions, pos, uri) ? RouteStatus.driven : RouteStatus.error
            }
            guard let target = uri.maddrTarget else { return RouteStatus.error }
            ctx.destinationURI = target
            if pos.value > 0 {
                // Our own entries before it in the same field go.
                deletions.delete(try routes.bodyStart(pos.field)..<routes.entry(pos).range.lowerBound)
            }
            return RouteStatus.driven
        } catch {
            Log.error("rr", "failed to parse the route URI: \(error)")
            return RouteStatus.error
        }
    }

    /// The previous hop was a strict router: the Request-URI is ours (Kamailio's `after_strict`).
    private func afterStrict(
        _ ctx: MessageContext, _ routes: inout RouteSet, _ deletions: inout RouteDeletions, _ state: MessageState
    ) -> Int {
        let b = ctx.message.buffer
        var pos = RouteSet.Position(field: 0, value: 0)
        do {
            var uri = try RouteURI(b, routes.entry(pos).uri)
            if enableDoubleRR != 0, ParameterScan.isDoubleRoute(uri.parameters), isMyself(ctx, uri) {
                // Our second Route names the socket to send from.
                if let s = findSocket(ctx, host: uri.host, port: uri.port, proto: uri.proto) {
                    ctx.forcedSendSocket = s
                } else if socketMismatchWarning != 0 {
                    Log.warning("rr", "no socket found for match second RR")
                }
                guard let next = try step(&routes, &deletions, from: pos) else { return RouteStatus.notDriven }
                pos = next
                uri = try RouteURI(b, routes.entry(pos).uri)
            }
            // Our parameters are those of the Request-URI (the received one).
            if ctx.newRequestURI == nil, let r = ctx.message.requestURIRange, let own = try? RouteURI(b, r) {
                state.routed = .requestURI(own.parametersRange)
            }
            if ParameterScan.isStrict(uri.parameters) {
                // Strict next hop too: behave as a strict router.
                guard let target = uri.maddrTarget else { return RouteStatus.error }
                ctx.newRequestURI = target
                if try routes.isLastInField(pos) {
                    deletions.delete(routes.line(pos.field))
                } else {
                    let next = try routes.values(pos.field)[pos.value + 1]
                    deletions.delete(routes.bodyStart(pos.field)..<next.range.lowerBound)
                }
                return RouteStatus.driven
            }
            guard let target = uri.maddrTarget else { return RouteStatus.error }
            ctx.destinationURI = target
            if pos.value > 0 {
                deletions.delete(try routes.bodyStart(pos.field)..<routes.entry(pos).range.lowerBound)
            }
            // The last Route is the remote target: it becomes the Request-URI.
            let lastField = routes.fieldCount - 1
            let values = try routes.values(lastField)
            let last = values[values.count - 1]
            guard let remote = try RouteURI(b, last.uri).maddrTarget else { return RouteStatus.error }
            ctx.newRequestURI = remote
            if values.count > 1 {
                deletions.delete(values[values.count - 2].range.upperBound..<last.range.upperBound)
            } else {
                deletions.delete(routes.line(lastField))
            }
            return RouteStatus.driven
        } catch {
            Log.error("rr", "failed to parse the route URI: \(error)")
            return RouteStatus.error
        }
    }

    /// The next hop is a strict router (Kamailio's `handle_sr`): the received Request-URI
    /// goes into a Route at the end of the header, the Route becomes the Request-URI and is
    /// removed (with our own entries before it in the same field).
    private func nextIsStrict(
        _ ctx: MessageContext, _ routes: inout RouteSet, _ deletions: inout RouteDeletions, _ pos: RouteSet.Position,
        _ uri: RouteURI
    ) throws(SIPParseError) -> Bool {
        ctx.edits.appendHeader("Route: <\(ctx.message.requestURI ?? "")>")
        guard let target = uri.maddrTarget else { return false }
        ctx.newRequestURI = target
        if try routes.isLastInField(pos) {
            deletions.delete(routes.line(pos.field))
        } else {
            let next = try routes.values(pos.field)[pos.value + 1]
            deletions.delete(routes.bodyStart(pos.field)..<next.range.lowerBound)
        }
        return true
    }

    /// Moves past the Route entry at `pos`: the next value of its field, or (the whole field
    /// deleted when `pos` was its last value) the first value of the next Route field; nil
    /// when there is none.
    private func step(_ routes: inout RouteSet, _ deletions: inout RouteDeletions, from pos: RouteSet.Position)
        throws(SIPParseError) -> RouteSet.Position?
    {
        guard try routes.isLastInField(pos) else { return RouteSet.Position(field: pos.field, value: pos.value + 1) }
        deletions.delete(routes.line(pos.field))
        return try routes.nextField(after: pos)
    }

    /// True when the To header has a non-empty tag (found as a range, no text made).
    private func hasToTag(_ ctx: MessageContext) -> Bool {
        guard let tag = ctx.toTagRange else { return false }
        return !tag.isEmpty
    }

    /// Kamailio's `is_myself()` for a Route or Request-URI: its host and port (5060 when
    /// none) are this server's, and it is not a GRUU (`gr` parameter).
    func isMyself(_ ctx: MessageContext, _ uri: RouteURI) -> Bool {
        let host = uri.host
        guard !host.isEmpty, ctx.core.isMyself(host, uri.port == 0 ? 5060 : uri.port) else { return false }
        return !uri.hasParameter("gr")
    }

    /// Kamailio's `rr_do_force_send_socket()`: the socket our Route names (by `;sn=` with
    /// `sockname_mode`, else by host, port and transport) becomes the send socket.
    private func forceSocket(_ ctx: MessageContext, _ uri: RouteURI, secondRoute: Bool) {
        if socknameMode != 0, let name = uri.parameter("sn"), !name.isEmpty {
            if let s = sockets(ctx).first(where: { $0.listen.name?.lowercased() == name.lowercased() }) {
                ctx.forcedSendSocket = s
                return
            }
            Log.debug("rr", "failed to find socket with name: \(name)")
        }
        let defaultPort = uri.proto == .tls ? 5061 : 5060
        if let s = findSocket(ctx, host: uri.host, port: uri.port != 0 ? uri.port : defaultPort, proto: uri.proto)
            ?? findSocket(ctx, host: uri.host, port: uri.port, proto: uri.proto)
        {
            ctx.forcedSendSocket = s
        } else if socketMismatchWarning != 0, secondRoute {
            Log.warning("rr", "no socket found to match second RR (\(uri.text))")
            if !isMyself(ctx, uri) { Log.warning("rr", "second RR uri is not myself (\(uri.text))") }
        } else {
            Log.debug("rr", "no socket found to match second RR (\(uri.text))")
        }
    }

    /// The listening sockets in Kamailio's order (UDP, TCP, TLS, SCTP; each as configured).
    private func sockets(_ ctx: MessageContext) -> [ListeningSocket] {
        let all = ctx.core.transport?.sockets ?? []
        return all.enumerated().sorted { ($0.element.protocolRank, $0.offset) < ($1.element.protocolRank, $1.offset) }
            .map(\.element)
    }

    /// Kamailio's `grep_sock_info`: the socket whose address, configured name or advertised
    /// address is `host`, on `port` (0: any; the advertised port matches too), over `proto`
    /// (nil: any).
    func findSocket(_ ctx: MessageContext, host: String, port: Int, proto: TransportProtocol?) -> ListeningSocket? {
        var name = Substring(host)
        if name.count > 2, name.hasPrefix("["), name.hasSuffix("]") { name = name.dropFirst().dropLast() }
        let wanted = name.lowercased()
        let wantedIP = IPAddressText.bytes(String(name))
        func same(_ other: String) -> Bool {
            if other.lowercased() == wanted { return true }
            guard let a = wantedIP, let b = IPAddressText.bytes(other) else { return false }
            return a == b
        }
        for s in sockets(ctx) {
            if let proto, s.proto != proto { continue }
            if port != 0, s.listen.port != port, s.listen.advertisedPort != port { continue }
            if same(s.listen.address) || same(s.address.ipString) { return s }
            if let a = s.listen.advertisedAddress, same(a) { return s }
        }
        return nil
    }
}

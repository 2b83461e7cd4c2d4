import SwiftletSDK

/// The parameters of this server's Route entry (Kamailio's `routed_params`) and what is read
/// from them: `check_route_param()`, `is_direction()` (the `ftag`), `$fti`, `$tti`, `$rdir`;
/// and `$route_uri`.
extension RRModule {
    /// Our Route parameters: those of the Request-URI when `loose_route()` found that a
    /// strict router put us there, else those of the top Route when it is this server
    /// (Kamailio's `redo_route_params`). The range is in the message buffer; `fromRoute`
    /// tells which (the top Route's include the `;` before them in `check_route_param`).
    func routedParameters(_ ctx: MessageContext) -> (range: Range<Int>, fromRoute: Bool)? {
        if case .requestURI(let r)? = states.existing(ctx)?.routed, !r.isEmpty { return (r, false) }
        // No Route header (an initial request's `record_route()` asks for the direction):
        // no route set is made.
        guard ctx.message.firstHeader(.route) != nil else { return nil }
        var routes = RouteSet(ctx.message)
        guard !routes.isEmpty, let top = try? routes.parseFirstField(),
            let uri = try? RouteURI(ctx.message.buffer, top.uri), isMyself(ctx, uri)
        else { return nil }
        return uri.parametersRange.isEmpty ? nil : (uri.parametersRange, true)
    }

    /// `check_route_param(re)`: 1 when our Route parameters match `re` (extended, any case).
    func fixupCheckRouteParam(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let text = try args[0].constantString()
        let re: POSIXRegex
        do {
            re = try POSIXRegex(text)
        } catch {
            throw FixupError(error.message, at: args[0].location)
        }
        return { ctx in
            guard let (range, fromRoute) = self.routedParameters(ctx) else { return -1 }
            let b = ctx.message.buffer
            // From the Route, the ';' before the first parameter is part of what is matched.
            let start = fromRoute && range.lowerBound > 0 && b[range.lowerBound - 1] == UInt8(ascii: ";")
            let params = b[(start ? range.lowerBound - 1 : range.lowerBound)..<range.upperBound]
            Log.debug("rr", "route params checking against [\(String(decoding: params, as: UTF8.self))]")
            return re.matches(params) ? 1 : -1
        }
    }

    /// `is_direction("downstream"|"upstream")`: the request flows from the caller
    /// (downstream: the From tag is our Route's `ftag`) or back (upstream). Needs
    /// `append_fromtag`.
    func fixupIsDirection(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        guard appendFromTag != 0 else {
            throw FixupError(
                "usage of \"is_direction\" function requires parameter\"append_fromtag\" enabled!!",
                at: args[0].location)
        }
        let name = try args[0].constantString()
        let wanted: Direction
        switch name.lowercased() {
        case "downstream": wanted = .downstream
        case "upstream": wanted = .upstream
        default: throw FixupError("unknown direction '\(name)'", at: args[0].location)
        }
        return { ctx in self.direction(ctx) == wanted ? 1 : -1 }
    }

    /// Kamailio's `is_direction()`: upstream when our Route's `ftag` is not the From tag;
    /// downstream when it is, or when either is missing. Computed once per message.
    func direction(_ ctx: MessageContext) -> Direction {
        let state = states.state(ctx)
        if let d = state.direction { return d }
        var d = Direction.downstream
        if let ftag = routeParameter(ctx, "ftag"), !ftag.isEmpty, let tag = ctx.message.fromTag, !tag.isEmpty,
            Array(tag.utf8) != ftag
        {
            d = .upstream
        }
        state.direction = d
        return d
    }

    /// Kamailio's `get_route_param()`: the value of our Route parameter `name` (case
    /// sensitive; quotes removed), [] for a parameter without a value, nil when absent. The
    /// scan is Kamailio's, quirks included (it gives up when fewer than `name` + 3 bytes
    /// are left).
    func routeParameter(_ ctx: MessageContext, _ name: String) -> [UInt8]? {
        guard let (range, _) = routedParameters(ctx) else { return nil }
        let b = ctx.message.buffer
        let n = Array(name.utf8)
        let start = range.lowerBound
        let end = range.upperBound
        var p = start
        func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 }
        func isQuote(_ c: UInt8) -> Bool { c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") }
        while end - p > n.count + 2 {
            if p != start {
                var quoted = false
                while p < end, !(b[p] == UInt8(ascii: ";") && !quoted) {
                    if isQuote(b[p]), b[p - 1] != UInt8(ascii: "\\") { quoted.toggle() }
                    p += 1
                }
                if p == end { return nil }
                p += 1
            }
            while p < end, isSpace(b[p]) { p += 1 }
            if end - p < n.count + 2 { return nil }
            if !b[p..<p + n.count].elementsEqual(n) {
                p += 1
                continue
            }
            p += n.count
            while p < end, isSpace(b[p]) { p += 1 }
            if p == end || b[p] == UInt8(ascii: ";") { return [] }
            let c = b[p]
            p += 1
            if c != UInt8(ascii: "=") { continue }
            while p < end, isSpace(b[p]) { p += 1 }
            if p == end { return nil }
            let valueStart: Int
            if isQuote(b[p]) {
                p += 1
                valueStart = p
                while p < end, !(isQuote(b[p]) && b[p - 1] != UInt8(ascii: "\\")) { p += 1 }
            } else {
                valueStart = p
                while p < end, b[p] != UInt8(ascii: ";"), !isSpace(b[p]) { p += 1 }
            }
            return Array(b[valueStart..<p])
        }
        return nil
    }

    // MARK: pseudo-variables

    /// `$route_uri`: the URI of the first Route entry; fails (xlog prints nothing) without one.
    func makeRouteURI(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard pv.inner == nil, pv.index == nil else { throw FixupError("$route_uri takes no name or index") }
        return PseudoVariable(
            text: pv.text,
            evaluate: { (ctx: MessageContext) -> PVValue? in
                var routes = RouteSet(ctx.message)
                guard !routes.isEmpty else {
                    Log.info("rr", "No route header present.")
                    return nil
                }
                guard let first = try? routes.parseFirstField() else {
                    Log.error("rr", "Error while parsing Route header")
                    return nil
                }
                return .string(String(decoding: ctx.message.buffer[first.uri], as: UTF8.self))
            })
    }

    /// `$fti` / `$tti`: the From / To tag as in the initial request: swapped for a request
    /// going upstream. Null when missing.
    func initialTag(_ ctx: MessageContext, from: Bool) -> PVValue {
        let useFrom = from != (direction(ctx) == .upstream)
        guard let tag = useFrom ? ctx.message.fromTag : ctx.message.toTag, !tag.isEmpty else { return .null }
        return .string(tag)
    }

    /// `$rdir(id)` (1 downstream, 2 upstream) and `$rdir(name)` (`downstream`, `upstream`).
    func makeDirection(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard pv.index == nil else { throw FixupError("$rdir takes no index") }
        let byName: Bool
        switch pv.inner {
        case "id"?: byName = false
        case "name"?: byName = true
        case nil: throw FixupError("pvar \"rdir\" expects an inner name")
        case let other?: throw FixupError("unknown PV af key: \(other)")
        }
        return PseudoVariable(text: pv.text) { ctx in
            let up = self.direction(ctx) == .upstream
            return byName ? .string(up ? "upstream" : "downstream") : .int(up ? 2 : 1)
        }
    }
}

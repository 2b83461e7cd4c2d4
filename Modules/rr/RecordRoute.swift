import SwiftletSDK

/// Record-Route insertion (Kamailio's `record.c`). Each header is a send-socket lump: its
/// bytes are made when the request is built for the socket it leaves from, because the
/// outbound address (and whether a second header is needed at all) is known only then. All
/// of them go before the first header line, in the order added (the outbound one on top),
/// above the Via the forwarding adds.
extension RRModule {
    // MARK: fixups

    /// `record_route([params])`: `params` (may hold PVs) goes after `;lr` and the `ftag`.
    func fixupRecordRoute(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let params = try args.first.map { (a: ScriptArgument) throws(FixupError) in try a.stringFormat() }
        return { ctx in
            guard ctx.internalFlags & MessageFlag.recordRouteAdded == 0 else {
                Log.error("rr", "Double attempt to record-route")
                return -1
            }
            guard self.recordRoute(ctx, params: params.map { Array($0.render(ctx).utf8) } ?? []) >= 0 else {
                return -1
            }
            // In a branch route the header belongs to the branch only (Kamailio).
            if ctx.routeType != .branch { ctx.internalFlags |= MessageFlag.recordRouteAdded }
            return 1
        }
    }

    /// `record_route_preset(addr[, addr2])`: one Record-Route (two with `addr2`) with the
    /// given address instead of a socket's.
    func fixupPreset(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let first = try args[0].stringFormat()
        let second = try args.count > 1 ? args[1].stringFormat() : nil
        return { ctx in
            guard ctx.internalFlags & MessageFlag.recordRouteAdded == 0 else {
                Log.error("rr", "Double attempt to record-route")
                return -1
            }
            if second != nil, self.enableDoubleRR == 0 {
                Log.error(
                    "rr", "Attempt to double record-route while 'enable_double_rr' param is disabled")
                return -1
            }
            guard self.recordRoutePreset(ctx, address: Array(first.render(ctx).utf8)) >= 0 else { return -1 }
            if let second {
                guard self.recordRoutePreset(ctx, address: Array(second.render(ctx).utf8)) >= 0 else { return -1 }
            }
            ctx.internalFlags |= MessageFlag.recordRouteAdded
            return 1
        }
    }

    /// `record_route_advertised_address(addr)`: Record-Route with `addr`; a second header
    /// (each with `;transport=`) when the request leaves over another protocol.
    func fixupAdvertised(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let address = try args[0].stringFormat()
        return { ctx in
            guard ctx.internalFlags & MessageFlag.recordRouteAdded == 0 else {
                Log.error("rr", "Double attempt to record-route")
                return -1
            }
            guard self.recordRouteAdvertised(ctx, address: Array(address.render(ctx).utf8)) >= 0 else { return -1 }
            ctx.internalFlags |= MessageFlag.recordRouteAdded
            return 1
        }
    }

    /// `add_rr_param(param)`: appends `param` to the Record-Route headers already added, or
    /// keeps it for the next `record_route*()` of this message.
    func fixupAddParam(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let param = try args[0].stringFormat()
        return { ctx in self.addParameter(ctx, Array(param.render(ctx).utf8)) }
    }

    // MARK: the functions

    /// Kamailio's `record_route()`: the outbound header (with `enable_double_rr`) then the
    /// inbound one. 0 on success, negative on failure.
    func recordRoute(_ ctx: MessageContext, params: [UInt8]) -> Int {
        guard let user = recordRouteUser(ctx) else { return -1 }
        guard let tag = recordRouteTag(ctx) else { return -2 }
        let state = states.state(ctx)
        let pending = state.pendingParameters
        let prefix = headerPrefix(ctx, user: user)
        var suffix: [UInt8] = []
        suffix.reserveCapacity(12 + tag.count + params.count + pending.count)
        Self.appendLiteral(enableFullLR != 0 ? ";lr=on" : ";lr", to: &suffix)
        if !tag.isEmpty {
            Self.appendLiteral(";ftag=", to: &suffix)
            suffix += tag
        }
        suffix += params
        suffix += pending
        let double = enableDoubleRR
        let sockname = socknameMode != 0
        // Room for both lumps at once; the passes counted, not listed (no array is made).
        let passes = double != 0 ? 2 : 1
        ctx.sendSocketLumps.reserveCapacity(ctx.sendSocketLumps.count + passes)
        for pass in 0..<passes {
            // What the lump writes is kept in the header object, the closure's one capture
            // (no context of its own is allocated for it).
            let header = InsertedRecordRoute(
                prefix: prefix, suffix: suffix, outbound: passes == 2 && pass == 0, doubleRR: double,
                sockname: sockname)
            state.inserted.append(header)
            addLump(ctx) { target, ctx in Self.recordRouteBytes(header, target, ctx) }
        }
        state.pendingParameters = []
        return 0
    }

    /// The bytes of `record_route()`'s `header` for the socket of `target`: [] when it was
    /// removed, or when it is the outbound one of a double pair and the realms are the same.
    static func recordRouteBytes(
        _ header: InsertedRecordRoute, _ target: SendSocketLump.Target, _ ctx: MessageContext
    ) -> [UInt8] {
        guard !header.removed else { return [] }
        let double = header.doubleRR
        let outbound = header.outbound
        let realms = double == 2 || differentRealms(ctx, target)
        if outbound, !realms { return [] }
        // One buffer (this runs for each request sent): room for the usual address, the
        // inbound one written into it in place (no array of its own).
        var out: [UInt8] = []
        out.reserveCapacity(header.prefix.count + 96 + header.suffix.count + header.laterParameters.count + 9)
        out += header.prefix
        if outbound {
            out += sendAddress(target, ctx, header.sockname)
        } else {
            appendReceiveAddress(ctx, header.sockname, to: &out)
        }
        if double != 0, realms { appendLiteral(";r2=on", to: &out) }
        out += header.suffix
        out += header.laterParameters
        appendLiteral(">\r\n", to: &out)
        return out
    }

    /// Kamailio's `record_route_preset()`: `<sip:[user@]addr[;ftag=..][params];lr>` (the From
    /// tag whatever the direction).
    func recordRoutePreset(_ ctx: MessageContext, address: [UInt8]) -> Int {
        guard let user = recordRouteUser(ctx) else { return -1 }
        var head = headerPrefix(ctx, user: user) + address
        if appendFromTag != 0 {
            guard (try? ctx.message.from()) != nil else {
                Log.error("rr", "From parsing failed")
                return -2
            }
            if let tag = ctx.message.fromTag, !tag.isEmpty { head += Array(";ftag=\(tag)".utf8) }
        }
        let state = states.state(ctx)
        head += state.pendingParameters
        let suffix = Array((enableFullLR != 0 ? ";lr=on" : ";lr").utf8)
        let header = InsertedRecordRoute()
        state.inserted.append(header)
        addLump(ctx) { _, _ in
            header.removed ? [] : head + suffix + header.laterParameters + Array(">\r\n".utf8)
        }
        return 1
    }

    /// Kamailio's `record_route_advertised_address()`: `<sip:[user@]addr` then, when the
    /// protocols differ, `;transport=<proto>` and `;r2=on`, then `;ftag=..;lr[params]>`.
    func recordRouteAdvertised(_ ctx: MessageContext, address: [UInt8]) -> Int {
        guard let user = recordRouteUser(ctx) else { return -1 }
        guard let tag = recordRouteTag(ctx) else { return -2 }
        let state = states.state(ctx)
        let head = headerPrefix(ctx, user: user) + address
        var suffix: [UInt8] = tag.isEmpty ? [] : Array(";ftag=".utf8) + tag
        suffix += Array((enableFullLR != 0 ? ";lr=on" : ";lr").utf8) + state.pendingParameters
        let double = enableDoubleRR
        for outbound in double != 0 ? [true, false] : [false] {
            let header = InsertedRecordRoute()
            state.inserted.append(header)
            addLump(ctx) { target, ctx in
                guard !header.removed else { return [] }
                let protos = double == 2 || Self.differentProtocols(ctx, target)
                if outbound, !protos { return [] }
                var out = head
                if protos {
                    out += Array(";transport=".utf8)
                    out += outbound ? Self.sendProtocol(target) : Self.receiveProtocol(ctx)
                    if double != 0, double == 2 || Self.differentRealms(ctx, target) { out += Array(";r2=on".utf8) }
                }
                return out + suffix + header.laterParameters + Array(">\r\n".utf8)
            }
        }
        return 1
    }

    /// Kamailio's `add_rr_param()`: 1, or -1 when the double header it expects is missing
    /// (the parameter is then in the first one only) or the pending buffer (512 bytes) is full.
    func addParameter(_ ctx: MessageContext, _ param: [UInt8]) -> Int {
        let state = states.state(ctx)
        let headers = state.inserted.filter { !$0.removed }
        if let first = headers.first {
            first.laterParameters += param
            if enableDoubleRR != 0 {
                guard headers.count > 1 else {
                    Log.log(.crit, "rr", "failed to locate double RR lump")
                    return -1
                }
                headers[1].laterParameters += param
            }
            return 1
        }
        guard state.pendingParameters.count + param.count <= 512 else {
            Log.error("rr", "maximum size of rr_param_buf exceeded")
            return -1
        }
        state.pendingParameters += param
        return 1
    }

    /// `remove_record_route()`: takes out the Record-Route headers this module added to the
    /// message. The flag that refuses a second `record_route()` stays set, as in Kamailio.
    func removeRecordRoute(_ ctx: MessageContext) -> Int {
        for h in states.existing(ctx)?.inserted ?? [] { h.removed = true }
        return 1
    }

    // MARK: pieces

    /// The header's bytes go in before the first header line (Kamailio anchors them at
    /// `msg->headers->name.s`).
    private func addLump(_ ctx: MessageContext, _ build: @escaping (SendSocketLump.Target, MessageContext) -> [UInt8]) {
        let offset = ctx.message.headers.first?.lineRange.lowerBound ?? ctx.message.headersEnd
        ctx.sendSocketLumps.append(SendSocketLump(offset: offset, build: build))
    }

    /// `Record-Route: <sip:` or `<sips:` (a `sips:` Request-URI, unless `ignore_sips`), then
    /// `user@` when there is a user.
    private func headerPrefix(_ ctx: MessageContext, user: String) -> [UInt8] {
        var sips = false
        if ignoreSips == 0 {
            // The received Request-URI where it lies; one set by the script from its text.
            // Only a URI whose scheme is `sips` needs parsing (whether it parses decides).
            if ctx.newRequestURI == nil, let r = ctx.message.requestURIRange {
                let b = ctx.message.buffer
                if Self.hasSIPSScheme(b, r) { sips = (try? RouteURI(b, r))?.isSIPS ?? false }
            } else if let ru = ctx.requestURI, let uri = try? RouteURI(text: ru) {
                sips = uri.isSIPS
            }
        }
        var p: [UInt8] = []
        Self.appendLiteral(sips ? "Record-Route: <sips:" : "Record-Route: <sip:", to: &p)
        if !user.isEmpty { p += Array((user + "@").utf8) }
        return p
    }

    /// True when the URI in `range` (after leading spaces, tabs, CRs and LFs, as
    /// `URIComponents.parse` trims them) starts with `sips:` in any case: the only URIs
    /// whose scheme parses as `sips` (the scheme is what comes before the first colon).
    static func hasSIPSScheme(_ b: [UInt8], _ range: Range<Int>) -> Bool {
        var i = range.lowerBound
        while i < range.upperBound, b[i] == 32 || b[i] == 9 || b[i] == 13 || b[i] == 10 { i += 1 }
        guard range.upperBound - i >= 5 else { return false }
        return b[i] | 0x20 == UInt8(ascii: "s") && b[i + 1] | 0x20 == UInt8(ascii: "i")
            && b[i + 2] | 0x20 == UInt8(ascii: "p") && b[i + 3] | 0x20 == UInt8(ascii: "s")
            && b[i + 4] == UInt8(ascii: ":")
    }

    /// The user part with `add_username`: the `custom_user_avp` value when set and not empty,
    /// else the Request-URI user (the received one, else the new one). "" without
    /// `add_username`; nil when the Request-URI does not parse.
    private func recordRouteUser(_ ctx: MessageContext) -> String? {
        guard addUsername != 0 else { return "" }
        if let pv = customUser {
            switch pv.value(ctx) {
            case .string(let s)? where !s.isEmpty: return s
            case .int(let i)?: return String(i)
            default: Log.debug("rr", "invalid AVP value, using default user from RURI")
            }
        }
        guard let received = ctx.message.requestURI, let uri = try? RouteURI(text: received) else {
            Log.error("rr", "failed to parse R-URI")
            Log.error("rr", "failed to extract username")
            return nil
        }
        if uri.user.isEmpty, let new = ctx.newRequestURI {
            guard let n = try? RouteURI(text: new) else {
                Log.error("rr", "failed to parse new_uri")
                Log.error("rr", "failed to extract username")
                return nil
            }
            return n.user
        }
        return uri.user
    }

    /// The `ftag` value: the From tag, or the To tag for a request going upstream; [] without
    /// `append_fromtag` or a tag; nil when the header does not parse.
    private func recordRouteTag(_ ctx: MessageContext) -> ArraySlice<UInt8>? {
        guard appendFromTag != 0 else { return [] }
        let upstream = direction(ctx) == .upstream
        let m = ctx.message
        // The tag found while the header is parsed (one scan, no text made), where it lies.
        var tag: Range<Int>? = nil
        guard let field = m.firstHeader(upstream ? .to : .from),
            (try? NameAddr.parse(m.buffer, field.valueRange, tag: &tag)) != nil
        else {
            Log.error("rr", upstream ? "To parsing failed" : "From parsing failed")
            return nil
        }
        return tag.map { m.buffer[$0] } ?? []
    }

    // MARK: addresses (the core's SUBST_* lumps)

    /// `SUBST_SND_ALL`: the sending socket's advertised address, else `set_advertised_address`,
    /// else its address; `:port` unless the socket's port is 5060 and no advertised port is
    /// used; `;transport=` for other protocols than UDP; `;sn=` with `sockname_mode`.
    static func sendAddress(_ target: SendSocketLump.Target, _ ctx: MessageContext, _ sockname: Bool) -> [UInt8] {
        let s = target.socket
        var out = bracketed(s.listen.advertisedAddress ?? ctx.advertisedAddress ?? s.address.ipString, s.isIPv6)
        let advertisedPort = s.listen.advertisedPort ?? ctx.advertisedPort
        if s.listen.port != 5060 || advertisedPort != nil { out += ":\(advertisedPort ?? s.listen.port)" }
        out += transportParameter(s.proto, ws: target.proto == .ws || target.proto == .wss)
        if sockname, let name = s.listen.name, !name.isEmpty { out += ";sn=" + name }
        return Array(out.utf8)
    }

    /// `SUBST_RCV_ALL`: the receiving socket's advertised or own address, its advertised or
    /// own port unless 5060, `;transport=`, `;sn=` (set_advertised_* do not apply).
    /// Appended to `out` as bytes (this runs for every Record-Route added): no strings are
    /// joined, no array of its own is made.
    static func appendReceiveAddress(_ ctx: MessageContext, _ sockname: Bool, to out: inout [UInt8]) {
        let r = ctx.receive
        if let s = r.socket {
            // The socket's address text is formatted once per socket (`addressText`).
            appendBracketed(s.listen.advertisedAddress ?? s.addressText, s.isIPv6, to: &out)
            let port = s.listen.advertisedPort ?? s.listen.port
            if port != 5060 { appendPort(port, to: &out) }
            appendTransportParameter(s.proto, ws: r.proto == .ws || r.proto == .wss, to: &out)
            if sockname, let name = s.listen.name, !name.isEmpty {
                appendUTF8(";sn=", to: &out)
                appendUTF8(name, to: &out)
            }
        } else {
            // A message without a socket (faked): its local address.
            appendBracketed(r.local.ipString, r.local.isIPv6, to: &out)
            if r.local.port != 5060 { appendPort(r.local.port, to: &out) }
            appendTransportParameter(r.proto, ws: false, to: &out)
        }
    }

    /// `bracketed(_:_:)` appended as bytes.
    private static func appendBracketed(_ host: String, _ ipv6: Bool, to out: inout [UInt8]) {
        if ipv6 && !host.hasPrefix("[") && host.contains(":") {
            out.append(UInt8(ascii: "["))
            appendUTF8(host, to: &out)
            out.append(UInt8(ascii: "]"))
        } else {
            appendUTF8(host, to: &out)
        }
    }

    /// `:<port>` in decimal.
    private static func appendPort(_ port: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: ":"))
        guard port >= 0 else { return appendUTF8(String(port), to: &out) }
        // The digits written directly (no string is made for the number).
        var digits = 1
        var v = port
        while v >= 10 {
            v /= 10
            digits += 1
        }
        let start = out.count
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        v = port
        for k in stride(from: start + digits - 1, through: start, by: -1) {
            out[k] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
        }
    }

    /// `transportParameter(_:ws:)` appended as bytes.
    private static func appendTransportParameter(_ proto: TransportProtocol, ws: Bool, to out: inout [UInt8]) {
        guard proto != .udp else { return }
        appendUTF8(";transport=", to: &out)
        appendUTF8(protocolName(proto, ws: ws), to: &out)
    }

    /// The bytes of a literal, copied at once (appending a string's `utf8` view costs more).
    static func appendLiteral(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// The UTF-8 bytes of `text`, copied at once.
    private static func appendUTF8(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    /// `SUBST_SND_PROTO`: `udp`, `tcp`, `tls`, `sctp` (`ws` for WebSocket).
    static func sendProtocol(_ target: SendSocketLump.Target) -> [UInt8] {
        Array(protocolName(target.socket.proto, ws: target.proto == .ws || target.proto == .wss).utf8)
    }

    /// `SUBST_RCV_PROTO`.
    static func receiveProtocol(_ ctx: MessageContext) -> [UInt8] {
        let r = ctx.receive
        return Array(protocolName(r.socket?.proto ?? r.proto, ws: r.proto == .ws || r.proto == .wss).utf8)
    }

    /// Kamailio's `COND_IF_DIFF_REALMS`: the request leaves from another socket (address,
    /// port, protocol) or over another protocol than it arrived.
    static func differentRealms(_ ctx: MessageContext, _ target: SendSocketLump.Target) -> Bool {
        let s = target.socket
        guard ctx.receive.proto == target.proto else { return true }
        // The receiving socket's address as its text, formatted once per socket.
        if let r = ctx.receive.socket {
            return !(r.listen.port == s.listen.port && r.proto == s.proto && r.addressText == s.addressText)
        }
        let a = ctx.receive.local
        return !(a.port == s.listen.port && ctx.receive.proto == s.proto && a.ipString == s.addressText)
    }

    /// Kamailio's `COND_IF_DIFF_PROTO`.
    static func differentProtocols(_ ctx: MessageContext, _ target: SendSocketLump.Target) -> Bool {
        receivingSocket(ctx).proto != target.socket.proto || ctx.receive.proto != target.proto
    }

    private static func receivingSocket(_ ctx: MessageContext) -> (address: SocketAddress, proto: TransportProtocol) {
        if let s = ctx.receive.socket {
            var a = s.address
            a.port = s.listen.port
            return (a, s.proto)
        }
        return (ctx.receive.local, ctx.receive.proto)
    }

    private static func bracketed(_ host: String, _ ipv6: Bool) -> String {
        ipv6 && !host.hasPrefix("[") && host.contains(":") ? "[\(host)]" : host
    }

    private static func transportParameter(_ proto: TransportProtocol, ws: Bool) -> String {
        proto == .udp ? "" : ";transport=" + protocolName(proto, ws: ws)
    }

    private static func protocolName(_ proto: TransportProtocol, ws: Bool) -> String {
        switch proto {
        case .udp: "udp"
        case .tcp: ws ? "ws" : "tcp"
        case .tls: ws ? "ws" : "tls"
        case .sctp: "sctp"
        case .ws, .wss: "ws"
        }
    }
}

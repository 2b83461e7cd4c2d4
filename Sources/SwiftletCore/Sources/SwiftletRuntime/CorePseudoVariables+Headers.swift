import SwiftletSDK

/// `$via0(attr)` `$via1(attr)` `$viaZ(attr)` (first, second, last Via body), `$hfl(name)` /
/// `$hflc(name)` (bodies of Via, Record-Route, Route and Contact counted one by one),
/// `$snd(attr)`/`$sndto(attr)`/`$sndfrom(attr)` (in onsend_route), `$K(name)` and
/// `$_s(format)`, as Kamailio's pv_core.c and pv_branch.c.
extension CorePseudoVariables {
    static var headerClasses: [PseudoVariableClass] {
        [
            PseudoVariableClass("via0") { (pv: PseudoVariableName) throws(FixupError) in try via(pv) { $0.first } },
            PseudoVariableClass("via1") { (pv: PseudoVariableName) throws(FixupError) in
                try via(pv) { $0.count > 1 ? $0[1] : nil }
            },
            PseudoVariableClass("viaZ") { (pv: PseudoVariableName) throws(FixupError) in try via(pv) { $0.last } },
            PseudoVariableClass("hfl", make: headerBodies),
            PseudoVariableClass("hflc", make: headerBodyCount),
            PseudoVariableClass("snd") { (pv: PseudoVariableName) throws(FixupError) in try send(pv, to: true) },
            PseudoVariableClass("sndto") { (pv: PseudoVariableName) throws(FixupError) in try send(pv, to: true) },
            PseudoVariableClass("sndfrom") { (pv: PseudoVariableName) throws(FixupError) in try send(pv, to: false) },
            PseudoVariableClass("K", make: constant),
            PseudoVariableClass("_s", make: format),
        ]
    }

    // MARK: Via

    enum ViaAttribute: String { case host, port, proto, protoid, branch, rport, received, i }

    /// Every Via body of the message, in order.
    static func viaBodies(_ msg: SIPMessage) -> [ViaHeader] {
        msg.headers(.via).flatMap { (try? ViaHeader.parseAll(msg.buffer, $0.valueRange)) ?? [] }
    }

    static func via(_ pv: PseudoVariableName, _ pick: @escaping ([ViaHeader]) -> ViaHeader?) throws(FixupError)
        -> PseudoVariable
    {
        let name = pv.inner?.trimmingCharacters() ?? ""
        guard let attribute = ViaAttribute(rawValue: name), pv.index == nil else {
            throw FixupError("unknown PV via key: \(name)")
        }
        return PseudoVariable(text: pv.text) { ctx in
            let b = ctx.message.buffer
            guard let v = pick(viaBodies(ctx.message)) else { return .null }
            func text(_ r: Range<Int>?) -> PVValue {
                guard let r, !r.isEmpty else { return .null }
                return .string(String(decoding: b[r], as: UTF8.self))
            }
            switch attribute {
            case .host: return text(v.host)
            case .port: return .int(v.port ?? 5060)
            case .proto: return .string(String(decoding: b[v.transport], as: UTF8.self))
            case .protoid:
                let t = String(decoding: b[v.transport], as: UTF8.self).lowercased()
                return .int(TransportProtocol(rawValue: t)?.kamailioID ?? 7)
            case .branch: return text(v.branch?.value)
            case .rport: return text(v.rport?.value)
            case .received: return text(v.received?.value)
            case .i: return text(v.i?.value)
            }
        }
    }

    // MARK: $hfl / $hflc

    /// The headers `$hfl` splits into bodies.
    static func isListHeader(_ name: String) -> Bool {
        [.via, .recordRoute, .route, .contact].contains(HeaderName(name: name))
    }

    /// Each body (comma-separated value) of the headers named `name`, trimmed, in Kamailio's
    /// order and form: the Contact bodies of one header come last to first, and a Via body
    /// followed by another in the same header keeps its comma.
    static func bodies(_ msg: SIPMessage, _ name: String) -> [String] {
        let b = msg.buffer
        let kind = HeaderName(name: name)
        return msg.headers(kind).flatMap { h -> [String] in
            let values = HeaderScanner.splitValues(b, h.valueRange)
            let texts = values.indices.map { i -> String in
                let t = String(decoding: b[values[i]], as: UTF8.self).trimmingCharacters()
                return kind == .via && i < values.count - 1 ? t + "," : t
            }
            return kind == .contact ? texts.reversed() : texts
        }
    }

    /// `$hfl(name)[i]`: like `$hdr`, but Via, Record-Route, Route and Contact give their i-th
    /// body. A negative index counts as Kamailio 5.6.3 does (one past: `[-1]` is null, `[-2]`
    /// the last).
    static func headerBodies(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let name = pv.inner?.trimmingCharacters(), !name.isEmpty else {
            throw FixupError("$hfl needs a header name: $hfl(Name)")
        }
        let index = try PVIndex(pv.index, registry: pv.registry)
        guard isListHeader(name), !index.isAll else { return try header(pv) }
        return PseudoVariable(text: pv.text) { ctx in
            let all = bodies(ctx.message, name)
            guard !all.isEmpty else { return .null }
            var i = 0
            if case .none = index {
            } else {
                guard case .position(let p)? = index.resolve(ctx) else { return .null }
                i = p
            }
            if i < 0 {
                guard -i <= all.count + 1 else { return .null }
                i = all.count + 1 + i
            }
            return i < all.count ? .string(all[i]) : .null
        }
    }

    /// `$hflc(name)`: the number of bodies of Via, Record-Route, Route and Contact, else `$hdrc`.
    static func headerBodyCount(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let name = pv.inner?.trimmingCharacters(), !name.isEmpty else {
            throw FixupError("$hflc needs a header name: $hflc(Name)")
        }
        guard isListHeader(name) else { return try headerCount(pv) }
        return PseudoVariable(text: pv.text) { ctx in .int(bodies(ctx.message, name).count) }
    }

    // MARK: onsend

    enum SendAttribute: String { case ip, af, port, proto, buf, len, sproto }

    /// `$sndto(attr)` (the destination; `ip` and `port` are the peer's) and `$sndfrom(attr)`
    /// (the sending socket): null outside onsend_route.
    static func send(_ pv: PseudoVariableName, to: Bool) throws(FixupError) -> PseudoVariable {
        let name = pv.inner?.trimmingCharacters() ?? ""
        guard let attribute = SendAttribute(rawValue: name), pv.index == nil else {
            throw FixupError("unknown PV snd name \(name)")
        }
        return PseudoVariable(text: pv.text) { ctx in
            guard let info = ctx.sendInfo, let socket = info.destination.socket else { return .null }
            switch attribute {
            case .ip: return .string(to ? info.destination.address.ipString : socket.address.ipString)
            case .af: return .int(socket.isIPv6 ? 10 : 2)
            case .port: return .int(to ? info.destination.address.port : socket.listen.port)
            case .proto: return .int(socket.proto.kamailioID)
            case .buf: return .string(String(decoding: info.bytes, as: UTF8.self))
            case .len: return .int(info.bytes.count)
            case .sproto: return .string(socket.proto.name)
            }
        }
    }

    // MARK: $K, $_s

    /// `$K(IPv4|INET|IPv6|INET6|UDP|TCP|TLS|SCTP|WS|WSS)`: Kamailio's constants.
    static func constant(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        let values = [
            "IPv4": 2, "INET": 2, "IPv6": 10, "INET6": 10, "UDP": 1, "TCP": 2, "TLS": 3, "SCTP": 4, "WS": 5, "WSS": 6,
        ]
        guard let name = pv.inner, let v = values[name], pv.index == nil else {
            throw FixupError("unknown PV K name \(pv.inner ?? "")")
        }
        return PseudoVariable(text: pv.text) { _ in .int(v) }
    }

    /// `$_s(format)`: the format (PVs in it evaluated) as a string.
    static func format(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let text = pv.inner, !text.isEmpty, pv.index == nil else { throw FixupError("$_s needs a format") }
        let f = try StringFormat(parsing: text, registry: pv.registry)
        return PseudoVariable(text: pv.text) { ctx in .string(f.render(ctx)) }
    }
}

import SwiftletSDK

/// The module parameters, fixed at start-up.
struct TopohSettings: Sendable {
    var mask: TopohMask
    var ip: String
    var maskCallID: Bool
    var uparamName: String
    var uparamPrefix: String
    var vparamName: String
    var vparamPrefix: String
    var callIDPrefix: String
    var uriPrefixChecks: Bool
    /// `mask_ip` is an address of this proxy (Kamailio's `th_mask_addr_myself`).
    var maskAddressIsMyself = false
}

/// What topoh does to the raw bytes of a received or sent message (Kamailio's
/// `th_msg_received` and `th_msg_sent`). Returns nil when the message is left as it is.
final class TopohEngine: Sendable {
    let s: TopohSettings
    let isMyself: @Sendable (String, Int?) -> Bool
    /// `SIP/2.0/UDP <ip>;<vparam_name>=<vparam_prefix>`
    let viaPrefix: [UInt8]
    /// `sip:<ip>;<uparam_name>=<uparam_prefix>`
    let uriPrefix: [UInt8]
    let callIDPrefix: [UInt8]
    let ip: [UInt8]
    static let cookieName = Array("TH".utf8)

    /// For the event routes; nil in unit tests.
    nonisolated(unsafe) let core: CoreContext?
    let eventMode: Int
    /// The sanity module's checks for received requests (`sanity_checks`), else nil.
    nonisolated(unsafe) let sanity: (any SanityCheckAPI)?

    init(
        settings: TopohSettings, isMyself: @escaping @Sendable (String, Int?) -> Bool, core: CoreContext? = nil,
        eventMode: Int = 0, sanity: (any SanityCheckAPI)? = nil
    ) {
        s = settings
        self.sanity = sanity
        self.isMyself = isMyself
        self.core = core
        self.eventMode = eventMode
        viaPrefix = Array("SIP/2.0/UDP \(settings.ip);\(settings.vparamName)=\(settings.vparamPrefix)".utf8)
        uriPrefix = Array("sip:\(settings.ip);\(settings.uparamName)=\(settings.uparamPrefix)".utf8)
        callIDPrefix = Array(settings.callIDPrefix.utf8)
        ip = Array(settings.ip.utf8)
    }

    // MARK: receiving

    func received(_ bytes: [UInt8], proto: TransportProtocol, peer: SocketAddress) -> [UInt8]? {
        guard let msg = prepared(bytes), let cseq = try? msg.cseq(), !skipped(cseq) else { return nil }
        var ed = MessageEditor(msg)
        var cookie = Array("xx".utf8)
        if msg.isRequest {
            // A request that fails sanity's default checks is left masked (Kamailio).
            if let sanity, sanity.checkDefaults(msg, proto: proto, peer: peer) < 1 {
                Log.error("topoh", "sanity checks failed")
                return nil
            }
            let dialog = !(msg.toTag ?? "").isEmpty
            if dialog {
                guard let direction = routeDirection(msg) else { return nil }
                cookie = Array((direction == 0 ? "dc" : "uc").utf8)
                unmaskRequestURI(msg, &ed)
                unmaskRoute(msg, &ed)
                if cseq.method == .refer { unmaskReferTo(msg, &ed) }
                if direction == 1 { unmaskCallID(msg, &ed) }
            } else {
                cookie = Array("di".utf8)
            }
        } else {
            guard let vias = try? msg.vias() else { return nil }
            // One Via: a reply to a locally generated request, nothing to unhide (but CANCEL).
            if vias.count < 2, cseq.method != .cancel { return nil }
            if let found = unmaskVia(msg, vias, &ed) { cookie = found }
            flipRecordRoute(msg, &ed, encoding: false)
            if cookie.first == UInt8(ascii: "u") {
                cookie = Array("dc".utf8)
            } else {
                cookie = Array("uc".utf8)
                unmaskCallID(msg, &ed)
            }
        }
        addCookie(msg, cookie, &ed)
        return try? ed.build()
    }

    // MARK: sending

    func sending(_ data: NetData) -> [UInt8]? {
        // event_route[topoh:msg-outgoing]: on the faked message, before anything; `drop`
        // sends the message as it is.
        if eventMode & 1 != 0, runEventRoute("topoh:msg-outgoing", data, message: nil) == false { return nil }
        guard let msg = prepared(data.bytes), let cseq = try? msg.cseq(), !skipped(cseq) else { return nil }
        var ed = MessageEditor(msg)
        let b = msg.buffer
        let via1 = try? msg.topVia()
        var cookie = Array("xxx".utf8)
        let cookieHeader = msg.headers.first { eqi(b[$0.nameRange], Self.cookieName) }
        let viaCookie = via1.flatMap { v in v.parameters(b).first { eqi(b[$0.name], Self.cookieName) } }
        if let h = cookieHeader, !h.valueRange.isEmpty {
            cookie = Array(b[h.valueRange])
        } else if let p = viaCookie, let v = p.value, !v.isEmpty {
            cookie = Array(b[v])
        }
        if cookie[0] != UInt8(ascii: "x") {
            if let h = cookieHeader { ed.delete(h.lineRange) }
            if !msg.isRequest, let p = viaCookie { ed.delete(p.range) }
        }
        // event_route[topoh:msg-sending]: on the message; `drop` sends it as it is.
        if eventMode & 2 != 0, runEventRoute("topoh:msg-sending", data, message: msg) == false { return nil }
        if msg.isRequest {
            let upstream = cookie[0] == UInt8(ascii: "u")
            let dialog = !(msg.toTag ?? "").isEmpty
            let vias = (try? msg.vias()) ?? []
            var local = 0
            if vias.count < 2 {
                local = 1
                if !upstream, cookie.count > 1, cookie[1] == UInt8(ascii: "l") { local = 2 }
            } else {
                local = (cookie[0] != UInt8(ascii: "d") && cookie[0] != UInt8(ascii: "u")) ? 1 : 0
            }
            if local != 0 {
                // Locally generated: ACK and CANCEL go downstream; others are left as they are.
                guard cseq.method == .ack || cseq.method == .cancel || local == 2 else { return nil }
                maskCallID(msg, &ed)
                return try? ed.build()
            }
            maskVias(msg, vias, &ed)
            maskContact(msg, &ed)
            maskRecordRoute(msg, &ed)
            if dialog {
                if !upstream { maskCallID(msg, &ed) }
            } else {
                if cseq.method == .invite { updateReplaces(msg, &ed) }
                maskCallID(msg, &ed)
            }
        } else {
            switch cookie.last {
            case UInt8(ascii: "x"):
                return nil
            case UInt8(ascii: "v"):
                // A reply generated here: the direction was set by the request.
                if cookie[0] == UInt8(ascii: "u") { maskCallID(msg, &ed) }
            default:
                flipRecordRoute(msg, &ed, encoding: true)
                maskContact(msg, &ed)
                if cookie[0] == UInt8(ascii: "d") { maskCallID(msg, &ed) }
            }
        }
        return try? ed.build()
    }

    // MARK: event routes

    /// Kamailio's faked message (`fmsg.c`).
    static let fakedMessage = try? SIPMessage(
        parsing: Array(
            ("OPTIONS sip:you@kamailio.org SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n"
                + "From: <sip:you@kamailio.org>;tag=123\r\nTo: <sip:you@kamailio.org>\r\nCall-ID: 123\r\n"
                + "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").utf8))

    /// Runs `event_route[name]` as a request route, `$snd(...)` naming where the message
    /// goes (its bytes: those of `message`, else the faked message's). nil when the route is
    /// not defined, false when it dropped.
    func runEventRoute(_ name: String, _ data: NetData, message: SIPMessage?) -> Bool? {
        guard let core, let routes = core.routes, routes.eventRouteNames.contains(name),
            let msg = message ?? Self.fakedMessage
        else { return nil }
        let receive =
            message == nil
            ? ReceiveInfo(proto: .udp, sourceIP: "127.0.0.1", sourcePort: 5060, localIP: "127.0.0.1", localPort: 5060)
            : ReceiveInfo(proto: data.proto, source: SocketAddress(), local: SocketAddress())
        let ctx = MessageContext(message: msg, receive: receive, routeType: .request, core: core)
        ctx.sendInfo = SendInfo(
            destination: Destination(proto: data.proto, address: data.peer, socket: data.socket), bytes: msg.buffer)
        return routes.runEventRoute(name, ctx, as: .request)
    }

    // MARK: message checks

    /// Kamailio's `th_prepare_msg`: a SIP request or reply with parseable From/To, a Via
    /// and a Call-ID.
    func prepared(_ bytes: [UInt8]) -> SIPMessage? {
        guard let msg = try? SIPMessage(parsing: bytes) else { return nil }
        guard (try? msg.from()) != nil, (try? msg.to()) != nil, (try? msg.topVia()) != nil,
            msg.callIDRange != nil
        else { return nil }
        return msg
    }

    /// REGISTER and PUBLISH are never touched (Kamailio's `th_skip_msg`).
    func skipped(_ cseq: CSeqHeader) -> Bool { cseq.method == .register || cseq.method == .publish }

    /// 0 downstream, 1 upstream (the From tag differs from the `ftag` of the first Route),
    /// nil when it cannot be told.
    func routeDirection(_ msg: SIPMessage) -> Int? {
        guard let ftag = msg.fromTag, !ftag.isEmpty else { return nil }
        guard msg.firstHeader(.route) != nil else { return 0 }
        guard let first = try? msg.nameAddrs(.route).first else { return nil }
        let b = msg.buffer
        guard let uri = try? URIComponents.parse(b, first.uri) else { return nil }
        guard let value = param(b, uri.parameters(b), "ftag") else { return 0 }
        return b[value].elementsEqual(ftag.utf8) ? 0 : 1
    }

    // MARK: masking

    func maskCallID(_ msg: SIPMessage, _ ed: inout MessageEditor) {
        guard s.maskCallID, let r = msg.callIDRange else { return }
        ed.replace(r, with: s.mask.encode(msg.buffer[r], prefix: callIDPrefix))
    }

    func maskVias(_ msg: SIPMessage, _ vias: [ViaHeader], _ ed: inout MessageEditor) {
        let b = msg.buffer
        for via in vias.dropFirst() {
            let body = viaBody(b, via)
            ed.replace(body, with: s.mask.encode(b[body], prefix: viaPrefix))
        }
    }

    func maskContact(_ msg: SIPMessage, _ ed: inout MessageEditor) {
        guard let c = try? msg.firstContact(), !c.isWildcard else { return }
        let b = msg.buffer
        var out = s.mask.encode(b[c.uri], prefix: uriPrefix)
        if c.uri.lowerBound == 0 || b[c.uri.lowerBound - 1] != UInt8(ascii: "<") {
            out = [UInt8(ascii: "<")] + out + [UInt8(ascii: ">")]
        }
        ed.replace(c.uri, with: out)
    }

    func maskRecordRoute(_ msg: SIPMessage, _ ed: inout MessageEditor) {
        guard msg.firstHeader(.recordRoute) != nil, let rrs = try? msg.nameAddrs(.recordRoute) else { return }
        for rr in rrs.dropFirst() {
            ed.replace(rr.uri, with: s.mask.encode(msg.buffer[rr.uri], prefix: uriPrefix))
        }
    }

    /// Record-Route in replies: decoded when received (`encoding` false); when sent, the
    /// entries before this proxy's own are encoded (Kamailio's `th_flip_record_route`).
    func flipRecordRoute(_ msg: SIPMessage, _ ed: inout MessageEditor, encoding: Bool) {
        guard msg.firstHeader(.recordRoute) != nil, let rrs = try? msg.nameAddrs(.recordRoute) else { return }
        let b = msg.buffer
        var act = encoding ? 2 : 0
        for rr in rrs {
            var (type, r2, value) = uriType(b, rr.uri)
            if type == 0 && encoding {
                guard r2 else { return }
                act -= 1
                if act == 0 { return }
                type = 1
            }
            switch type {
            case 1 where encoding && act != 0:
                ed.replace(rr.uri, with: s.mask.encode(b[rr.uri], prefix: uriPrefix))
            case 2 where !encoding:
                guard let v = value, let out = s.mask.decode(b[v], prefixLength: s.uparamPrefix.utf8.count) else {
                    return
                }
                ed.replace(rr.uri, with: out)
            default:
                break
            }
        }
    }

    /// Kamailio's `th_get_uri_type`: 2 masked (the value of the `line` param), 0 this proxy
    /// (with `r2=on` noted) or the mask address without the param, 1 another hop, -1 error.
    func uriType(_ b: [UInt8], _ range: Range<Int>) -> (Int, Bool, Range<Int>?) {
        guard let uri = try? URIComponents.parse(b, range) else { return (-1, false, nil) }
        let params = uri.parameters(b)
        if eqi(b[uri.host], ip) {
            if let v = param(b, params, s.uparamName) { return (2, false, v) }
            if !s.maskAddressIsMyself { return (0, false, nil) }
        }
        let host = String(decoding: b[uri.host], as: UTF8.self)
        if isMyself(host, uri.port) {
            let r2 = param(b, params, "r2").map { eqi(b[$0], Array("on".utf8)) } ?? false
            return (0, r2, nil)
        }
        return (1, false, nil)
    }

    func updateReplaces(_ msg: SIPMessage, _ ed: inout MessageEditor) {
        guard s.maskCallID, let h = msg.firstHeader(named: "Replaces") else { return }
        let b = msg.buffer
        let v = h.valueRange
        let end = b[v].firstIndex(of: UInt8(ascii: ";")) ?? v.upperBound
        let callID = v.lowerBound..<end
        let out: [UInt8]?
        if callID.count > callIDPrefix.count, b[callID].starts(with: callIDPrefix) {
            out = s.mask.decode(b[callID], prefixLength: callIDPrefix.count)
        } else {
            out = s.mask.encode(b[callID], prefix: callIDPrefix)
        }
        if let out { ed.replace(callID, with: out) }
    }

    // MARK: unmasking

    func unmaskCallID(_ msg: SIPMessage, _ ed: inout MessageEditor) {
        guard s.maskCallID, let r = msg.callIDRange else { return }
        let b = msg.buffer
        guard r.count >= callIDPrefix.count, eqi(b[r.lowerBound..<r.lowerBound + callIDPrefix.count], callIDPrefix),
            let out = s.mask.decode(b[r], prefixLength: callIDPrefix.count)
        else { return }
        ed.replace(r, with: out)
    }

    /// Vias 2..n of a received reply; returns the cookie found in the decoded second Via.
    func unmaskVia(_ msg: SIPMessage, _ vias: [ViaHeader], _ ed: inout MessageEditor) -> [UInt8]? {
        let b = msg.buffer
        let prefix = Array(s.vparamPrefix.utf8)
        var cookie: [UInt8]? = nil
        for (i, via) in vias.enumerated() where i > 0 {
            if s.uriPrefixChecks, !eqi(b[via.host], ip) { continue }
            guard let p = via.parameters(b).first(where: { eqi(b[$0.name], Array(s.vparamName.utf8)) }) else {
                return cookie
            }
            let value = p.value ?? p.name.upperBound..<p.name.upperBound
            if !prefix.isEmpty {
                if value.count <= prefix.count || !b[value].starts(with: prefix) { continue }
            }
            guard let out = s.mask.decode(b[value], prefixLength: prefix.count), !out.isEmpty else { return cookie }
            if i == 1 {
                let text = out + Array("\r\n".utf8)
                guard let decoded = try? ViaHeader.parse(text, 0..<out.count),
                    let c = decoded.parameters(text).first(where: { eqi(text[$0.name], Self.cookieName) }),
                    let cv = c.value
                else { return cookie }
                cookie = Array(text[cv])
            }
            ed.replace(viaBody(b, via), with: out)
        }
        return cookie
    }

    func unmaskRequestURI(_ msg: SIPMessage, _ ed: inout MessageEditor) {
        guard let r = msg.requestURIRange, let out = unmaskedURI(msg.buffer, r) else { return }
        ed.replace(r, with: out)
    }

    func unmaskRoute(_ msg: SIPMessage, _ ed: inout MessageEditor) {
        guard msg.firstHeader(.route) != nil, let routes = try? msg.nameAddrs(.route) else { return }
        let b = msg.buffer
        for route in routes.dropFirst() {
            if s.uriPrefixChecks, !hasURIPrefix(b, route.uri) { continue }
            guard let v = uriParam(b, route.uri, s.uparamName), !v.isEmpty else { continue }
            guard let out = s.mask.decode(b[v], prefixLength: s.uparamPrefix.utf8.count) else { return }
            ed.replace(route.uri, with: out)
        }
    }

    func unmaskReferTo(_ msg: SIPMessage, _ ed: inout MessageEditor) {
        guard msg.firstHeader(.referTo) != nil, let target = try? msg.nameAddrs(.referTo).first else { return }
        let b = msg.buffer
        guard let out = unmaskedURI(b, target.uri) else { return }
        let end = b[target.uri].firstIndex(of: UInt8(ascii: "?")) ?? target.uri.upperBound
        ed.replace(target.uri.lowerBound..<end, with: out)
    }

    /// The decoded URI of a masked one (`line` param), nil when not masked.
    func unmaskedURI(_ b: [UInt8], _ r: Range<Int>) -> [UInt8]? {
        if s.uriPrefixChecks, !hasURIPrefix(b, r) { return nil }
        guard let v = uriParam(b, r, s.uparamName), !v.isEmpty else { return nil }
        return s.mask.decode(b[v], prefixLength: s.uparamPrefix.utf8.count)
    }

    // MARK: cookie

    /// `TH: <c>h` at the end of the headers and `;TH=<c>v` in the first Via.
    func addCookie(_ msg: SIPMessage, _ cookie: [UInt8], _ ed: inout MessageEditor) {
        ed.insert(Self.cookieName + Array(": ".utf8) + cookie + Array("h\r\n".utf8), at: msg.headersEnd)
        guard let via = try? msg.topVia() else { return }
        let b = msg.buffer
        let at: Int
        if !via.parametersRange.isEmpty {
            at = via.parametersRange.lowerBound
        } else if let port = via.portRange {
            at = port.upperBound
        } else {
            at =
                via.host.upperBound < b.count && b[via.host.upperBound] == UInt8(ascii: "]")
                ? via.host.upperBound + 1 : via.host.upperBound
        }
        ed.insert([UInt8(ascii: ";")] + Self.cookieName + [UInt8(ascii: "=")] + cookie + [UInt8(ascii: "v")], at: at)
    }

    // MARK: helpers

    /// The Via body from `SIP/2.0/...` to its end, trailing spaces and commas trimmed.
    func viaBody(_ b: [UInt8], _ via: ViaHeader) -> Range<Int> {
        var end = via.range.upperBound
        while end > via.protocolName.lowerBound,
            [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"), UInt8(ascii: ",")]
                .contains(b[end - 1])
        {
            end -= 1
        }
        return via.protocolName.lowerBound..<end
    }

    func hasURIPrefix(_ b: [UInt8], _ r: Range<Int>) -> Bool {
        r.count >= uriPrefix.count && eqi(b[r.lowerBound..<r.lowerBound + uriPrefix.count], uriPrefix)
    }

    func uriParam(_ b: [UInt8], _ r: Range<Int>, _ name: String) -> Range<Int>? {
        guard let uri = try? URIComponents.parse(b, r) else { return nil }
        return param(b, uri.parameters(b), name)
    }

    func param(_ b: [UInt8], _ params: [HeaderParameter], _ name: String) -> Range<Int>? {
        let n = Array(name.utf8)
        guard let p = params.first(where: { eqi(b[$0.name], n) }) else { return nil }
        return p.value ?? p.name.upperBound..<p.name.upperBound
    }
}

/// ASCII case-insensitive equality.
func eqi(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    return zip(a, b).allSatisfy { x, y in
        (x >= 65 && x <= 90 ? x + 32 : x) == (y >= 65 && y <= 90 ? y + 32 : y)
    }
}

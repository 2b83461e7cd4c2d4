#if canImport(Glibc)
    import Glibc
#endif

/// Stateless forwarding of requests and replies (Kamailio's `forward_request`,
/// `build_req_buf_from_sip_req`, `do_forward_reply`), used by the core's `forward()`/`send()`
/// actions and by modules (corex, tm) that send a request on.
public enum StatelessForwarding {
    /// The Via transport token of a protocol.
    static func viaTransport(_ p: TransportProtocol) -> String {
        switch p {
        case .udp: "UDP"
        case .tcp: "TCP"
        case .tls: "TLS"
        case .sctp: "SCTP"
        case .ws: "WS"
        case .wss: "WSS"
        }
    }

    /// The request as it leaves: the script's edits applied, the new Request-URI, `received`
    /// and `rport` on the received top Via (RFC 3261 18.2.1, RFC 3581), and a new top Via for
    /// `socket` with a branch derived from the transaction (the same for a retransmission).
    ///
    /// `branch` is the new Via's branch (tm passes the transaction's); nil derives the
    /// stateless one. Insertions that depend on the sending socket (`sendSocketLumps`, e.g.
    /// rr's Record-Route) are resolved here, for `socket` and `proto`.
    public static func buildRequest(
        _ ctx: MessageContext, socket: ListeningSocket, proto: TransportProtocol, branch: String? = nil
    ) throws -> [UInt8] {
        guard var branch else { return try buildRequest(ctx, socket: socket, proto: proto, branchBytes: nil) }
        return try branch.withUTF8 { try buildRequest(ctx, socket: socket, proto: proto, branchBytes: $0) }
    }

    /// `buildRequest(_:socket:proto:branch:)` with the branch given as its UTF-8 bytes (tm's,
    /// written on the stack: no string is made for it); nil derives the stateless one.
    public static func buildRequest(
        _ ctx: MessageContext, socket: ListeningSocket, proto: TransportProtocol,
        branchBytes branch: UnsafeBufferPointer<UInt8>?
    ) throws -> [UInt8] {
        let msg = ctx.message
        var editor = ctx.edits
        if let ru = ctx.newRequestURI { editor.setRequestURI(ru) }
        for lump in ctx.sendSocketLumps {
            editor.insert(lump.build(SendSocketLump.Target(socket: socket, proto: proto), ctx), at: lump.offset)
        }
        if let via = ctx.via1 { addReceivedAndRport(&editor, via, ctx) }
        let host = ctx.advertisedAddress ?? socket.advertisedHost
        // Kamailio leaves out the port when it is 5060 and not an advertised one.
        let port =
            ctx.advertisedPort ?? socket.listen.advertisedPort
            ?? (socket.listen.port == 5060 ? nil : socket.listen.port)
        // A request received on a connection carries the connection id (`;i=`, in reversed
        // hex as Kamailio writes it) so that the reply finds the connection again.
        var extra = ""
        if let id = ctx.receive.connectionID, ctx.receive.proto == .tcp || ctx.receive.proto == .tls {
            extra = ";i=" + reversedHex(id)
        }
        // `ws` leaving from a TLS socket is a WSS connection (Kamailio looks at the connection).
        let transport = viaTransport(proto == .ws && socket.proto == .tls ? .wss : proto)
        if let branch {
            editor.addVia(
                transport: transport, host: host, port: port, branchBytes: branch, extraParameters: extra,
                rport: ctx.addLocalRport)
        } else {
            // The stateless branch written on the stack, not made as a string.
            BranchGenerator.withStateless(for: msg, topVia: ctx.via1) { br in
                editor.addVia(
                    transport: transport, host: host, port: port, branchBytes: br, extraParameters: extra,
                    rport: ctx.addLocalRport)
            }
        }
        // The path vector as a Route header, before the other Route headers or else right
        // after the new Via (Kamailio's `build_req_buf_from_sip_req`).
        if ctx.hasBinding, case let path = ctx.binding.path, !path.isEmpty {
            let at =
                msg.firstHeader(.route)?.lineRange.lowerBound ?? msg.firstHeader(.via)?.lineRange.lowerBound
                ?? msg.headers.first?.lineRange.lowerBound ?? msg.headersEnd
            editor.insert(Array(("Route: " + path + "\r\n").utf8), at: at)
        }
        return try editor.build()
    }

    /// Kamailio's `int2reverse_hex`: hex digits, least significant first.
    static func reversedHex(_ n: Int) -> String {
        var v = UInt(n)
        var s = ""
        repeat {
            s.append(Character(String(v & 0xf, radix: 16)))
            v >>= 4
        } while v != 0
        return s
    }

    /// The inverse of `reversedHex`; nil when not hex.
    static func connectionID(fromReversedHex text: String) -> Int? {
        var v = 0
        var shift = 0
        for c in text {
            guard let d = c.hexDigitValue, shift < 60 else { return nil }
            v |= d << shift
            shift += 4
        }
        return text.isEmpty ? nil : v
    }

    /// Kamailio's `received_test` and rport update on the top Via of a request being forwarded:
    /// `;received=` when the Via already has `received` or `rport`, or its host is not the
    /// source address; `;rport=` (replacing an empty or old one) when it asks for it or
    /// `force_rport()` was called. New parameters go right after host:port.
    static func addReceivedAndRport(_ e: inout MessageEditor, _ via: ViaHeader, _ ctx: MessageContext) {
        let b = ctx.message.buffer
        let needsReceived =
            via.received != nil || via.rport != nil || !isSource(b, via.host, ctx.receive.source)
        let needsRport = ctx.forceRport || via.rport != nil
        let anchor = via.portRange?.upperBound ?? via.host.upperBound
        // Kamailio inserts both after the same anchor, each right after it: rport ends up first.
        if needsRport {
            let text = Array(";rport=\(ctx.receive.sourcePort)".utf8)
            if let r = via.rport { e.replace(r.range, with: text) } else { e.insert(text, at: anchor) }
        }
        if needsReceived {
            let text = Array(";received=\(ctx.receive.sourceIP)".utf8)
            if let r = via.received { e.replace(r.range, with: text) } else { e.insert(text, at: anchor) }
        }
    }

    /// `IPAddressText.sameAddress(host:ip:)` of the Via host `host` in `b` and the source
    /// address: an IPv4 literal is compared as a number in place (no texts made for the usual
    /// request), anything else as text.
    static func isSource(_ b: [UInt8], _ host: Range<Int>, _ source: SocketAddress) -> Bool {
        let v4 = b.withUnsafeBytes { raw in
            IPAddressText.ipv4(UnsafeRawBufferPointer(rebasing: raw[host.clamped(to: 0..<raw.count)]))
        }
        guard let v4 else { return IPAddressText.sameAddress(host: b.text(host), ip: source.ipString) }
        // Read in place (not through a copy of the whole `sockaddr_storage`); nil for IPv6.
        return source.ipv4Value == v4
    }

    /// Sends the request statelessly to `destination` through the core's send path. Returns
    /// false (with a log line) when no socket fits, building fails, `onsend_route` or an
    /// out-hook dropped it or sending failed.
    public static func forwardRequest(_ ctx: MessageContext, to destination: Destination) -> Bool {
        guard let transport = ctx.core.transport else {
            Log.error("core", "cannot forward: no transport layer (not running)")
            return false
        }
        var dst = destination
        guard
            let socket = dst.socket
                ?? transport.sendSocket(
                    for: dst.proto, to: dst.address, received: ctx.receive.socket, forced: ctx.forcedSendSocket)
        else {
            Log.error(
                "core",
                "cannot forward to af \(dst.address.isIPv6 ? 10 : 2), proto \(dst.proto.name): no corresponding listening socket"
            )
            CoreCounters.droppedRequest()
            ctx.coreError.current = .noSocket
            return false
        }
        if dst.proto == socket.proto,
            transport.sockets.contains(where: { $0.proto == dst.proto && $0.address == dst.address })
        {
            // Kamailio would send the request to itself and loop until Max-Forwards runs out;
            // the caller gets 482 at once instead.
            Log.error("core", "not forwarding \(msgName(ctx)) to \(dst): that is this server (a loop): replying 482")
            CoreCounters.droppedRequest()
            ctx.coreError.current = .send
            replyLoopDetected(ctx)
            return false
        }
        dst.flags = ctx.sendFlags
        dst.socket = socket
        var bytes: [UInt8]
        do {
            bytes = try buildRequest(ctx, socket: socket, proto: dst.proto)
            // Kamailio's udp_mtu fallback (build_req_buf_from_sip_req): too large for UDP.
            let settings = ctx.core.settings
            if dst.proto == .udp, settings.udpMTU > 0, bytes.count > settings.udpMTU,
                let fallback = ctx.mtuFallback ?? settings.udpMTUFallback,
                let other = transport.sendSocket(for: fallback, to: dst.address, received: nil)
            {
                dst.proto = fallback
                dst.socket = other
                bytes = try buildRequest(ctx, socket: other, proto: fallback)
            }
        } catch {
            Log.error("core", "cannot build the forwarded request: \(error)")
            CoreCounters.droppedRequest()
            return false
        }
        switch ctx.core.send(OutboundMessage(bytes: bytes, destination: dst, kind: .request), context: ctx) {
        case .sent:
            ctx.coreError.current = .ok
            CoreCounters.forwardedRequest()
            return true
        case .droppedByScript, .droppedByHook:
            Log.info("core", "request to \(dst) dropped (onsend_route or a module)")
            ctx.coreError.current = .ok
            CoreCounters.droppedRequest()
            return false
        case .noSocket, .failed:
            ctx.coreError.current = .send
            CoreCounters.droppedRequest()
            return false
        }
    }

    /// Forwards a received reply statelessly (Kamailio's `forward_reply`): removes the top Via
    /// (which must be this server's when `check_via` is on) and sends the reply to the next
    /// Via's address. Returns false, with a log line, when it cannot.
    public static func forwardReply(_ ctx: MessageContext) -> Bool {
        guard let transport = ctx.core.transport else { return false }
        let msg = ctx.message
        let b = msg.buffer
        guard let vias = try? msg.vias(), vias.count >= 2 else {
            Log.debug("core", "reply cannot be forwarded - no 2nd via")
            return false
        }
        let top = vias[0]
        if ctx.core.settings.checkVia {
            let proto = NextHop.transport(named: b.text(top.transport))
            guard transport.isMyself(host: b.text(top.host), port: top.port ?? 5060, proto: proto) else {
                Log.error("core", "host in first via!=me : \(b.text(top.host)):\(top.port ?? 0)")
                return false
            }
        }
        var dst: Destination
        do {
            dst = try NextHop.destination(forReplyVia: vias[1], in: b)
        } catch {
            Log.notice("core", "cannot forward the reply: \(error)")
            return false
        }
        var editor = ctx.edits
        let bytes: [UInt8]
        do {
            try editor.removeTopVia()
            bytes = try editor.build()
        } catch {
            Log.error("core", "cannot build the forwarded reply: \(error)")
            return false
        }
        dst.flags = ctx.sendFlags
        if dst.proto == .tcp || dst.proto == .tls, let i = top.i?.value {
            dst.connectionID = connectionID(fromReversedHex: b.text(i))
        }
        guard
            let socket = transport.sendSocket(
                for: dst.proto, to: dst.address, received: ctx.receive.socket, forced: ctx.forcedSendSocket)
        else {
            Log.error("core", "cannot forward reply: no listening socket for \(dst)")
            return false
        }
        dst.socket = socket
        guard ctx.core.send(OutboundMessage(bytes: bytes, destination: dst, kind: .reply), context: ctx) == .sent else {
            CoreCounters.droppedReply()
            return false
        }
        CoreCounters.forwardedReply()
        return true
    }

    /// Answers a request that would be sent to this server itself `482 Loop Detected`
    /// (stateless; not for ACK). Returns false when nothing was sent.
    @discardableResult
    public static func replyLoopDetected(_ ctx: MessageContext) -> Bool {
        guard ctx.message.isRequest, ctx.message.method != .ack else { return false }
        var builder = StatelessReply(
            sourceIP: ctx.receive.sourceIP, sourcePort: ctx.receive.sourcePort, serverHeader: Core.serverHeader)
        builder.forceRport = ctx.forceRport
        let tag = TagHash.hex128(["SWIFTLET-loop", ctx.message.callID ?? "", ctx.message.fromTag ?? ""])
        guard let bytes = try? builder.build(for: ctx.message, code: 482, reason: "Loop Detected", toTag: tag) else {
            return false
        }
        return ctx.sendReply(bytes)
    }

    private static func msgName(_ ctx: MessageContext) -> String {
        ctx.message.method.map { $0.name } ?? "the request"
    }
}

extension MessageContext {
    /// The next hop of this request: `$du` when set, else the Request-URI in effect.
    public var nextHopURI: String? { destinationURI ?? requestURI }
}

import SwiftletSDK

/// Tracing from the wire (Kamailio's `SREV_NET_DATA_RECV`/`SENT` callbacks): every message
/// with `trace_mode`, and the messages of the transactions and dialogs `sip_trace()` asked
/// for.
extension SiptraceModule {
    /// The record of bytes seen on the wire: received (from the peer to our socket) or sent.
    func record(_ data: borrowing NetData, received: Bool) -> TraceRecord {
        let advertised = dataMode & 1 != 0
        let ours =
            data.socket.map { TraceRecord.endpoint($0, advertised: advertised) }
            ?? "\(data.proto.name):0.0.0.0:0"
        let peer = TraceRecord.endpoint(data.proto, data.peer)
        var r = TraceRecord(
            body: data.bytes, fromIP: received ? peer : ours, toIP: received ? ours : peer,
            direction: received ? "in" : "out")
        r.isReply = data.isReply ?? false
        r.stamp()
        return r
    }

    func observe(_ data: borrowing NetData, received: Bool) {
        let coreMode = traceMode != 0 && initMode != 2
        guard coreMode || !sessions.isEmpty, traceOn.load(ordering: .relaxed) else { return }
        var r = record(data, received: received)
        let message = try? SIPMessage(parsing: r.body)
        if let message { _ = r.fill(from: message) }
        if coreMode { traceWire(r, message: message, data) }
        if let message, initMode != 1, !sessions.isEmpty {
            for s in sessions.match(message) {
                store(r, to: s.destination, correlationID: s.correlationID)
            }
        }
    }

    /// `trace_mode`: `event_route[siptrace:msg]` (its `drop` skips the message), then HEP
    /// (bit 1), the database (bit 2, SIP messages only) and `duplicate_uri` (bit 4).
    func traceWire(_ record: TraceRecord, message: SIPMessage?, _ data: borrowing NetData) {
        if let message, runEventRoute(record, message, data) == false { return }
        if traceMode & 1 != 0 { sender.sendHEP(record, to: nil, correlationID: nil) }
        if traceMode & 2 != 0, message != nil, !record.callID.isEmpty {
            db.store(record, table: nil, users: [], traceOn: true)
        }
        if traceMode & 4 != 0 { sender.sendDuplicate(record, to: nil) }
    }

    /// Runs `event_route[siptrace:msg]` on the message; false when it dropped it, nil when
    /// there is no such route.
    func runEventRoute(_ record: TraceRecord, _ message: SIPMessage, _ data: borrowing NetData) -> Bool? {
        guard let core, let routes = core.routes, routes.eventRouteNames.contains("siptrace:msg") else { return nil }
        let receive = ReceiveInfo(proto: data.proto, source: data.peer, local: data.socket?.address ?? SocketAddress())
        let ctx = MessageContext(message: message, receive: receive, routeType: .event, core: core)
        let key = ObjectIdentifier(ctx)
        eventRecords.withLock { $0[key] = record }
        defer { _ = eventRecords.withLock { $0.removeValue(forKey: key) } }
        return routes.runEventRoute("siptrace:msg", ctx, as: .event)
    }

    /// `$siptrace(name)` in `event_route[siptrace:msg]`: `src_addr`, `dst_addr`
    /// (`proto:ip:port`), `src_host`, `dst_host`, `src_hostip`, `dst_hostip`, `src_port`,
    /// `dst_port`, `src_proto`, `dst_proto`, `direction`. Null elsewhere.
    var siptracePseudoVariable: PseudoVariableClass {
        PseudoVariableClass("siptrace") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            let names = [
                "src_addr", "dst_addr", "src_host", "dst_host", "src_hostip", "dst_hostip", "src_port", "dst_port",
                "src_proto", "dst_proto", "direction",
            ]
            guard let name = pv.inner, names.contains(name) else {
                throw FixupError("unknown siptrace pv name: \(pv.inner ?? "")")
            }
            return PseudoVariable(text: pv.text) { [self] ctx in
                guard let r = eventRecords.withLock({ $0[ObjectIdentifier(ctx)] }) else { return .null }
                return Self.field(name, r)
            }
        }
    }

    static func field(_ name: String, _ r: TraceRecord) -> PVValue {
        if name == "direction" { return .string(r.direction) }
        let text = name.hasPrefix("src") ? r.fromIP : r.toIP
        guard let e = TraceEndpoint(text) else { return .null }
        let ip =
            text.split(separator: ":", maxSplits: 1).last.map { s -> String in
                var h = String(s)
                if let c = h.lastIndex(of: ":") { h = String(h[..<c]) }
                return h
            } ?? ""
        let bare = ip.hasPrefix("[") ? String(ip.dropFirst().dropLast()) : ip
        switch String(name.dropFirst(4)) {
        case "addr": return .string(text)
        case "host": return .string(ip)
        case "hostip": return .string(bare)
        case "port": return .int(e.port)
        case "proto": return .string(e.proto)
        default: return .null
        }
    }
}

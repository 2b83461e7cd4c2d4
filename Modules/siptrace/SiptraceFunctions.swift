import SwiftletSDK

/// The script functions: `sip_trace([address][, correlation_id][, mode])`,
/// `sip_trace_mode(mode)`, `sip_trace_msg(vmsg, saddr, taddr, daddr, corrid)` and
/// `hlog([correlation_id,] message)`.
extension SiptraceModule {
    enum Mode: Character { case message = "m", transaction = "t", dialog = "d" }

    /// Kamailio's `siptrace_parse_flag`: one of m, t, d (any case; blanks ignored).
    static func mode(_ text: String) -> Mode? {
        var found: Mode?
        for c in text.lowercased() where c != " " && c != "\t" {
            guard found == nil, let m = Mode(rawValue: c) else { return nil }
            found = m
        }
        return found
    }

    var functions: [ScriptFunction] {
        [
            ScriptFunction("sip_trace", parameters: 0...3, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) in
                let address = try args.first.map { a throws(FixupError) in try a.stringFormat() }
                let correlation = try args.count > 1 ? args[1].stringFormat() : nil
                var mode: Mode?
                if args.count > 2 {
                    let text = try args[2].constantString()
                    guard let m = Self.mode(text) else {
                        throw FixupError("Failed to parse trace type! (\(text))", at: args[2].location)
                    }
                    mode = m
                }
                return { [self] ctx in
                    sipTrace(ctx, address: address?.render(ctx), correlationID: correlation?.render(ctx), mode: mode)
                }
            },
            ScriptFunction("sip_trace_mode", parameters: 1, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) in
                let mode = try args[0].stringFormat()
                return { [self] ctx in
                    let text = mode.render(ctx)
                    let m = Self.mode(String(text.prefix(1))) ?? .message
                    return sipTrace(ctx, address: nil, correlationID: nil, mode: m, viaModeFunction: true)
                }
            },
            ScriptFunction("sip_trace_msg", parameters: 5, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) in
                let f = try args.map { a throws(FixupError) in try a.stringFormat() }
                return { [self] ctx in
                    traceMessage(
                        f[0].render(ctx), from: f[1].render(ctx), to: f[2].render(ctx), dest: f[3].render(ctx),
                        correlationID: f[4].render(ctx))
                }
            },
            ScriptFunction("hlog", parameters: 1...2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) in
                let f = try args.map { a throws(FixupError) in try a.stringFormat() }
                return { [self] ctx in
                    let correlation = f.count == 2 ? f[0].render(ctx) : ctx.message.callID
                    guard let correlation else {
                        Log.error("siptrace", "cannot parse Call-Id header")
                        return -1
                    }
                    return sender.sendLog(f[f.count - 1].render(ctx), correlationID: correlation)
                }
            },
        ]
    }

    /// `sip_trace()` (Kamailio's `w_sip_trace3` and `sip_trace_helper`).
    func sipTrace(
        _ ctx: MessageContext, address: String?, correlationID: String?, mode: Mode?, viaModeFunction: Bool = false
    ) -> Int {
        var dst: Destination?
        if let address, !address.isEmpty, address != "<null>" {
            guard let d = sender.destination(address) else {
                Log.error("siptrace", "failed to parse siptrace uri!")
                return -1
            }
            dst = d
        } else if address != nil || (traceToDatabase == 0 && !viaModeFunction) {
            guard sender.duplicate != nil else {
                Log.error("siptrace", "no duplicate_uri modparam nor duplicate uri sip_trace() argument provided!")
                return -1
            }
        }
        var m = mode ?? .message
        if mode == nil, traceFlag >= 0, traceFlag < 64, ctx.flags & (UInt64(1) << UInt64(traceFlag)) != 0 {
            m = .transaction
        }
        if m == .transaction && !hasTM {
            Log.warning("siptrace", "TM module not loaded! Tracing only current message!")
            m = .message
        } else if m == .dialog && !hasDialog {
            Log.warning("siptrace", "DIALOG module not loaded! Tracing only current message!")
            m = .message
        }
        if m != .message {
            guard ctx.message.isRequest, m == .transaction || ctx.message.method == .invite else {
                Log.warning(
                    "siptrace",
                    m == .transaction
                        ? "When tracing a transaction sip_trace() has to be initiated on the request message"
                        : "When tracing a dialog sip_trace() has to be initiated on the initial invite")
                return -1
            }
            guard let callID = ctx.message.callID, let cseq = try? ctx.message.cseq() else { return -1 }
            let session = TraceSession(
                scope: m == .dialog ? .dialog : .transaction(cseq: cseq.number), destination: dst,
                correlationID: correlationID,
                expires: TraceSessions.now()
                    + (m == .dialog ? TraceSessions.dialogLifetime : TraceSessions.transactionLifetime))
            if !sessions.add(callID, session) { Log.error("siptrace", "too many traced transactions and dialogs") }
        }
        let users = tracedUsers(ctx)
        guard !users.isEmpty || traceOn.load(ordering: .relaxed) else { return -1 }
        guard let record = TraceRecord.of(ctx, localIP: localIP, advertised: dataMode & 1 != 0) else { return -1 }
        return store(record, to: dst, correlationID: correlationID, table: traceTable(ctx), users: users)
    }

    /// `sip_trace_msg(vmsg, saddr, taddr, daddr, corrid)`: `vmsg` as HEP (of `hep_version`)
    /// from `saddr` to `taddr` (`proto:ip:port`), sent to `daddr` (a SIP URI).
    func traceMessage(_ text: String, from: String, to: String, dest: String, correlationID: String) -> Int {
        guard !text.isEmpty else {
            Log.error("siptrace", "invalid message value")
            return -1
        }
        guard TraceEndpoint(from) != nil, TraceEndpoint(to) != nil else {
            Log.error("siptrace", "invalid source or target address")
            return -1
        }
        guard let dst = sender.destination(dest) else {
            Log.error("siptrace", "failed to parse siptrace uri!")
            return -1
        }
        var record = TraceRecord(body: Array(text.utf8), fromIP: from, toIP: to, direction: "out")
        if let m = try? SIPMessage(parsing: record.body) { _ = record.fill(from: m) }
        record.stamp()
        // Always HEP (whatever hep_mode_on says), and 1 once sent or not, as Kamailio.
        sender.sendHEP(record, to: dst, correlationID: correlationID.isEmpty ? nil : correlationID)
        return 1
    }
}

import SwiftletSDK

/// `dbg_sip_msg([level[, facility]])` (Kamailio's `w_dbg_sip_msg`): logs the message as it
/// would leave at this point of the script (the pending edits and the new Request-URI
/// applied; no Via of this server added), then the pending edits themselves: header edits,
/// then body edits, each deletion as `- ` and the deleted text, each addition as its text.
extension DebuggerModule {
    static let sipMsgStart = "------------------------- START OF SIP message debug --------------------------\n"
    static let sipMsgHeaders = "------------------------------ SIP header diffs -------------------------------\n"
    static let sipMsgBody = "------------------------------- SIP body diffs --------------------------------\n"
    static let sipMsgEnd = "-------------------------- END OF SIP message debug ---------------------------\n\n"

    /// Kamailio's level names as `dbg_sip_msg` and `dbg_pv_dump` read them: by the third
    /// character (`L_ERR` → `E`).
    static func levelByThirdCharacter(_ name: String) -> LogLevel? {
        let chars = Array(name.utf8)
        guard chars.count > 2 else { return nil }
        switch chars[2] {
        case UInt8(ascii: "A"): return .alert
        case UInt8(ascii: "B"): return .bug
        case UInt8(ascii: "C"): return .crit2
        case UInt8(ascii: "E"): return .error
        case UInt8(ascii: "W"): return .warning
        case UInt8(ascii: "N"): return .notice
        case UInt8(ascii: "I"): return .info
        case UInt8(ascii: "D"): return .debug
        default: return nil
        }
    }

    func fixupSipMsg(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        var level: LogLevel?
        var facility: Int32?
        if args.count > 0 {
            guard let l = Self.levelByThirdCharacter(try args[0].constantString()) else {
                throw FixupError("unknown log level", at: args[0].location)
            }
            level = l
        }
        if args.count > 1 {
            guard let f = DebuggerSettings.facility(named: try args[1].constantString()) else {
                throw FixupError("invalid log facility configured", at: args[1].location)
            }
            facility = f
        }
        let line = args.first.map { String($0.location.line) } ?? "unknown"
        return { ctx in Self.logSipMsg(ctx, level: level, facility: facility, line: line) }
    }

    /// Logs the message and its pending edits; -1 for a request outside request_route.
    static func logSipMsg(_ ctx: MessageContext, level: LogLevel?, facility: Int32?, line: String) -> Int {
        let msg = ctx.message
        if msg.isRequest && ctx.routeType != .request {
            Log.error("debugger", "invalid usage - not in request route")
            return -1
        }
        let level = level ?? Log.configuredLevel
        guard Log.enabled(level, module: "debugger") else { return 1 }
        var editor = ctx.edits
        if msg.isRequest, let ru = ctx.newRequestURI { editor.setRequestURI(ru) }
        let built: [UInt8]
        do {
            built = try editor.build()
        } catch {
            Log.error("debugger", "couldn't update msg buffer content")
            return -1
        }
        // The edits in offset order (insertions at one offset in the order made), the
        // Request-URI rewrite left out as Kamailio keeps it outside its lumps.
        let lumps = ctx.edits.lumps.enumerated().sorted { a, b in
            a.element.range.lowerBound != b.element.range.lowerBound
                ? a.element.range.lowerBound < b.element.range.lowerBound : a.offset < b.offset
        }.map(\.element)
        var headers: [UInt8] = []
        var body: [UInt8] = []
        for lump in lumps {
            let isBody = lump.range.lowerBound >= msg.bodyRange.lowerBound && !msg.bodyRange.isEmpty
            if isBody { append(lump, of: msg, to: &body) } else { append(lump, of: msg, to: &headers) }
        }
        let text =
            "CONFIG LINE \(line)\n" + sipMsgStart + String(decoding: built, as: UTF8.self) + sipMsgHeaders
            + String(decoding: headers, as: UTF8.self) + sipMsgBody + String(decoding: body, as: UTF8.self) + sipMsgEnd
        Log.write(
            level, label: nil, module: "debugger",
            // Kamailio's two log statements, for a known line and for an unknown one.
            locinfo: "debugger [debugger_mod.c:\(line == "unknown" ? 569 : 576)]: w_dbg_sip_msg(): ", text,
            facility: facility ?? 0)
        return 1
    }

    /// One edit as Kamailio's `process_lumps` prints it with `FLAG_MSG_LUMPS_ONLY`: a
    /// deletion as `- ` and the deleted text (with a line break when it has none), then what
    /// replaces it; an insertion as its text.
    static func append(_ lump: MessageEditor.Lump, of msg: SIPMessage, to out: inout [UInt8]) {
        if !lump.range.isEmpty {
            out += Array("- ".utf8)
            out += msg.buffer[lump.range]
            if out.last != UInt8(ascii: "\n") { out.append(UInt8(ascii: "\n")) }
        }
        out += lump.bytes
    }
}

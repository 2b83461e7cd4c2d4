import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// What one accounting record is about (Kamailio's `acc_env`): the text before the fields,
/// the To header the tags come from, the code and reason.
struct AccEvent {
    /// `ACC: transaction answered: `, `ACC: call missed: `, ...
    var text: String
    /// The To header's tag (the reply's, else the request's).
    var toTag: String?
    /// The code as printed (`""` when a comment has none).
    var code: String
    var reason: String
    /// The request came from the callee (`detect_direction`): From and To tags swap.
    var upstream = false

    static let request = "ACC: request accounted: "
    static let missed = "ACC: call missed: "
    static let answered = "ACC: transaction answered: "
    static let acked = "ACC: request acknowledged: "
}

/// The log backend (Kamailio's `acc_log_request`): one line per record at `log_level` to
/// `log_facility`, `timestamp=...;method=...;from_tag=...;to_tag=...;call_id=...;code=...;reason=...`
/// then the `log_extra` attributes.
struct AccLogWriter {
    var level: LogLevel = .notice
    var facility: Int32 = LOG_DAEMON
    var extras: [AccExtra] = []

    static let facilities: [String: Int32] = [
        "LOG_DAEMON": LOG_DAEMON, "LOG_USER": LOG_USER, "LOG_AUTH": LOG_AUTH, "LOG_LOCAL0": LOG_LOCAL0,
        "LOG_LOCAL1": LOG_LOCAL1, "LOG_LOCAL2": LOG_LOCAL2, "LOG_LOCAL3": LOG_LOCAL3, "LOG_LOCAL4": LOG_LOCAL4,
        "LOG_LOCAL5": LOG_LOCAL5, "LOG_LOCAL6": LOG_LOCAL6, "LOG_LOCAL7": LOG_LOCAL7,
    ]

    /// The core values of a record (Kamailio's `core2strar`): method, From tag, To tag,
    /// Call-ID, code, reason; empty when missing.
    static func coreValues(_ request: SIPMessage, _ event: AccEvent) -> [String] {
        let method = (try? request.cseq()).map { String(decoding: request.buffer[$0.methodRange], as: UTF8.self) }
        let fromTag = event.upstream ? event.toTag : request.fromTag
        let toTag = event.upstream ? request.fromTag : event.toTag
        return [method ?? "", fromTag ?? "", toTag ?? "", request.callID ?? "", event.code, event.reason]
    }

    /// The names of the core values in log lines.
    static let coreNames = ["method", "from_tag", "to_tag", "call_id", "code", "reason"]

    /// The line for `request` (the fields without the text and timestamp).
    func fields(_ request: SIPMessage, _ ctx: MessageContext, _ event: AccEvent) -> String {
        var line = ""
        for (name, value) in zip(Self.coreNames, Self.coreValues(request, event)) { line += ";\(name)=\(value)" }
        for e in extras { line += ";\(e.name)=\(e.value(ctx))" }
        return line
    }

    /// Writes the record of `request` (the request itself, or the ACK with `report_ack`).
    func write(_ request: SIPMessage, _ ctx: MessageContext, _ event: AccEvent) {
        guard Log.enabled(level) else { return }
        let line = "\(event.text)timestamp=\(time(nil))" + fields(request, ctx, event)
        Log.write(
            level, module: "acc", locinfo: "acc [AccLog.swift:\(#line)]: acc_log_request(): ", line, facility: facility)
    }
}

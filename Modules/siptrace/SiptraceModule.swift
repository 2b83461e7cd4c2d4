import SwiftletSDK
import Synchronization

/// The `siptrace` module (Kamailio's `modules/siptrace`): copies of SIP messages to a capture
/// server over HEP (Homer, heplify-server), to a SIP peer (`duplicate_uri`), or into the
/// `sip_trace` table; per message, transaction or dialog from the script (`sip_trace()`), or
/// every message the server receives and sends (`trace_mode`).
final class SiptraceModule: @unchecked Sendable {
    let sender = TraceSender()
    let db = TraceDatabase()
    let sessions = TraceSessions()
    /// `trace_on`, switched at run time by `siptrace.status`.
    let traceOn = Atomic<Bool>(false)
    var traceOnParam = 0
    var traceFlag = -1
    var traceToDatabase = 1
    var traceMode = 0
    var initMode = 0
    var dataMode = 0
    var xheadersRead = false
    var localIP: String?
    var tracedUserAVP: String?
    var traceTableAVP: String?
    var core: CoreContext?
    var hasTM = false
    var hasDialog = false
    var requests: CounterHandle?
    var replies: CounterHandle?
    /// The record of the message `event_route[siptrace:msg]` runs on, by context, for
    /// `$siptrace(...)`.
    let eventRecords = Mutex([ObjectIdentifier: TraceRecord]())

    var exports: ModuleExports {
        let e = ModuleExports(name: "siptrace")
        e.parameters = parameters
        e.functions = functions
        e.pseudoVariables = [siptracePseudoVariable]
        e.rpcs = [
            RPCCommand("siptrace.status", "Sets or checks SIP tracing: on, off or check") { [self] r throws(RPCError) in
                try status(r)
            }
        ]
        e.initialize = { [self] context in try start(context) }
        e.netDataReceived = { [self] data in observe(data, received: true) }
        e.netDataSent = { [self] data in observe(data, received: false) }
        return e
    }

    func start(_ context: ModuleInitContext) throws {
        core = context.core
        sender.core = context.core
        traceOn.store(traceOnParam != 0, ordering: .relaxed)
        if let text = sender.duplicateText {
            guard let d = sender.destination(text) else {
                throw FixupError("siptrace: bad duplicate_uri: \(text)")
            }
            sender.duplicate = d
        }
        guard (1...3).contains(sender.hepVersion) else {
            throw FixupError("siptrace: unsupported hep_version \(sender.hepVersion) (1, 2 or 3)")
        }
        if traceToDatabase != 0 || traceMode & 2 != 0 { try db.open(context.core) }
        hasTM = context.core.apis.lookup(TransactionAPI.self) != nil
        hasDialog = context.core.apis.lookup(DialogAPI.self) != nil
        requests = try Counters.shared.register(
            group: "siptrace", name: "traced_requests", description: "traced requests", existingIsFine: true)
        replies = try Counters.shared.register(
            group: "siptrace", name: "traced_replies", description: "traced replies", existingIsFine: true)
    }

    /// `siptrace.status on|off|check`.
    func status(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard let s = try? r.string(0) else { throw RPCError(500, "Not enough parameters (on, off or check)") }
        switch s.lowercased() {
        case let v where v.hasPrefix("on"):
            traceOn.store(true, ordering: .relaxed)
            return .string("Enabled")
        case let v where v.hasPrefix("off"):
            traceOn.store(false, ordering: .relaxed)
            return .string("Disabled")
        case let v where v.hasPrefix("check"):
            return .string(traceOn.load(ordering: .relaxed) ? "Enabled" : "Disabled")
        default:
            throw RPCError(500, "Bad parameter (on, off or check)")
        }
    }

    /// The values of `traced_user_avp` on `ctx` (each gets its own row).
    func tracedUsers(_ ctx: MessageContext) -> [String] {
        guard let name = tracedUserAVP else { return [] }
        return (ctx.avps[name] ?? []).compactMap { if case .string(let s) = $0 { s } else { nil } }
    }

    /// `trace_table_avp`'s string value, when set.
    func traceTable(_ ctx: MessageContext) -> String? {
        guard let name = traceTableAVP, case .string(let s)? = ctx.avps[name]?.first, !s.isEmpty else { return nil }
        return s
    }

    /// Stores and sends `record` (Kamailio's `sip_trace_store`): the database, then HEP to the
    /// destination or `duplicate_uri`; without HEP a SIP copy when a destination was given or
    /// the database is off.
    @discardableResult
    func store(
        _ record: TraceRecord, to dst: Destination?, correlationID: String?, table: String? = nil,
        users: [String] = []
    ) -> Int {
        var record = record
        if xheadersRead, !record.readXHeaders() { return -1 }
        var ret = 1
        if traceToDatabase != 0 || traceMode & 2 != 0 {
            ret = db.store(record, table: table, users: users, traceOn: traceOn.load(ordering: .relaxed))
        }
        if sender.hepMode {
            sender.sendHEP(record, to: dst, correlationID: correlationID)
        } else if dst != nil || traceToDatabase == 0 {
            sender.sendDuplicate(record, to: dst)
        }
        (record.isReply ? replies : requests)?.increment()
        return ret
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "siptrace") { SiptraceModule().exports }
}

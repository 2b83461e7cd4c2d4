import SwiftletSDK

/// The `acc` module (Kamailio's `modules/acc`), log backend: `acc_log_request(comment)`
/// and transaction accounting through tm's callbacks. A request whose `log_flag`,
/// `log_missed_flag` or `failed_transaction_flag` is set when its transaction is created
/// gets a record when its final reply goes out (`transaction answered`), when an INVITE
/// fails (`call missed`, once), and for the ACK of a 2xx with `report_ack`.
final class AccModule {
    var earlyMedia = 0
    var reportAck = 0
    var reportCancels = 0
    var detectDirection = 0
    var failedTransactionFlag = -1
    var failedFilter: Set<Int> = []
    var logFlag = -1
    var logMissedFlag = -1
    var writer = AccLogWriter()
    var db = AccDatabaseWriter()
    var dbFlag = -1
    var dbMissedFlag = -1
    var extraText: String?
    var rr: RecordRouteAPI?

    var exports: ModuleExports {
        let e = ModuleExports(name: "acc")
        func int(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(v) })
        }
        e.parameters =
            [
                int("early_media") { self.earlyMedia = $0 },
                int("report_ack") { self.reportAck = $0 },
                int("report_cancels") { self.reportCancels = $0 },
                int("detect_direction") { self.detectDirection = $0 },
                int("failed_transaction_flag") { self.failedTransactionFlag = $0 },
                int("log_flag") { self.logFlag = $0 },
                int("log_missed_flag") { self.logMissedFlag = $0 },
                int("log_level") { self.writer.level = LogLevel(debugValue: $0) },
                ModuleParameter(
                    "failed_filter",
                    .string { (v: String) throws(FixupError) in
                        for c in v.split(separator: ",") {
                            guard let code = Int(c.accTrimmed(" ")), (100...699).contains(code) else {
                                throw FixupError("acc: invalid failed reply code filter: \(v)")
                            }
                            self.failedFilter.insert(code)
                        }
                    }),
                ModuleParameter(
                    "log_facility",
                    .string { (v: String) throws(FixupError) in
                        guard let f = AccLogWriter.facilities[v.uppercased()] else {
                            throw FixupError("acc: invalid log facility configured: \(v)")
                        }
                        self.writer.facility = f
                    }),
                ModuleParameter("log_extra", .string { (v: String) throws(FixupError) in self.extraText = v }),
                int("db_flag") { self.dbFlag = $0 },
                int("db_missed_flag") { self.dbMissedFlag = $0 },
                ModuleParameter("db_url", .string { (v: String) throws(FixupError) in self.db.url = v }),
                ModuleParameter("db_table_acc", .string { (v: String) throws(FixupError) in self.db.tableAcc = v }),
                ModuleParameter(
                    "db_table_missed_calls", .string { (v: String) throws(FixupError) in self.db.tableMissed = v }),
                ModuleParameter("db_extra", .string { (v: String) throws(FixupError) in self.db.extraText = v }),
                ModuleParameter(
                    "acc_time_column", .string { (v: String) throws(FixupError) in self.db.timeColumn = v }),
            ]
            + AccDatabaseWriter.columnParameters.enumerated().map { (i, name) in
                ModuleParameter(name, .string { (v: String) throws(FixupError) in self.db.columns[i] = v })
            }
        e.functions = [
            ScriptFunction("acc_log_request", parameters: 1, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) in
                let comment = try args[0].stringFormat()
                if (try? args[0].constantString()) == "" {
                    throw FixupError("first parameter is empty", at: args[0].location)
                }
                return { ctx in self.logRequest(ctx, comment: comment.render(ctx)) }
            },
            ScriptFunction("acc_db_request", parameters: 2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) in
                let comment = try args[0].stringFormat()
                let table = try args[1].stringFormat()
                if (try? args[0].constantString()) == "" {
                    throw FixupError("first parameter is empty", at: args[0].location)
                }
                return { ctx in self.dbRequest(ctx, comment: comment.render(ctx), table: table.render(ctx)) }
            },
        ]
        e.initialize = { context in try self.start(context) }
        return e
    }

    func start(_ context: ModuleInitContext) throws {
        for (name, flag) in [
            ("failed_transaction_flag", failedTransactionFlag), ("log_flag", logFlag),
            ("log_missed_flag", logMissedFlag), ("db_flag", dbFlag), ("db_missed_flag", dbMissedFlag),
        ] where flag != -1 && !(0...31).contains(flag) {
            throw FixupError("acc: \(name) set to invalid value")
        }
        if let extraText {
            do {
                writer.extras = try AccExtra.parse(extraText)
            } catch {
                throw FixupError("acc: failed to parse log_extra param (\(error.message))")
            }
        }
        try db.open(context.core)
        if detectDirection != 0 {
            rr = try context.requireAPI(RecordRouteAPI.self, by: "acc", from: "rr")
        }
        let tm = try context.requireAPI(TransactionCallbacksAPI.self, by: "acc", from: "tm")
        tm.registerRequestIn { [self] event in onRequestIn(event, tm) }
    }

    /// `acc_log_request(comment)`: a `request accounted` record of the request, the code
    /// and reason from the comment (`"200 OK"`, or only a reason; pseudo-variables are
    /// evaluated first).
    func logRequest(_ ctx: MessageContext, comment: String) -> Int {
        guard let event = commentEvent(ctx, comment) else { return -1 }
        writer.write(ctx.message, ctx, event)
        return 1
    }

    /// `acc_db_request(comment, table)`: the same record as a row of `table`.
    func dbRequest(_ ctx: MessageContext, comment: String, table: String) -> Int {
        guard let event = commentEvent(ctx, comment) else { return -1 }
        guard table.utf8.count < 64 else {
            Log.error("acc", "acc db table name too big [\(table)] max 64")
            return -1
        }
        return db.write(ctx.message, ctx, event, table: table)
    }

    /// The record of a script call: the request's To tag, code and reason from `comment`.
    func commentEvent(_ ctx: MessageContext, _ comment: String) -> AccEvent? {
        let m = ctx.message
        guard (try? m.cseq()) != nil, m.callID != nil, m.firstHeader(.from) != nil, m.firstHeader(.to) != nil else {
            Log.error("acc", "failed to preparse request")
            return nil
        }
        var code = ""
        var reason = Substring(comment)
        let u = Array(comment.utf8.prefix(3))
        if u.count == 3, u.allSatisfy({ (0x30...0x39).contains($0) }) {
            code = String(comment.prefix(3))
            reason = reason.dropFirst(3).drop { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        }
        return AccEvent(text: AccEvent.request, toTag: m.toTag, code: code, reason: String(reason))
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "acc") { AccModule().exports }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The database backend (Kamailio's `acc_db_request`): one row per record in `db_table_acc`
/// (or `db_table_missed_calls` for missed calls): method, from_tag, to_tag, callid,
/// sip_code, sip_reason, time, then the `db_extra` columns.
final class AccDatabaseWriter {
    var url = ""
    var tableAcc = "acc"
    var tableMissed = "missed_calls"
    var columns = ["method", "from_tag", "to_tag", "callid", "sip_code", "sip_reason"]
    var timeColumn = "time"
    var extraText: String?
    var extras: [AccExtra] = []
    var database: Database?

    /// The column-name parameters, in Kamailio's order of the core values.
    static let columnParameters = [
        "acc_method_column", "acc_from_tag_column", "acc_to_tag_column", "acc_callid_column",
        "acc_sip_code_column", "acc_sip_reason_column",
    ]

    /// mod_init: the extras and the connection (checked here, then one per worker).
    func open(_ core: CoreContext) throws {
        guard !url.isEmpty else { return }
        if let extraText {
            do {
                extras = try AccExtra.parse(extraText)
            } catch {
                throw FixupError("acc: failed to parse db_extra param (\(error.message))")
            }
        }
        do {
            let db = try Database(url: url, core: core)
            try db.connect()
            db.disconnect()
            database = db
        } catch {
            throw FixupError("acc: cannot use the database \(url): \(error)")
        }
    }

    /// Inserts the record of `request` into `table`; 1, or -1 when it fails.
    @discardableResult
    func write(_ request: SIPMessage, _ ctx: MessageContext, _ event: AccEvent, table: String) -> Int {
        guard let database else {
            Log.error("acc", "db support not configured")
            return -1
        }
        var row: [(String, DatabaseValue)] = []
        for (column, value) in zip(columns, AccLogWriter.coreValues(request, event)) {
            row.append((column, .str(value)))
        }
        row.append((timeColumn, .datetime(Int(time(nil)))))
        for e in extras { row.append((e.name, .str(e.value(ctx)))) }
        do {
            try database.insert(table, row)
        } catch {
            Log.error("acc", "failed to insert into database")
            return -1
        }
        return 1
    }
}

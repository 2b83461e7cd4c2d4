import SwiftletSDK

/// The `sip_trace` table (Kamailio's `sip_trace_store_db`): one row per traced message, and
/// one more per value of `traced_user_avp`.
final class TraceDatabase {
    var url = "mysql://kamailio:kamailiorw@localhost/kamailio"
    var table = "sip_trace"
    /// Column names in Kamailio's parameter order.
    var columns: [String: String] = [
        "date": "time_stamp", "callid": "callid", "traced_user": "traced_user", "msg": "msg", "method": "method",
        "status": "status", "fromip": "fromip", "toip": "toip", "fromtag": "fromtag", "totag": "totag",
        "direction": "direction",
    ]
    var database: Database?

    /// mod_init: checks the connection once (each worker opens its own).
    func open(_ core: CoreContext) throws {
        do {
            let db = try Database(url: url, core: core)
            try db.connect()
            db.disconnect()
            database = db
        } catch {
            throw FixupError("siptrace: cannot use the database \(url): \(error)")
        }
    }

    /// Inserts `record` into `table` (the script's `trace_table_avp` or the `table`
    /// parameter) once with an empty `traced_user` when tracing is on, then once per user.
    @discardableResult
    func store(_ record: TraceRecord, table: String?, users: [String], traceOn: Bool) -> Int {
        guard let database else { return -1 }
        func c(_ k: String) -> String { columns[k] ?? k }
        var row: [(String, DatabaseValue)] = [
            (c("msg"), .str(String(decoding: record.body, as: UTF8.self))),
            (c("callid"), .str(record.callID)), (c("method"), .str(record.method)),
            (c("status"), .str(record.status)), (c("fromip"), .str(record.fromIP)), (c("toip"), .str(record.toIP)),
            (c("date"), .datetime(Int(record.seconds))), (c("direction"), .str(record.direction)),
            (c("fromtag"), .str(record.fromTag)), (c("traced_user"), .str("")),
            ("time_us", .int(Int(record.microseconds))), (c("totag"), .str(record.toTag)),
        ]
        let target = table ?? self.table
        do {
            if traceOn { try database.insert(target, row) }
            for user in users {
                row[9] = (c("traced_user"), .str(user))
                try database.insert(target, row)
            }
        } catch {
            Log.error("siptrace", "error storing trace - \(error)")
            return -1
        }
        return 1
    }
}

import SwiftletSDK

/// `dlg_db_load_callid(callid)` and `dlg_db_load_extra()`: load dialogs another instance
/// stored in the shared `dialog` table while this one runs (Kamailio 5.6's
/// `load_dialog_info_from_db` modes 1 and 2).
extension DialogModule {
    var databaseLoadFunctions: [ScriptFunction] {
        [
            ScriptFunction("dlg_db_load_callid", parameters: 1, routes: .any) { args throws(FixupError) in
                let callID = try args[0].stringFormat()
                return { ctx in self.loadAtRunTime(callID: callID.render(ctx)) }
            },
            ScriptFunction("dlg_db_load_extra", parameters: 0, routes: .any) { _ throws(FixupError) in
                { _ in self.loadAtRunTime(callID: nil) }
            },
        ]
    }

    /// 1 when the query ran (dialogs already in memory are skipped), -1 without a database
    /// (`db_mode` 0) or when it fails.
    func loadAtRunTime(callID: String?) -> Int {
        guard let database else {
            Log.error("dialog", "no database connection (db_mode 0)")
            return -1
        }
        do {
            try loadDialogs(database, callID: callID.flatMap { $0.isEmpty ? nil : $0 }, atRunTime: true)
            return 1
        } catch {
            Log.error("dialog", "loading dialogs from the database failed: \(error)")
            return -1
        }
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// The dialog module's `db_mode` 1 on the private database servers: a confirmed call is
/// written to Kamailio's `dialog` and `dialog_vars` tables (under names of their own here),
/// a restarted core loads it back with its profile and variables, the BYE still matches
/// by `did`, and the rows go when the dialog ends.
@Suite(.serialized) struct DialogDatabaseTests {
    static let engines = DatabaseEngine.allCases.filter(\.isInstalled)
    typealias T = DialogModuleTests

    /// Kamailio's two tables under `name` and `name_vars`, with their version rows.
    static func createTables(_ engine: DatabaseEngine, _ name: String) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/dbschema.sh").path
        let version = try runProcess("/bin/bash", [script, engine.rawValue, "version"])
        try engine.sql(
            version.split(separator: "\n").filter { !$0.hasPrefix("INSERT") }.joined(separator: "\n")
                .replacingOccurrences(of: "CREATE TABLE ", with: "CREATE TABLE IF NOT EXISTS "))
        var sql = try runProcess("/bin/bash", [script, engine.rawValue, "--drop", "dialog", "dialog_vars"])
        // Table names only (not the dialog_key/dialog_value columns), quoted or not.
        for (from, to) in [("dialog_vars", name + "_vars"), ("dialog", name)] {
            for (open, close) in [("`", "`"), ("'", "'"), (" ", " "), (" ", ";")] {
                sql = sql.replacingOccurrences(of: open + from + close, with: open + to + close)
            }
        }
        sql = sql.replacingOccurrences(of: "dialog_hash_idx", with: name + "_hash_idx")
            .replacingOccurrences(of: "dialog_vars_hash_idx", with: name + "_vars_hash_idx")
        try engine.sql(sql)
    }

    static func core(_ url: String, _ table: String) throws -> EmbeddedCore {
        let params = """
            loadmodule "\(url.hasPrefix("postgres") ? "db_postgres" : "db_mysql").so"
            modparam("dialog", "db_url", "\(url)")
            modparam("dialog", "db_mode", 1)
            modparam("dialog", "table_name", "\(table)")
            modparam("dialog", "vars_table_name", "\(table)_vars")
            """
        return try EmbeddedCore(config: T.config(params), modulePath: productsDirectory)
    }

    @Test(arguments: engines)
    func confirmedDialogsSurviveARestart(engine: DatabaseEngine) throws {
        let table = "dlg_\(engine.rawValue)_\(UInt32.random(in: 0..<UInt32.max))"
        try Self.createTables(engine, table)
        let url = try engine.url()
        var core: EmbeddedCore? = try Self.core(url, table)
        let (_, route) = try T.confirmedCall(core!, callID: "db-1")
        let stored = try engine.sql("SELECT callid, from_tag, to_tag, state, callee_contact FROM \(table)")
        #expect(
            stored.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\t", with: "|")
                == "db-1|a1|b1|4|sip:bob@127.0.0.2:5080")
        let xdata = try engine.sql("SELECT xdata FROM \(table)").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(xdata == #"{"profiles":[{"name":"caller","value":"alice"},{"name":"calls"}]}"#)
        let vars = try engine.sql("SELECT dialog_key, dialog_value FROM \(table)_vars ORDER BY dialog_key")
        #expect(
            vars.replacingOccurrences(of: "\t", with: "|").split(separator: "\n") == [
                "pending|before", "route|request",
            ])
        let before = try #require(try T.dialogs(core!).first)
        core?.shutdown()
        core = nil

        let restarted = try Self.core(url, table)
        let list = try T.dialogs(restarted)
        #expect(list.count == 1)
        let d = try #require(list.first)
        #expect(d["h_entry"] == before["h_entry"] && d["h_id"] == before["h_id"])
        #expect(d["state"] == .int(4))
        #expect(d["callee"]?["contact"] == .string("sip:bob@127.0.0.2:5080"))
        // Linked again in the stored order, each in front (as Kamailio's dlg_json_to_profiles).
        #expect(d["profiles"] == .array([.string("calls"), .object([("caller", .string("alice"))])]))
        #expect(try T.rpc(restarted, "dlg.profile_get_size", .string("calls")) == .int(1))
        #expect(d["variables"]?.count == 2)
        restarted.receive(
            T.inDialog("BYE", callID: "db-1", route: route, fromCaller: true, cseq: 11, branch: "db-bye"),
            from: T.caller)
        let bye = try #require(restarted.takeSent().first { $0.firstLine.hasPrefix("BYE") })
        #expect(T.sht(restarted, "end") == .int(1))
        #expect(try T.rpc(restarted, "dlg.profile_get_size", .string("calls")) == .int(0))
        restarted.receive(TMModuleTests.reply(to: bye, 200, "OK", toTag: nil), from: T.callee)
        restarted.advance(milliseconds: 6000)
        #expect(try T.dialogs(restarted).isEmpty)
        #expect(try engine.sql("SELECT count(*) FROM \(table)").trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(
            try engine.sql("SELECT count(*) FROM \(table)_vars").trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        restarted.shutdown()
    }
}

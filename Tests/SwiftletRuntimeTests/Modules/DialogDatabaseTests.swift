import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
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
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/dbschema.sh")
                .path
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
            #expect(
                try engine.sql("SELECT count(*) FROM \(table)").trimmingCharacters(in: .whitespacesAndNewlines) == "0")
            #expect(
                try engine.sql("SELECT count(*) FROM \(table)_vars").trimmingCharacters(in: .whitespacesAndNewlines)
                    == "0")
            restarted.shutdown()
        }
    }
}

extension DatabaseSuites.DialogDatabaseTests {
    /// Engines whose Kamailio driver module is installed.
    static let kamailioEngines = engines.filter {
        kamailioPath != nil && FileManager.default.fileExists(atPath: kamailioModules + $0.module + ".so")
    }

    /// Kamailio 5.6.3 loads the dialog Swiftlet stored: same columns, values and `xdata`.
    @Test(arguments: kamailioEngines)
    func kamailioLoadsTheStoredDialog(engine: DatabaseEngine) throws {
        let table = "dlgk_\(engine.rawValue)_\(UInt32.random(in: 0..<UInt32.max))"
        try Self.createTables(engine, table)
        let url = try engine.url()
        let core = try Self.core(url, table)
        _ = try T.confirmedCall(core, callID: "db-k")
        let mine = try #require(try T.dialogs(core).first)
        core.shutdown()

        let dir = TemporaryDirectory()
        let socket = dir.path + "/rpc.sock"
        let kamailio = try KamailioTestServer(
            config: """
                debug=2
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                mpath="\(kamailioModules)"
                loadmodule "\(engine.module).so"
                loadmodule "tm.so"
                loadmodule "rr.so"
                loadmodule "sl.so"
                loadmodule "pv.so"
                loadmodule "jsonrpcs.so"
                loadmodule "dialog.so"
                modparam("jsonrpcs", "dgram_socket", "\(socket)")
                modparam("jsonrpcs", "transport", 4)
                modparam("dialog", "db_url", "\(url)")
                modparam("dialog", "db_mode", 1)
                modparam("dialog", "table_name", "\(table)")
                modparam("dialog", "vars_table_name", "\(table)_vars")
                modparam("dialog", "profiles_no_value", "calls")
                modparam("dialog", "profiles_with_value", "caller ; dst")
                request_route { drop; }
                """)
        defer { kamailio.stop() }
        var list: [[String: Any]] = []
        for _ in 0..<50 {
            if let l = try CountersRPCTests.call(socket, ["dlg.list"])["result"] as? [[String: Any]] {
                list = l
                break
            }
            usleep(100_000)
        }
        #expect(list.count == 1, "\(kamailio.log.suffix(2000))")
        let d = try #require(list.first)
        #expect(d["h_entry"] as? Int == mine["h_entry"].flatMap { if case .int(let i) = $0 { i } else { nil } })
        #expect(d["h_id"] as? Int == mine["h_id"].flatMap { if case .int(let i) = $0 { i } else { nil } })
        #expect(d["call-id"] as? String == "db-k")
        #expect(d["state"] as? Int == 4)
        #expect(d["from_uri"] as? String == "sip:alice@127.0.0.1")
        let caller = d["caller"] as? [String: Any]
        let callee = d["callee"] as? [String: Any]
        #expect(caller?["tag"] as? String == "a1")
        #expect(caller?["contact"] as? String == "sip:alice@127.0.0.1:5070")
        #expect(caller?["cseq"] as? String == "10")
        #expect(callee?["tag"] as? String == "b1")
        #expect(callee?["contact"] as? String == "sip:bob@127.0.0.2:5080")
        #expect(callee?["cseq"] as? String == "0")
        #expect((d["profiles"] as? [Any])?.count == 2)
        let variables = (d["variables"] as? [[String: String]]) ?? []
        #expect(Set(variables.flatMap { $0.map { "\($0.key)=\($0.value)" } }) == ["route=request", "pending=before"])
    }
}

extension DatabaseSuites.DialogDatabaseTests {
    /// `dlg_db_load_callid` and `dlg_db_load_extra`: a second instance (started with
    /// `db_skip_load`) takes the dialogs the first stored, one Call-ID or all, without
    /// duplicates; the loaded dialog ends with the BYE that matches it.
    @Test(arguments: engines)
    func dialogsStoredByAnotherInstanceLoadAtRunTime(engine: DatabaseEngine) throws {
        let table = "dlgl_\(engine.rawValue)_\(UInt32.random(in: 0..<UInt32.max))"
        try Self.createTables(engine, table)
        let url = try engine.url()
        let first = try Self.core(url, table)
        _ = try T.confirmedCall(first, callID: "db-2")
        let (_, route3) = try T.confirmedCall(first, callID: "db-3")
        first.shutdown()

        let params = """
            loadmodule "\(url.hasPrefix("postgres") ? "db_postgres" : "db_mysql").so"
            modparam("dialog", "db_url", "\(url)")
            modparam("dialog", "db_mode", 1)
            modparam("dialog", "db_skip_load", 1)
            modparam("dialog", "table_name", "\(table)")
            modparam("dialog", "vars_table_name", "\(table)_vars")
            """
        let request = """
            if (is_method("OPTIONS")) {
                if ($hdr(X-Load) != $null) { dlg_db_load_callid("$hdr(X-Load)"); }
                else { dlg_db_load_extra(); }
                $sht(ev=>load) = $rc;
                sl_send_reply("200", "OK");
                exit;
            }
            dlg_manage();
            """
        let second = try EmbeddedCore(config: T.config(params, request: request), modulePath: productsDirectory)
        defer { second.shutdown() }
        #expect(try T.dialogs(second).isEmpty)
        func options(_ header: String) {
            second.receive(
                [
                    "OPTIONS sip:127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-o\(header.count)",
                    "From: <sip:alice@127.0.0.1>;tag=o1", "To: <sip:127.0.0.1>", "Call-ID: load-\(header.count)",
                    "CSeq: 1 OPTIONS", header, "Content-Length: 0",
                ].joined(separator: "\r\n") + "\r\n\r\n", from: T.caller)
            _ = second.takeSent()
        }
        options("X-Load: db-2")
        #expect(T.sht(second, "load") == .int(1))
        var list = try T.dialogs(second)
        #expect(list.map { $0["call-id"] } == [.string("db-2")])
        #expect(list.first?["variables"]?.count == 2)
        #expect(try T.rpc(second, "dlg.profile_get_size", .string("calls")) == .int(1))
        options("X-Load: db-2")  // already in memory: skipped
        #expect(try T.dialogs(second).count == 1)
        options("X-Other: extra")
        list = try T.dialogs(second)
        #expect(
            Set(list.compactMap { if case .string(let c)? = $0["call-id"] { c } else { nil } }) == ["db-2", "db-3"])
        #expect(list.first { $0["call-id"] == .string("db-2") }?["variables"]?.count == 2)
        #expect(try T.rpc(second, "dlg.profile_get_size", .string("calls")) == .int(2))
        second.receive(
            T.inDialog("BYE", callID: "db-3", route: route3, fromCaller: true, cseq: 11, branch: "db-bye3"),
            from: T.caller)
        #expect(second.takeSent().contains { $0.firstLine.hasPrefix("BYE") })
        #expect(try T.rpc(second, "dlg.profile_get_size", .string("calls")) == .int(1))
    }
}

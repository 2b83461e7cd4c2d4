import Foundation
import Testing

/// The acc module's database backend on the private database servers: a 486 call through
/// tm is a row in the missed-calls table and one in the acc table (failed transaction),
/// with the `db_extra` columns, and `acc_db_request` writes a row of the named table.
@Suite(.serialized) struct AccDatabaseTests {
    static let engines = DatabaseEngine.allCases.filter(\.isInstalled)

    /// An acc-shaped table (Kamailio's columns plus two extras).
    static func createTable(_ engine: DatabaseEngine, _ name: String) throws {
        let time = engine == .postgres ? "TIMESTAMP WITHOUT TIME ZONE" : "DATETIME"
        _ = try engine.sql(
            """
            CREATE TABLE \(name) (id SERIAL PRIMARY KEY NOT NULL, method VARCHAR(16) DEFAULT '' NOT NULL,
            from_tag VARCHAR(128) DEFAULT '' NOT NULL, to_tag VARCHAR(128) DEFAULT '' NOT NULL,
            callid VARCHAR(255) DEFAULT '' NOT NULL, sip_code VARCHAR(3) DEFAULT '' NOT NULL,
            sip_reason VARCHAR(128) DEFAULT '' NOT NULL, time \(time) NOT NULL,
            src_user VARCHAR(64) DEFAULT '' NOT NULL, dst_user VARCHAR(64) DEFAULT '' NOT NULL);
            """)
    }

    static func rows(_ engine: DatabaseEngine, _ table: String) throws -> [String] {
        try engine.sql(
            "SELECT method, sip_code, sip_reason, src_user, dst_user, callid, from_tag, to_tag FROM \(table) ORDER BY id"
        ).split(separator: "\n").map { $0.replacingOccurrences(of: "\t", with: "|") }
    }

    @Test(.enabled(if: sippPath != nil, "sipp is not installed"), arguments: engines)
    func busyCallAndScriptRecordsAreRows(engine: DatabaseEngine) throws {
        let suffix = "\(engine.rawValue)_\(UInt32.random(in: 0..<UInt32.max))"
        let (acc, missed) = ("acc_\(suffix)", "mc_\(suffix)")
        try Self.createTable(engine, acc)
        try Self.createTable(engine, missed)
        let url = try engine.url()
        let uasPort = freeUDPPort()
        let extra = """
            loadmodule "\(engine == .postgres ? "db_postgres" : "db_mysql").so"
            modparam("acc", "db_url", "\(url)")
            modparam("acc", "db_flag", 1)
            modparam("acc", "db_missed_flag", 2)
            modparam("acc", "db_table_acc", "\(acc)")
            modparam("acc", "db_table_missed_calls", "\(missed)")
            modparam("acc", "db_extra", "src_user=$fU;dst_user=$rU")
            """
        let config = AccModuleTests.config(uasPort: uasPort, extra: extra).replacingOccurrences(
            of: "acc_log_request(\"just a note $ci\");", with: "acc_db_request(\"200 noted\", \"\(acc)\");")
        let server = try TestServer(config: config)
        try AccModuleTests().run(server, uas: "acc/uas-busy.xml", uac: "acc/uac-busy.xml", uasPort: uasPort)
        #expect(server.waitForLog("ACC: transaction answered"), "\(server.log)")
        let missedRows = try Self.rows(engine, missed)
        #expect(missedRows.count == 1, "\(missedRows) \(server.log)")
        #expect(
            missedRows.first?.wholeMatch(
                of: try Regex(
                    #"INVITE\|486\|Busy Here\|sipp\|service\|1-[0-9]+@127\.0\.0\.1\|[0-9]+SIPpTag001\|[0-9]+SIPpTag011"#
                ))
                != nil, "\(missedRows)")
        var accRows = try Self.rows(engine, acc)
        #expect(
            accRows.count == 1 && accRows.first?.hasPrefix("INVITE|486|Busy Here|sipp|service|") == true, "\(accRows)")

        let client = UDPClient()
        client.send(sipRequest(optionsRequest(callID: "db-opt"), clientPort: client.port), to: server.port)
        _ = try #require(client.receive(), "no reply; log: \(server.log)")
        accRows = try Self.rows(engine, acc)
        #expect(accRows.last == "OPTIONS|200|noted|alice|alice|db-opt|abc|", "\(accRows)")
        #expect(server.stop() == 0)
        _ = try engine.sql("DROP TABLE \(acc); DROP TABLE \(missed);")
    }
}

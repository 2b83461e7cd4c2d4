import Foundation
import Testing

/// siptrace's `sip_trace` table on the private database servers: `sip_trace()` stores the
/// request as a row (Kamailio's columns and values) and one more row per `traced_user_avp`
/// value.
@Suite(.serialized) struct SiptraceDatabaseTests {
    static let engines = DatabaseEngine.allCases.filter(\.isInstalled)

    /// Kamailio 5.6's `sip_trace` table (siptrace-create.sql) under another name.
    static func createTable(_ engine: DatabaseEngine, _ name: String) throws {
        let (id, time) =
            engine == .postgres
            ? ("id SERIAL PRIMARY KEY NOT NULL", "TIMESTAMP WITHOUT TIME ZONE")
            : ("id INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL", "DATETIME")
        _ = try engine.sql(
            """
            CREATE TABLE \(name) (\(id), time_stamp \(time) DEFAULT '2000-01-01 00:00:01' NOT NULL,
            time_us INTEGER DEFAULT 0 NOT NULL, callid VARCHAR(255) DEFAULT '' NOT NULL,
            traced_user VARCHAR(255) DEFAULT '' NOT NULL, msg TEXT NOT NULL, method VARCHAR(50) DEFAULT '' NOT NULL,
            status VARCHAR(255) DEFAULT '' NOT NULL, fromip VARCHAR(64) DEFAULT '' NOT NULL,
            toip VARCHAR(64) DEFAULT '' NOT NULL, fromtag VARCHAR(128) DEFAULT '' NOT NULL,
            totag VARCHAR(128) DEFAULT '' NOT NULL, direction VARCHAR(4) DEFAULT '' NOT NULL);
            """)
    }

    @Test(arguments: engines) func sipTraceStoresRows(engine: DatabaseEngine) throws {
        let table = "st_\(engine.rawValue)_\(UInt32.random(in: 0..<UInt32.max))"
        try Self.createTable(engine, table)
        defer { _ = try? engine.sql("DROP TABLE \(table);") }
        let server = try TestServer(
            config: """
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "pv.so"
                loadmodule "\(engine == .postgres ? "db_postgres" : "db_mysql").so"
                loadmodule "siptrace.so"
                modparam("siptrace", "db_url", "\(try engine.url())")
                modparam("siptrace", "table", "\(table)")
                modparam("siptrace", "trace_on", 1)
                modparam("siptrace", "traced_user_avp", "$avp(tu)")
                request_route {
                    if ($ci == "db-1") {
                        $avp(tu) = "sip:carol@example.com";
                        sip_trace();
                    }
                    sl_send_reply("200", "OK");
                }
                """)
        let client = UDPClient()
        client.send(SiptraceTests.options("db-1", clientPort: client.port, serverPort: server.port), to: server.port)
        #expect(client.receive()?.hasPrefix("SIP/2.0 200") == true)
        let rows = try engine.sql(
            "SELECT callid, traced_user, method, status, fromip, toip, fromtag, totag, direction FROM \(table) ORDER BY id"
        ).split(separator: "\n").map { $0.replacingOccurrences(of: "\t", with: "|") }
        try #require(rows.count == 2, "\(rows) \(server.log)")
        let from = "udp:127.0.0.1:\(client.port)"
        let to = "udp:127.0.0.1:\(server.port)"
        #expect(rows[0] == "db-1||OPTIONS||\(from)|\(to)|ft-db-1||in")
        #expect(rows[1] == "db-1|sip:carol@example.com|OPTIONS||\(from)|\(to)|ft-db-1||in")
        let stored = try engine.sql(
            "SELECT COUNT(*) FROM \(table) WHERE msg LIKE 'OPTIONS sip:alice@127.0.0.1:\(server.port) SIP/2.0%Call-ID: db-1%'"
        )
        #expect(stored.trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        #expect(server.stop() == 0)
    }
}

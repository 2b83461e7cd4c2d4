import Foundation
import Testing

/// xhttp_prom through the running binary: `/metrics` in Prometheus' text format with
/// Kamailio's names, user-defined counters, gauges and histograms changed from the script
/// and over RPC, and the statistics `xhttp_prom_stats` selects.
@Suite(.serialized) struct XHTTPPromServerTests {
    static func config(stats: String) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        tcp_children=2
        listen=udp:127.0.0.1:PORT
        listen=tcp:127.0.0.1:PORT
        tcp_accept_no_cl=yes
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "xhttp.so"
        loadmodule "xhttp_prom.so"
        loadmodule "jsonrpcs.so"
        modparam("jsonrpcs", "transport", 1)
        modparam("xhttp_prom", "xhttp_prom_stats", "\(stats)")
        modparam("xhttp_prom", "prom_counter", "name=requests_total; label=method:status")
        modparam("xhttp_prom", "prom_gauge", "name=temp")
        modparam("xhttp_prom", "prom_histogram", "name=latency; buckets=0.1:1")
        request_route {
            sl_send_reply("404", "Not Here");
        }
        event_route[xhttp:request] {
            if (prom_check_uri()) {
                prom_counter_inc("requests_total", "1", "$rm", "200");
                prom_gauge_set("temp", "2.5");
                prom_histogram_observe("latency", "0.5");
                prom_dispatch();
                exit;
            }
            if ($hu =~ "^/RPC") {
                jsonrpc_dispatch();
                exit;
            }
            xhttp_reply("404", "Not Found", "text/plain", "no");
        }
        """
    }

    static func metrics(_ port: Int) throws -> (head: String, lines: [String]) {
        let r = try XHTTPServerTests.curl(["http://127.0.0.1:\(port)/metrics"])
        let parts = r.components(separatedBy: "\r\n\r\n")
        return (parts[0], (parts.count > 1 ? parts[1] : "").components(separatedBy: "\n"))
    }

    /// `name value` of a metric line (the timestamp dropped), checking it is in milliseconds.
    static func sample(_ lines: [String], _ name: String) -> String? {
        guard let l = lines.first(where: { $0.hasPrefix(name + " ") }) else { return nil }
        let f = l.split(separator: " ")
        guard f.count >= 3, let ts = Int(f.last!), ts > 1_600_000_000_000 else { return "bad timestamp: \(l)" }
        return f.dropLast().joined(separator: " ")
    }

    @Test(.enabled(if: curlPath != nil, "curl is not installed")) func metricsPageWithUserMetricsAndStatistics() throws
    {
        let server = try TestServer(config: Self.config(stats: "all"))
        // A SIP request first, so a core counter moves.
        let udp = UDPClient()
        udp.send(
            sipRequest(
                [
                    "OPTIONS sip:x@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:\(udp.port);branch=z9hG4bK-p1",
                    "From: <sip:t@test>;tag=1", "To: <sip:x@127.0.0.1>", "Call-ID: prom@test", "CSeq: 1 OPTIONS",
                    "Content-Length: 0",
                ], clientPort: udp.port), to: server.port)
        #expect(udp.receive()?.hasPrefix("SIP/2.0 404") == true)

        let (head, lines) = try Self.metrics(server.port)
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(head) log: \(server.log)")
        #expect(head.contains("Content-Type: text/plain; version=0.0.4"))
        #expect(lines.first == "# User defined metrics")
        #expect(
            Self.sample(lines, #"kamailio_requests_total{method="GET", status="200"}"#)
                == #"kamailio_requests_total{method="GET", status="200"} 1"#)
        #expect(Self.sample(lines, "kamailio_temp") == "kamailio_temp 2.500000")
        #expect(
            Self.sample(lines, #"kamailio_latency_bucket{le="0.100000"}"#)
                == #"kamailio_latency_bucket{le="0.100000"} 0"#)
        #expect(
            Self.sample(lines, #"kamailio_latency_bucket{le="1.000000"}"#)
                == #"kamailio_latency_bucket{le="1.000000"} 1"#)
        #expect(Self.sample(lines, #"kamailio_latency_bucket{le="+Inf"}"#) == #"kamailio_latency_bucket{le="+Inf"} 1"#)
        #expect(Self.sample(lines, "kamailio_latency_sum") == "kamailio_latency_sum 0.500000")
        #expect(Self.sample(lines, "kamailio_latency_count") == "kamailio_latency_count 1")
        #expect(lines.contains("# Kamailio whole internal statistics"))
        #expect(Self.sample(lines, "kamailio_core_rcv_requests_options") == "kamailio_core_rcv_requests_options 1")
        #expect(Self.sample(lines, "kamailio_sl_404_replies") == "kamailio_sl_404_replies 1", "\(lines)")
        // curl's own connection is the one open.
        #expect(
            Self.sample(lines, "kamailio_tcp_current_opened_connections") == "kamailio_tcp_current_opened_connections 1"
        )

        // Over RPC, then the page again.
        let rpc = try WebSocketServerTests.rpc(
            server.port, "xhttp_prom.counter_inc", #"["requests_total", 5, "GET", "200"]"#)
        #expect(rpc.status == "HTTP/1.1 200 OK")
        let missing = try WebSocketServerTests.rpc(server.port, "xhttp_prom.gauge_set", #"["nothing", "1"]"#)
        #expect(missing.status.hasPrefix("HTTP/1.1 500 "))
        let again = try Self.metrics(server.port).lines
        #expect(Self.sample(again, #"kamailio_requests_total{method="GET", status="200"}"#)?.hasSuffix(" 7") == true)
    }

    @Test(.enabled(if: curlPath != nil, "curl is not installed")) func oneGroupOfStatistics() throws {
        let server = try TestServer(config: Self.config(stats: "sl:"))
        let lines = try Self.metrics(server.port).lines
        #expect(lines.contains("# Kamailio statistics for group: sl:"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("kamailio_sl_200_replies 0 ") })
        #expect(!lines.contains { $0.hasPrefix("kamailio_core_") })
    }

    /// etc/grafana/swiftlet-dashboard.json graphs only metrics the server has.
    @Test(.enabled(if: curlPath != nil, "curl is not installed")) func theGrafanaDashboardUsesExistingMetrics() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let dashboard = try String(
            contentsOf: root.appendingPathComponent("etc/grafana/swiftlet-dashboard.json"), encoding: .utf8)
        let names = Set(dashboard.matches(of: try Regex("kamailio_[A-Za-z0-9_]+")).map { String(dashboard[$0.range]) })
        #expect(names.count > 30)
        let config = Self.config(stats: "all").replacingOccurrences(
            of: "loadmodule \"jsonrpcs.so\"",
            with: """
                loadmodule "jsonrpcs.so"
                loadmodule "tm.so"
                loadmodule "tmx.so"
                loadmodule "usrloc.so"
                loadmodule "registrar.so"
                loadmodule "websocket.so"
                loadmodule "kex.so"
                """)
        let server = try TestServer(config: config)
        let served = Set(
            try Self.metrics(server.port).lines.compactMap { $0.split(separator: " ").first.map(String.init) })
        for name in names.sorted() {
            #expect(served.contains(name), "\(name) is not served; log: \(server.log.suffix(500))")
        }
    }
}

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A publish queue that fills: the nats server is frozen (SIGSTOP: it holds the connection
/// and reads nothing), so the one publish worker blocks in its write while a request
/// publishes 30,000 messages of 2.5 KB. Once the 8192 queued messages are waiting,
/// `nats_publish` returns -1 (Kamailio's SIP worker would block in its pipe write instead:
/// see the README), the error is logged, and the server goes on answering OPTIONS at once;
/// thawed, the server gets the queued messages and `nats_publish` succeeds again.
@Suite(.serialized, .enabled(if: natsServerPath != nil, "nats-server is not installed (apt-get install nats-server)"))
struct NATSQueueFullTests {
    static func config(url: String) -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=2
        disable_tcp=yes
        auto_aliases=no
        max_while_loops=100000
        listen=udp:127.0.0.1:PORT
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "xlog.so"
        loadmodule "textops.so"
        loadmodule "nats.so"
        modparam("nats", "nats_url", "\(url)")
        modparam("nats", "num_publish_workers", 1)
        request_route {
            if ($hdr(X-Burst) != $null) {
                $var(p) = "0123456789";
                $var(i) = 0;
                while ($var(i) < 8) { $var(p) = $var(p) + $var(p); $var(i) = $var(i) + 1; }
                $var(i) = 0;
                $var(ok) = 0;
                $var(failed) = 0;
                $var(n) = $(hdr(X-Burst){s.int});
                while ($var(i) < $var(n)) {
                    nats_publish("burst", "$var(i) $var(p)");
                    $var(rc) = $rc;
                    if ($var(rc) == 1) { $var(ok) = $var(ok) + 1; }
                    else if ($var(rc) == -1) { $var(failed) = $var(failed) + 1; }
                    $var(i) = $var(i) + 1;
                }
                append_to_reply("X-OK: $var(ok)\\r\\nX-Failed: $var(failed)\\r\\n");
                sl_send_reply("200", "burst");
                exit;
            }
            if (!nats_publish("sip.$rm", "$rm $fU $ci")) {
                sl_send_reply("500", "NATS publish failed");
                exit;
            }
            sl_send_reply("200", "OK");
        }
        event_route[nats:connected] {
            xlog("L_INFO", "NATS-EVENT connected\\n");
        }
        """
    }

    static func header(_ name: String, in message: String) -> Int? {
        message.components(separatedBy: "\r\n").first { $0.hasPrefix(name + ": ") }
            .flatMap { Int($0.dropFirst(name.count + 2)) }
    }

    @Test func aFullQueueMakesNatsPublishFailWhileOptionsAreAnswered() throws {
        let nats = try NATSTestServer()
        let subscriber = try NATSTestClient(port: nats.port, subscribe: ["sip.OPTIONS"])
        let server = try TestServer(config: Self.config(url: nats.url))
        defer { server.stop() }
        #expect(server.waitForLog("NATS-EVENT connected", timeout: 10))
        let client = UDPClient()
        #expect(NATSModuleTests.ask(client, 1, server) == "SIP/2.0 200 OK")
        nats.pause()
        defer { nats.resume() }

        let burst = NATSModuleTests.options(2, client.port).replacingOccurrences(
            of: "Content-Length: 0", with: "X-Burst: 30000\r\nContent-Length: 0")
        client.send(burst, to: server.port)
        // Meanwhile the other SIP worker answers at once, whether its nats_publish found room
        // (200) or not (500).
        usleep(50_000)
        let other = UDPClient()
        let started = Date()
        let answer = NATSModuleTests.ask(other, 3, server)
        #expect(answer == "SIP/2.0 200 OK" || answer == "SIP/2.0 500 NATS publish failed", "\(answer ?? "none")")
        #expect(Date().timeIntervalSince(started) < 1)

        let reply = try #require(client.receive(timeout: 20), "the burst is answered")
        let ok = try #require(Self.header("X-OK", in: reply))
        let failed = try #require(Self.header("X-Failed", in: reply))
        #expect(ok + failed == 30000, "every nats_publish returned 1 or -1")
        #expect(ok >= 8192, "at least the queue's 8192 were taken: \(ok)")
        #expect(failed > 0, "the queue filled: \(failed) refused")
        #expect(server.waitForLog("nats_publish: the publish queues are full (8192 messages per worker)"))

        // Thawed, the worker empties its queue and publishing works again.
        nats.resume()
        #expect(
            NATSModuleTests.waitUntil(30) {
                NATSModuleTests.ask(client, 4, server, timeout: 1) == "SIP/2.0 200 OK"
            })
        #expect(
            NATSModuleTests.waitUntil(20) {
                subscriber.messages(count: 1000, timeout: 0.5).contains { $0.payload.contains("nats-4-\(client.port)") }
            })
    }
}

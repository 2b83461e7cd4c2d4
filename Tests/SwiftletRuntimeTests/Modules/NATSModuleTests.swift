import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The nats module against a private nats-server: nats_publish from the script seen by a
/// NATS subscriber, messages published to NATS running event_route[nats:<subject>] with
/// $natsData, queue groups, the connection events, and a server that restarts or is absent.
@Suite(.serialized, .enabled(if: natsServerPath != nil, "nats-server is not installed (apt-get install nats-server)"))
struct NATSModuleTests {
    /// A configuration publishing every request as "<method> <from user> <call-id>" to
    /// `sip.<method>` and logging what comes in on the subscriptions.
    static func config(
        urls: [String], subscriptions: [String] = ["inbound:workers"], extra: String = "", prelude: String = ""
    ) -> String {
        let urlLines = urls.map { #"modparam("nats", "nats_url", "\#($0)")"# }.joined(separator: "\n")
        let subLines = subscriptions.map { #"modparam("nats", "subject_queue_group", "\#($0)")"# }
            .joined(separator: "\n")
        return """
            #!KAMAILIO
            debug=2
            log_stderror=yes
            children=2
            disable_tcp=yes
            auto_aliases=no
            listen=udp:127.0.0.1:PORT
            \(prelude)
            loadmodule "sl.so"
            loadmodule "pv.so"
            loadmodule "xlog.so"
            loadmodule "nats.so"
            \(urlLines)
            \(subLines)
            \(extra)
            request_route {
                if (!nats_publish("sip.$rm", "$rm $fU $ci")) {
                    sl_send_reply("500", "NATS publish failed");
                    exit;
                }
                sl_send_reply("200", "OK");
            }
            event_route[nats:inbound] {
                xlog("L_INFO", "NATS-IN [$natsData] pid-route\\n");
            }
            event_route[nats:connected] {
                xlog("L_INFO", "NATS-EVENT connected natsData=$natsData\\n");
            }
            event_route[nats:disconnected] {
                xlog("L_INFO", "NATS-EVENT disconnected\\n");
            }
            """
    }

    static func options(_ n: Int, _ port: Int, user: String = "alice") -> String {
        [
            "OPTIONS sip:x@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:\(port);branch=z9hG4bK-n\(n);rport",
            "From: <sip:\(user)@example.org>;tag=n\(n)", "To: <sip:x@127.0.0.1>", "Call-ID: nats-\(n)-\(port)",
            "CSeq: 1 OPTIONS", "Max-Forwards: 70", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// Sends OPTIONS number `n` and returns the reply's first line.
    static func ask(_ client: UDPClient, _ n: Int, _ server: TestServer, timeout: Double = 2) -> String? {
        client.send(options(n, client.port), to: server.port)
        return client.receive(timeout: timeout)?.components(separatedBy: "\r\n").first
    }

    static func occurrences(_ text: String, in log: String) -> Int { log.components(separatedBy: text).count - 1 }

    static func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    @Test func publishedRequestsReachASubscriber() throws {
        let nats = try NATSTestServer()
        let subscriber = try NATSTestClient(port: nats.port, subscribe: ["sip.>"])
        let server = try TestServer(config: Self.config(urls: [nats.url]))
        defer { server.stop() }
        #expect(server.waitForLog("NATS-EVENT connected natsData=<null>", timeout: 10), "\(server.log)")
        let client = UDPClient()
        for n in 1...5 { #expect(Self.ask(client, n, server) == "SIP/2.0 200 OK") }
        let got = subscriber.messages(count: 5)
        #expect(got.map(\.subject) == Array(repeating: "sip.OPTIONS", count: 5))
        #expect(Set(got.map(\.payload)) == Set((1...5).map { "OPTIONS alice nats-\($0)-\(client.port)" }))
    }

    @Test func aMessageOnTheSubjectRunsTheEventRouteWithNatsData() throws {
        let nats = try NATSTestServer()
        let server = try TestServer(config: Self.config(urls: [nats.url]))
        defer { server.stop() }
        #expect(server.waitForLog("NATS-EVENT connected", timeout: 10))
        let publisher = try NATSTestClient(port: nats.port)
        // The subscription is sent once connected: wait until the server routes to it.
        #expect(
            Self.waitUntil(10) {
                try? publisher.publish("inbound", "probe")
                return server.log.contains("NATS-IN [probe]")
            })
        try publisher.publish("inbound", #"{"event":"dialog","from":"sip:a@b"}"#)
        try publisher.publish("other.subject", "not for us")
        #expect(server.waitForLog(#"NATS-IN [{"event":"dialog","from":"sip:a@b"}] pid-route"#, timeout: 5))
        usleep(300_000)
        #expect(!server.log.contains("not for us"))
    }

    @Test func aQueueGroupGetsEachMessageOnceAndTwoGroupsEachGetIt() throws {
        let nats = try NATSTestServer()
        // Two subscribers in group "a" share the subject; the one in group "b" gets everything.
        let server = try TestServer(
            config: Self.config(urls: [nats.url], subscriptions: ["inbound:a", "inbound:a", "inbound:b"]))
        defer { server.stop() }
        let publisher = try NATSTestClient(port: nats.port)
        // Both groups subscribed once a warm-up message is logged twice.
        var k = 0
        #expect(
            Self.waitUntil(10) {
                k += 1
                try? publisher.publish("inbound", "warmup-\(k)")
                usleep(200_000)
                return Self.occurrences("NATS-IN [warmup-\(k)]", in: server.log) == 2
            })
        usleep(500_000)
        let before = Self.occurrences("NATS-IN [m-", in: server.log)
        #expect(before == 0)
        for i in 1...20 { try publisher.publish("inbound", "m-\(i)") }
        #expect(Self.waitUntil(5) { Self.occurrences("NATS-IN [m-", in: server.log) >= 40 })
        usleep(500_000)
        let log = server.log
        // Each message exactly twice: once in group a (one of its two members), once in b.
        for i in 1...20 { #expect(Self.occurrences("NATS-IN [m-\(i)]", in: log) == 2, "m-\(i)") }
    }

    @Test func aRestartedServerIsReconnectedForPublishingAndSubscriptions() throws {
        let nats = try NATSTestServer()
        let server = try TestServer(config: Self.config(urls: [nats.url]))
        defer { server.stop() }
        #expect(server.waitForLog("NATS-EVENT connected", timeout: 10))
        let client = UDPClient()
        nats.stop()
        #expect(server.waitForLog("NATS-EVENT disconnected", timeout: 10), "\(server.log)")
        // SIP is answered while the server is gone (the messages wait in libnats' buffer).
        for n in 1...3 { #expect(Self.ask(client, n, server) == "SIP/2.0 200 OK") }
        let connectedEvents = Self.occurrences("NATS-EVENT connected", in: server.log)
        try nats.start()
        let subscriber = try NATSTestClient(port: nats.port, subscribe: ["sip.OPTIONS"])
        #expect(Self.waitUntil(15) { Self.occurrences("NATS-EVENT connected", in: server.log) > connectedEvents })
        usleep(300_000)
        #expect(Self.ask(client, 10, server) == "SIP/2.0 200 OK")
        // Those published while it was gone come first (libnats' reconnect buffer).
        let got = subscriber.messages(count: 4).map(\.payload)
        #expect(got.contains("OPTIONS alice nats-10-\(client.port)"), "\(got)")
        // The subscription was renewed on the new server.
        let publisher = try NATSTestClient(port: nats.port)
        #expect(
            Self.waitUntil(10) {
                try? publisher.publish("inbound", "after-restart")
                return server.log.contains("NATS-IN [after-restart]")
            })
    }

    @Test func aServerDownAtStartUpIsConnectedLaterAndSIPIsAnsweredMeanwhile() throws {
        let nats = try NATSTestServer(start: false)
        let server = try TestServer(config: Self.config(urls: [nats.url]))
        defer { server.stop() }
        let client = UDPClient()
        for n in 1...5 { #expect(Self.ask(client, n, server) == "SIP/2.0 200 OK") }
        #expect(!server.log.contains("NATS-EVENT connected"))
        try nats.start()
        let subscriber = try NATSTestClient(port: nats.port, subscribe: ["sip.OPTIONS"])
        #expect(server.waitForLog("NATS-EVENT connected", timeout: 15), "\(server.log)")
        usleep(300_000)
        #expect(Self.ask(client, 20, server) == "SIP/2.0 200 OK")
        #expect(
            subscriber.messages(count: 10, timeout: 3).map(\.payload).contains("OPTIONS alice nats-20-\(client.port)"))
    }

    @Test func withoutPublishWorkersNatsPublishFails() throws {
        let nats = try NATSTestServer()
        let server = try TestServer(
            config: Self.config(urls: [nats.url], extra: #"modparam("nats", "num_publish_workers", 0)"#))
        defer { server.stop() }
        let client = UDPClient()
        #expect(Self.ask(client, 1, server) == "SIP/2.0 500 NATS publish failed")
        #expect(server.waitForLog("nats_publish: no publish worker runs (num_publish_workers is 0)"))
    }

    @Test func eventCallbackIsReportedAsUnusedWithoutKEMI() throws {
        let nats = try NATSTestServer()
        let server = try TestServer(
            config: Self.config(urls: [nats.url], extra: #"modparam("nats", "event_callback", "ksr_nats_event")"#))
        defer { server.stop() }
        #expect(server.log.contains("event_callback 'ksr_nats_event' is not used"))
        // The event routes run instead.
        #expect(server.waitForLog("NATS-EVENT connected", timeout: 10))
    }

    @Test func badParametersStopTheStartUp() throws {
        let dir = TemporaryDirectory()
        let badURL = try runSwiftlet(["-c", "-f", dir.write("a.cfg", Self.config(urls: ["http://x:4222"]))])
        #expect(badURL.status != 0)
        #expect((badURL.stdout + badURL.stderr).contains("invalid nats url [http://x:4222]"))
        let badGroup = try runSwiftlet([
            "-c", "-f", dir.write("b.cfg", Self.config(urls: [], subscriptions: ["no-group"])),
        ])
        #expect(badGroup.status != 0)
        #expect((badGroup.stdout + badGroup.stderr).contains("must be subject:queue_group"))
    }

    /// The same configuration on Kamailio 5.6.3 with its nats.so: the same messages reach the
    /// subscriber, and the same event routes run with the same $natsData.
    @Test(.enabled(if: kamailioPath != nil && FileManager.default.fileExists(atPath: kamailioModules + "nats.so")))
    func kamailioBehavesTheSameOnTheSameConfiguration() throws {
        let nats = try NATSTestServer()
        let subscriber = try NATSTestClient(port: nats.port, subscribe: ["sip.>"])
        let kamailio = try KamailioTestServer(
            config: Self.config(urls: [nats.url], prelude: #"mpath="\#(kamailioModules)""#))
        defer { kamailio.stop() }
        let swiftlet = try TestServer(config: Self.config(urls: [nats.url]))
        defer { swiftlet.stop() }
        for log in [{ kamailio.log }, { swiftlet.log }] {
            #expect(Self.waitUntil(10) { log().contains("NATS-EVENT connected natsData=<null>") })
        }
        let client = UDPClient()
        client.send(Self.options(1, client.port, user: "kam"), to: kamailio.port)
        #expect(client.receive(timeout: 2)?.hasPrefix("SIP/2.0 200 OK") == true)
        client.send(Self.options(2, client.port, user: "swift"), to: swiftlet.port)
        #expect(client.receive(timeout: 2)?.hasPrefix("SIP/2.0 200 OK") == true)
        let got = subscriber.messages(count: 2).map(\.payload).sorted()
        #expect(got == ["OPTIONS kam nats-1-\(client.port)", "OPTIONS swift nats-2-\(client.port)"])
        // Both subscribe in queue group "workers": each message runs one of the two routes.
        let publisher = try NATSTestClient(port: nats.port)
        var k = 0
        #expect(
            Self.waitUntil(15) {
                k += 1
                try? publisher.publish("inbound", "both-\(k)")
                usleep(100_000)
                return kamailio.log.contains("NATS-IN [both-") && swiftlet.log.contains("NATS-IN [both-")
            })
        usleep(500_000)
        for i in 1...k {
            // Never twice; the first ones may come before both subscriptions are in place.
            let runs = Self.occurrences("NATS-IN [both-\(i)]", in: kamailio.log + swiftlet.log)
            #expect(runs <= 1, "both-\(i) ran \(runs) times")
        }
        #expect(Self.occurrences("NATS-IN [both-\(k)]", in: kamailio.log + swiftlet.log) == 1)
    }
}

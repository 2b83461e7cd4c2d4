import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// 1,000 OPTIONS a second, each doing nats_publish, while the nats server is absent or
/// frozen (SIGSTOP: it holds its connections and reads nothing): every OPTIONS is answered,
/// because nats_publish only queues for the publish workers.
@Suite(
    .serialized,
    .enabled(if: natsServerPath != nil && sippPath != nil, "needs nats-server and sipp"))
struct NATSLoadTests {
    static let scenario = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Benchmarks/load/scenarios/options-uac.xml").path

    /// Runs `calls` SIPp OPTIONS at 1,000/s against the server: SIPp's result.
    static func load(_ server: TestServer, calls: Int) throws -> SIPpParties.Run {
        let (uac, _) = try SIPpParties.run(
            uases: [],
            uac: [
                "-sf", scenario, "-i", "127.0.0.1", "-p", String(freeUDPPort()), "-t", "u1", "-r", "1000",
                "-m", String(calls), "127.0.0.1:\(server.port)",
            ], timeout: 30, trace: false)
        return uac
    }

    static func failedCalls(_ run: SIPpParties.Run) -> Int? {
        // The final statistics line: "Failed call  | <periodic> | <cumulated>".
        guard let line = run.text.components(separatedBy: "\n").last(where: { $0.contains("Failed call") }) else {
            return nil
        }
        return line.split(separator: "|").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    @Test func optionsAreAnsweredWhileTheNatsServerIsDown() throws {
        let nats = try NATSTestServer(start: false)
        let server = try TestServer(config: NATSModuleTests.config(urls: [nats.url]))
        defer { server.stop() }
        let run = try Self.load(server, calls: 3000)
        #expect(run.status == 0, "\(run.summary)")
        #expect(Self.failedCalls(run) == 0, "\(run.summary)")
    }

    @Test func optionsAreAnsweredWhileTheNatsServerIsFrozen() throws {
        let nats = try NATSTestServer()
        let subscriber = try NATSTestClient(port: nats.port, subscribe: ["sip.OPTIONS"])
        let server = try TestServer(config: NATSModuleTests.config(urls: [nats.url]))
        defer { server.stop() }
        #expect(server.waitForLog("NATS-EVENT connected", timeout: 10))
        nats.pause()
        let run = try Self.load(server, calls: 3000)
        #expect(run.status == 0, "\(run.summary)")
        #expect(Self.failedCalls(run) == 0, "\(run.summary)")
        // Thawed, the server gets the messages that waited (in the socket, libnats' buffers
        // or after a reconnect) and later ones.
        nats.resume()
        let client = UDPClient()
        #expect(
            NATSModuleTests.waitUntil(15) {
                NATSModuleTests.ask(client, 1, server) == "SIP/2.0 200 OK"
                    && subscriber.messages(count: 4000, timeout: 0.5).contains {
                        $0.payload.contains("nats-1-\(client.port)")
                    }
            })
    }
}

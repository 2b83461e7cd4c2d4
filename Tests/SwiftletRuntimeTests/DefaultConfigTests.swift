import Foundation
import Testing

/// etc/swiftlet.cfg (what `scripts/run.sh` runs) through the binary: OPTIONS for the server
/// gets 200, Max-Forwards 0 gets 483, a request for another host is forwarded statelessly.
@Suite(.serialized) struct DefaultConfigTests {
    static func config() throws -> String {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("etc/swiftlet.cfg").path
        return try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: ":5060", with: ":PORT")
    }

    static func request(_ method: String, _ ruri: String, maxForwards: Int = 70) -> [String] {
        [
            "\(method) \(ruri) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-dc\(method)",
            "From: <sip:alice@example.com>;tag=1", "To: <sip:bob@example.com>", "Call-ID: dc-\(method)@test",
            "CSeq: 1 \(method)", "Max-Forwards: \(maxForwards)", "Content-Length: 0",
        ]
    }

    @Test func theDefaultConfigIsAStatelessProxy() throws {
        let server = try TestServer(config: try Self.config())
        let uac = UDPClient()
        uac.send(
            sipRequest(Self.request("OPTIONS", "sip:127.0.0.1:\(server.port)"), clientPort: uac.port), to: server.port)
        #expect(replyLines(try #require(uac.receive(), "log: \(server.log)"))[0] == "SIP/2.0 200 OK")

        uac.send(
            sipRequest(Self.request("OPTIONS", "sip:127.0.0.1:\(server.port)", maxForwards: 0), clientPort: uac.port),
            to: server.port)
        #expect(replyLines(try #require(uac.receive()))[0] == "SIP/2.0 483 Too Many Hops")

        let uas = UDPClient()
        uac.send(
            sipRequest(Self.request("INVITE", "sip:bob@127.0.0.1:\(uas.port)"), clientPort: uac.port), to: server.port)
        let forwarded = replyLines(try #require(uas.receive(), "not forwarded; log: \(server.log)"))
        #expect(forwarded[0] == "INVITE sip:bob@127.0.0.1:\(uas.port) SIP/2.0")
        #expect(forwarded[1].hasPrefix("Via: SIP/2.0/UDP 127.0.0.1:\(server.port);branch=z9hG4bK"))
        #expect(forwarded.contains("Max-Forwards: 69"))
    }
}

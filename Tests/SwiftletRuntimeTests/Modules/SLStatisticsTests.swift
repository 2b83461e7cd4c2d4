import Foundation
import Testing

/// The sl module's statistics (Kamailio's `sl` group: `200_replies`, `404_replies`,
/// `sent_replies`, `received_ACKs`, ...), read with `$stat(...)` from the running binary.
@Suite(.serialized) struct SLStatisticsTests {
    @Test func repliesAndFilteredACKsAreCounted() throws {
        let server = try TestServer(
            config: """
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "pv.so"
                request_route {
                    if ($rm == "OPTIONS") {
                        sl_send_reply("200", "200=$stat(200_replies) 404=$stat(404_replies) all=$stat(sent_replies) acks=$stat(received_ACKs)");
                        exit;
                    }
                    if ($rm == "ACK") { drop; }
                    sl_send_reply("404", "Not Here");
                }
                """)
        let client = UDPClient()
        client.send(
            sipRequest(optionsRequest(method: "INVITE", callID: "st-1"), clientPort: client.port), to: server.port)
        let notFound = replyLines(try #require(client.receive(), "log: \(server.log)"))
        #expect(notFound[0] == "SIP/2.0 404 Not Here")
        // The ACK to that 404 carries our To-tag: sl filters it before the script.
        let toTag = try #require(notFound.first { $0.hasPrefix("To: ") })
        client.send(
            sipRequest(
                optionsRequest(method: "ACK", to: String(toTag.dropFirst(4)), callID: "st-1"), clientPort: client.port),
            to: server.port)
        usleep(100_000)
        client.send(sipRequest(optionsRequest(callID: "st-2"), clientPort: client.port), to: server.port)
        #expect(replyLines(try #require(client.receive()))[0] == "SIP/2.0 200 200=0 404=1 all=1 acks=1")
        client.send(sipRequest(optionsRequest(callID: "st-3"), clientPort: client.port), to: server.port)
        #expect(replyLines(try #require(client.receive()))[0] == "SIP/2.0 200 200=1 404=1 all=2 acks=1")
    }
}

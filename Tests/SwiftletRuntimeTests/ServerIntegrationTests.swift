import Foundation
import Testing

/// The configuration used by most integration tests: OPTIONS -> 200, ACK dropped, else 404.
let basicConfig = """
    #!KAMAILIO
    debug=2
    log_stderror=yes
    children=2
    listen=udp:127.0.0.1:PORT
    loadmodule "sl.so"
    loadmodule "xlog.so"
    request_route {
        xlog("L_INFO", "got $rm from $si:$sp ru=$ru\\n");
        if ($rm == "OPTIONS") {
            sl_send_reply("200", "OK");
            exit;
        }
        if ($rm == "ACK") {
            drop;
        }
        sl_send_reply("404", "Not Here");
    }
    """

func optionsRequest(
    method: String = "OPTIONS", via: String = "SIP/2.0/UDP 127.0.0.1:CPORT;rport;branch=z9hG4bK-1",
    to: String = "<sip:bob@example.com>", callID: String = "cid-1@host"
) -> [String] {
    [
        "\(method) sip:alice@127.0.0.1;transport=udp SIP/2.0",
        "Via: \(via)",
        "Via: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bK-up",
        "Record-Route: <sip:10.1.1.1;lr>",
        "From: \"Alice A\" <sip:alice@example.com>;tag=abc",
        "To: \(to)",
        "Call-ID: \(callID)",
        "CSeq: 7 \(method)",
        "Max-Forwards: 70",
        "User-Agent: swiftlet-tests",
        "Content-Length: 0",
    ]
}

@Suite(.serialized) struct ServerIntegrationTests {
    @Test func optionsIsAnsweredStatelessly() throws {
        let server = try TestServer(config: basicConfig)
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: server.port)
        let reply = try #require(client.receive(), "no reply; log: \(server.log)")
        let lines = replyLines(reply)
        #expect(lines[0] == "SIP/2.0 200 OK")
        #expect(
            lines[1]
                == "Via: SIP/2.0/UDP 127.0.0.1:\(client.port);rport=\(client.port);branch=z9hG4bK-1;received=127.0.0.1")
        #expect(lines[2] == "Via: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bK-up")
        #expect(lines[3] == "Record-Route: <sip:10.1.1.1;lr>")
        #expect(lines[4] == "From: \"Alice A\" <sip:alice@example.com>;tag=abc")
        #expect(
            lines[5].range(
                of: #"^To: <sip:bob@example.com>;tag=[0-9a-f]{32}\.[0-9a-f]{8}$"#, options: .regularExpression) != nil,
            "\(lines[5])")
        #expect(lines[6] == "Call-ID: cid-1@host")
        #expect(lines[7] == "CSeq: 7 OPTIONS")
        #expect(lines[8] == "Server: Swiftlet (0.1.0 (x86_64/linux))")
        #expect(lines[9] == "Content-Length: 0")
        #expect(lines.count == 10)
        #expect(reply.hasSuffix("Content-Length: 0\r\n\r\n"))
        // xlog wrote the line exactly as the format says, Kamailio-style prefix.
        #expect(
            server.waitForLog(
                "INFO: <script>: got OPTIONS from 127.0.0.1:\(client.port) ru=sip:alice@127.0.0.1;transport=udp\n"))
        #expect(server.stop() == 0)
        #expect(server.log.contains("shutting down"))
    }

    @Test func otherRequestsGet404AndKeepAnExistingToTag() throws {
        let server = try TestServer(config: basicConfig)
        let client = UDPClient()
        client.send(
            sipRequest(optionsRequest(method: "INFO", to: "<sip:bob@example.com>;tag=xyz"), clientPort: client.port),
            to: server.port)
        let lines = replyLines(try #require(client.receive()))
        #expect(lines[0] == "SIP/2.0 404 Not Here")
        #expect(lines.contains("To: <sip:bob@example.com>;tag=xyz"))
        #expect(!lines.contains { $0.hasPrefix("Record-Route") }, "no Record-Route in a negative reply")
    }

    /// Without rport the reply goes to the Via's sent-by port (RFC 3261 18.2.2).
    @Test func replyGoesToTheViaPortWithoutRport() throws {
        let server = try TestServer(config: basicConfig)
        let sender = UDPClient()
        let listener = UDPClient()
        sender.send(
            sipRequest(
                optionsRequest(via: "SIP/2.0/UDP 127.0.0.1:\(listener.port);branch=z9hG4bK-2"), clientPort: sender.port),
            to: server.port)
        let reply = try #require(listener.receive())
        #expect(replyLines(reply)[1] == "Via: SIP/2.0/UDP 127.0.0.1:\(listener.port);branch=z9hG4bK-2")
        #expect(sender.receive(timeout: 0.3) == nil)
    }

    @Test func malformedInputIsDroppedAndTheServerKeepsServing() throws {
        let server = try TestServer(config: basicConfig)
        let client = UDPClient()
        let garbage: [[UInt8]] = [
            Array("GARBAGE\r\n\r\n".utf8),
            Array("OPTIONS sip:x SIP/2.0\r\nContent-Length: 99\r\n\r\nshort".utf8),
            Array("OPTIONS sip:x SIP/2.0\r\nCall-ID: no-via\r\n\r\n".utf8),
            Array("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP\r\n\r\n".utf8),
            // A valid Via but no To: dropped before the script (Kamailio's receive_msg).
            Array(
                "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bK-noto\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: no-to\r\nCSeq: 1 OPTIONS\r\n\r\n"
                    .utf8),
            [UInt8](repeating: 0xff, count: 3000),
            Array("\r\n\r\n".utf8),
            [],
        ]
        for g in garbage { client.send(g, to: server.port) }
        #expect(client.receive(timeout: 0.5) == nil, "malformed input gets no reply")
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: server.port)
        #expect(client.receive().map { replyLines($0)[0] } == "SIP/2.0 200 OK")
        #expect(
            logHasLine(
                server.log, "WARNING", "<core>",
                "dropping a malformed message from 127.0.0.1:\(client.port): malformed first line"))
        #expect(server.log.contains("dropping a message without a valid Via"))
        #expect(server.log.contains("required headers not found in request from 127.0.0.1:\(client.port)"))
    }

    /// An ACK for a stateless negative reply carries our To-tag and is absorbed by sl
    /// before the script runs; other ACKs reach the script.
    @Test func ackToALocalReplyIsAbsorbed() throws {
        let server = try TestServer(config: basicConfig)
        let client = UDPClient()
        client.send(
            sipRequest(optionsRequest(method: "INVITE", callID: "call-ack"), clientPort: client.port), to: server.port)
        let reply = try #require(client.receive())
        let toLine = try #require(replyLines(reply).first { $0.hasPrefix("To:") })
        let ackTo = String(toLine.dropFirst(4))
        client.send(
            sipRequest(optionsRequest(method: "ACK", to: ackTo, callID: "call-ack"), clientPort: client.port),
            to: server.port)
        client.send(
            sipRequest(
                optionsRequest(method: "ACK", to: "<sip:bob@example.com>;tag=other", callID: "call-ack-2"),
                clientPort: client.port), to: server.port)
        #expect(server.waitForLog("got ACK"))
        #expect(client.receive(timeout: 0.3) == nil, "ACKs are never answered")
        let acks = server.log.components(separatedBy: "got ACK").count - 1
        #expect(acks == 1, "only the foreign ACK reaches the script: \(server.log)")
    }

    @Test func serverHeaderFollowsTheGlobalParameters() throws {
        let custom = try TestServer(
            config: basicConfig.replacingOccurrences(
                of: "children=2", with: "children=1\nserver_header=\"Server: Example PBX\""))
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: custom.port)
        #expect(replyLines(try #require(client.receive())).contains("Server: Example PBX"))

        let none = try TestServer(
            config: basicConfig.replacingOccurrences(of: "children=2", with: "server_signature=no"))
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: none.port)
        #expect(!(try #require(client.receive())).contains("Server:"))
    }

    @Test func modparamReachesTheModule() throws {
        // default_code is used when the code cannot be evaluated ($rs is null for requests).
        let server = try TestServer(
            config: basicConfig.replacingOccurrences(
                of: "sl_send_reply(\"200\", \"OK\")", with: "sl_send_reply(\"$rs\", \"OK\")"
            )
            .replacingOccurrences(
                of: "loadmodule \"xlog.so\"", with: "loadmodule \"xlog.so\"\nmodparam(\"sl\", \"default_code\", 503)"))
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: server.port)
        #expect(replyLines(try #require(client.receive()))[0] == "SIP/2.0 503 OK")
    }

    @Test func manyRequestsFromSeveralClientsAreAllAnswered() throws {
        let server = try TestServer(config: basicConfig.replacingOccurrences(of: "debug=2", with: "debug=0"))
        let clients = (0..<4).map { _ in UDPClient() }
        var answered = 0
        for round in 0..<50 {
            for (i, c) in clients.enumerated() {
                c.send(sipRequest(optionsRequest(callID: "c\(i)-\(round)"), clientPort: c.port), to: server.port)
            }
            for c in clients where c.receive()?.hasPrefix("SIP/2.0 200 OK") == true { answered += 1 }
        }
        #expect(answered == 200)
    }
}

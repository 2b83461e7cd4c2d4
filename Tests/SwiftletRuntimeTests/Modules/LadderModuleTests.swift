import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// The ladder module on the embedded core: the messages the core receives and sends land in
/// its ring, and `ladder_handle()` answers the page and the JSON API over xhttp.
@Suite struct LadderModuleTests {
    static let web = "127.0.0.1:40000"

    static func core(_ extra: String = "") throws -> EmbeddedCore {
        try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                listen=tcp:127.0.0.1:5060
                loadmodule "sl.so"
                loadmodule "pv.so"
                loadmodule "xhttp.so"
                loadmodule "jsonrpcs.so"
                loadmodule "ladder.so"
                modparam("jsonrpcs", "transport", 1)
                modparam("jsonrpcs", "pretty_format", 0)
                \(extra)
                request_route {
                    if (method == "INVITE") {
                        sl_send_reply("486", "Busy Here");
                        exit;
                    }
                    sl_send_reply("200", "OK");
                }
                event_route[xhttp:request] {
                    if ($hu == "/RPC") {
                        jsonrpc_dispatch();
                        exit;
                    }
                    if (ladder_handle()) {
                        exit;
                    }
                    xhttp_reply("404", "Not Found", "text/plain", "not ladder");
                }
                """, modulePath: productsDirectory)
    }

    static func request(
        _ method: String, callID: String, from: String, to: String, cseq: Int = 1, body: String = ""
    ) -> String {
        "\(method) sip:\(to)@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK\(callID)\(cseq)\r\n"
            + "From: \"A\" <sip:\(from)@example.test>;tag=1\r\nTo: <sip:\(to)@example.test>\r\n"
            + "Call-ID: \(callID)\r\nCSeq: \(cseq) \(method)\r\nMax-Forwards: 70\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// GETs `path` over HTTP: the status line and the body.
    static func get(_ core: EmbeddedCore, _ path: String) -> (status: String, body: String) {
        core.receive("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n", from: web, proto: .tcp, connectionID: 9)
        let sent = core.takeSent()
        guard let r = sent.last, sent.count == 1 else { return ("none: \(sent.map(\.text))", "") }
        let parts = r.text.components(separatedBy: "\r\n\r\n")
        return (r.firstLine, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func callsAndTheirMessagesThroughTheJSONAPI() throws {
        let core = try Self.core()
        core.receive(Self.request("INVITE", callID: "call-1", from: "alice", to: "bob"), from: "127.0.0.1:5070")
        core.receive(Self.request("REGISTER", callID: "reg-2", from: "carol", to: "carol"), from: "127.0.0.2:5071")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 486 Busy Here", "SIP/2.0 200 OK"])

        let (status, body) = Self.get(core, "/ladder/api/calls")
        #expect(status == "HTTP/1.1 200 OK")
        let doc = try Self.json(body)
        #expect(doc["cursor"] as? Int == 4)
        #expect(doc["changed"] as? Bool == true)
        #expect(doc["local"] as? [String] == ["127.0.0.1:5060"])
        let calls = try #require(doc["calls"] as? [[String: Any]])
        // The most recently active first; the HTTP requests are not recorded.
        #expect(calls.map { $0["callid"] as? String } == ["reg-2", "call-1"])
        let invite = calls[1]
        #expect(invite["from_user"] as? String == "alice")
        #expect(invite["to_user"] as? String == "bob")
        #expect(invite["method"] as? String == "INVITE")
        #expect(invite["final_code"] as? Int == 486)
        #expect(invite["last"] as? String == "486 Busy Here")
        #expect(invite["count"] as? Int == 2)
        #expect(invite["parties"] as? [String] == ["127.0.0.1:5070", "127.0.0.1:5060"])

        // Nothing new since the cursor: a short answer.
        #expect(Self.get(core, "/ladder/api/calls?since=4").body == #"{"cursor":4,"changed":false}"#)

        let detail = try Self.json(Self.get(core, "/ladder/api/call/call-1").body)
        #expect(detail["callid"] as? String == "call-1")
        let messages = try #require(detail["messages"] as? [[String: Any]])
        #expect(messages.map { $0["label"] as? String } == ["INVITE", "486 Busy Here"])
        #expect(messages.map { $0["dir"] as? String } == ["in", "out"])
        #expect(messages.map { $0["src"] as? String } == ["127.0.0.1:5070", "127.0.0.1:5060"])
        #expect(messages.map { $0["dst"] as? String } == ["127.0.0.1:5060", "127.0.0.1:5070"])
        #expect(messages.map { $0["proto"] as? String } == ["udp", "udp"])
        #expect(messages[1]["method"] as? String == "INVITE")
        #expect(messages[1]["cseq"] as? String == "1 INVITE")
        #expect(
            messages[0]["text"] as? String == Self.request("INVITE", callID: "call-1", from: "alice", to: "bob"))
        #expect((messages[1]["text"] as? String)?.hasPrefix("SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP") == true)
        #expect(Self.get(core, "/ladder/api/call/nope").status == "HTTP/1.1 404 Not Found")
    }

    @Test func aReplyOnAConnectionGoesToWhereItsRequestCameFrom() throws {
        let core = try Self.core()
        // The client's Via has no port: the reply's nominal destination is 127.0.0.1:5060,
        // sent on the client's connection (127.0.0.1:40001).
        let invite = Self.request("INVITE", callID: "tcp-1", from: "alice", to: "bob")
            .replacingOccurrences(of: "SIP/2.0/UDP 127.0.0.1:5070", with: "SIP/2.0/TCP client.invalid")
        core.receive(invite, from: "127.0.0.1:40001", proto: .tcp, connectionID: 5)
        let sent = core.takeSent()
        #expect(sent.map(\.destination.address.port) == [5060])
        #expect(sent.map(\.destination.connectionID) == [5])
        let detail = try Self.json(Self.get(core, "/ladder/api/call/tcp-1").body)
        let messages = try #require(detail["messages"] as? [[String: Any]])
        #expect(messages.map { $0["src"] as? String } == ["127.0.0.1:40001", "127.0.0.1:5060"])
        #expect(messages.map { $0["dst"] as? String } == ["127.0.0.1:5060", "127.0.0.1:40001"])
        #expect(detail["parties"] as? [String] == ["127.0.0.1:40001", "127.0.0.1:5060"])
    }

    @Test func filtersByCallIDUserAndAddress() throws {
        let core = try Self.core()
        core.receive(Self.request("OPTIONS", callID: "a+1@x", from: "alice", to: "bob"), from: "127.0.0.1:5070")
        core.receive(Self.request("OPTIONS", callID: "b-2", from: "carol", to: "dave"), from: "127.0.0.9:5071")
        _ = core.takeSent()
        func ids(_ query: String) throws -> [String] {
            let doc = try Self.json(Self.get(core, "/ladder/api/calls?" + query).body)
            return (doc["calls"] as? [[String: Any]])?.compactMap { $0["callid"] as? String } ?? []
        }
        #expect(try ids("user=dav") == ["b-2"])
        #expect(try ids("user=alice") == ["a+1@x"])
        #expect(try ids("ip=127.0.0.9") == ["b-2"])
        #expect(try ids("callid=a%2B1") == ["a+1@x"])
        #expect(try ids("callid=zzz").isEmpty)
        #expect(try ids("limit=1") == ["b-2"])
        // A Call-ID with reserved characters, URL-encoded in the path.
        let detail = try Self.json(Self.get(core, "/ladder/api/call/a%2B1%40x").body)
        #expect((detail["messages"] as? [Any])?.count == 2)
    }

    @Test func theRingKeepsTheLastMessagesAndCutsLongOnes() throws {
        let core = try Self.core(
            #"modparam("ladder", "max_messages", 5) modparam("ladder", "max_message_bytes", 300)"#)
        for i in 1...5 {
            core.receive(Self.request("OPTIONS", callID: "o\(i)", from: "u\(i)", to: "x"), from: "127.0.0.1:5070")
        }
        let big = String(repeating: "v=0\r\n", count: 100)
        core.receive(
            Self.request("MESSAGE", callID: "big", from: "u", to: "x", body: big), from: "127.0.0.1:5070")
        _ = core.takeSent()
        let doc = try Self.json(Self.get(core, "/ladder/api/calls").body)
        #expect(doc["cursor"] as? Int == 12)
        // 12 messages seen, the last 5 kept: o4 lost its request (its reply is left), o5, big.
        let calls = try #require(doc["calls"] as? [[String: Any]])
        #expect(calls.map { $0["callid"] as? String } == ["big", "o5", "o4"])
        #expect(calls.map { $0["count"] as? Int } == [2, 2, 1])
        let detail = try Self.json(Self.get(core, "/ladder/api/call/big").body)
        let request = try #require((detail["messages"] as? [[String: Any]])?.first)
        #expect(request["truncated"] as? Bool == true)
        #expect((request["text"] as? String)?.utf8.count == 300)
        #expect(
            request["length"] as? Int
                == Self.request("MESSAGE", callID: "big", from: "u", to: "x", body: big).utf8.count)
    }

    @Test func thePageAndTheURLsOutsideThePrefix() throws {
        let core = try Self.core(#"modparam("ladder", "http_prefix", "/sip/ladder/")"#)
        let page = Self.get(core, "/sip/ladder")
        #expect(page.status == "HTTP/1.1 200 OK")
        #expect(page.body.hasPrefix("<!DOCTYPE html>"))
        #expect(page.body.contains(#"const PREFIX = "/sip/ladder", REFRESH = 1000;"#))
        #expect(Self.get(core, "/sip/ladder/").body == page.body)
        #expect(Self.get(core, "/sip/ladder/nope").status == "HTTP/1.1 404 Not Found")
        // Not under the prefix: ladder_handle() returns -1 and the route goes on.
        #expect(Self.get(core, "/ladder/").body == "not ladder")
        #expect(Self.get(core, "/sip/ladderx").body == "not ladder")
        core.receive(
            "POST /sip/ladder/api/calls HTTP/1.1\r\nContent-Length: 0\r\n\r\n", from: Self.web, proto: .tcp,
            connectionID: 9)
        #expect(core.takeSent().map(\.firstLine) == ["HTTP/1.1 405 Method Not Allowed"])
    }

    @Test func listAndClearOverRPC() throws {
        let core = try Self.core()
        core.receive(Self.request("INVITE", callID: "c1", from: "alice", to: "bob"), from: "127.0.0.1:5070")
        _ = core.takeSent()
        func rpc(_ method: String) throws -> Any? {
            let body = #"{"jsonrpc":"2.0","method":"\#(method)","id":1}"#
            core.receive(
                "POST /RPC HTTP/1.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)", from: Self.web,
                proto: .tcp, connectionID: 4)
            let text = try #require(core.takeSent().first?.text.components(separatedBy: "\r\n\r\n").last)
            return try Self.json(text)["result"]
        }
        let list = try #require(try rpc("ladder.list") as? [[String: Any]])
        #expect(list.count == 1)
        #expect(list.first?["callid"] as? String == "c1")
        #expect(list.first?["messages"] as? Int == 2)
        #expect(list.first?["final_code"] as? Int == 486)
        #expect((try rpc("ladder.clear") as? [String: Any])?["cleared"] as? Int == 2)
        #expect((try rpc("ladder.list") as? [Any])?.isEmpty == true)
        let doc = try Self.json(Self.get(core, "/ladder/api/calls?since=2").body)
        #expect((doc["calls"] as? [Any])?.isEmpty == true)
        // New messages after the clear show up again.
        core.receive(Self.request("OPTIONS", callID: "c2", from: "alice", to: "bob"), from: "127.0.0.1:5070")
        _ = core.takeSent()
        #expect((try rpc("ladder.list") as? [[String: Any]])?.map { $0["callid"] as? String } == ["c2"])
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// http_client against a real HTTP server on loopback (Tests/Fixtures/http): return codes,
/// stored bodies and what the server received, as Kamailio 5.6's http_client.
@Suite(.serialized) struct HTTPClientModuleTests {
    let server: HTTPTestServer

    init() throws { server = try HTTPTestServer() }

    /// Runs `route` (after `params`, with http_client loaded) on an INVITE; the AVPs it set.
    func run(_ route: String, params: String = "") throws -> MessageContext {
        let cfg = """
            loadmodule "http_client.so"
            \(params)
            request_route {
            \(route)
            }
            """
        return try HTTPScriptHarness.run(cfg.replacingOccurrences(of: "URL", with: server.url))
    }

    func avp(_ ctx: MessageContext, _ name: String) -> PVValue? { ctx.avps[name]?.first }

    @Test func queryGetsTheFirstLineAndReturnsTheStatus() throws {
        let ctx = try run(#"http_client_query("URL/text", "$avp(r)"); $avp(rc) = $rc;"#)
        #expect(avp(ctx, "rc") == .int(200))
        #expect(avp(ctx, "r") == .string("first line"), "query_result 1: the first line only")
        let r = try #require(server.requests.last)
        #expect(r.method == "GET" && r.path == "/text")
        #expect(r.headers["user-agent"]?.hasPrefix("swiftlet (") == true)
        let all = try run(
            #"http_client_query("URL/text", "$avp(r)");"#, params: #"modparam("http_client", "query_result", 0)"#)
        #expect(avp(all, "r") == .string("first line\nsecond line\n"))
    }

    @Test func queryPostsDataWithExtraHeader() throws {
        let ctx = try run(
            #"$avp(rc) = http_client_query("URL/echo", "a=1&from=$fU", "X-Token: abc", "$avp(r)");"#,
            params: #"modparam("http_client", "useragent", "test-agent/1")"#)
        #expect(avp(ctx, "rc") == .int(200))
        #expect(avp(ctx, "r") == .string("POST a=1&from=bob"))
        let r = try #require(server.requests.last)
        #expect(r.method == "POST")
        #expect(r.headers["x-token"] == "abc")
        #expect(r.headers["content-type"] == "application/x-www-form-urlencoded", "libcurl's default, as Kamailio")
        #expect(r.headers["user-agent"] == "test-agent/1")
        let empty = try run(#"$avp(rc) = http_client_query("URL/echo", "", "", "$avp(r)");"#)
        #expect(avp(empty, "r") == .string("GET "), "empty post data and headers are left out")
    }

    @Test func getWithBodySendsAGet() throws {
        let ctx = try run(#"$avp(rc) = http_client_get("URL/echo", "payload", "X-A: 1", "$avp(r)");"#)
        #expect(avp(ctx, "rc") == .int(200))
        #expect(avp(ctx, "r") == .string("GET payload"))
        #expect(server.requests.last?.headers["x-a"] == "1")
    }

    @Test func statusCodesAreReturnedAndOnly2xxTo4xxBodiesKept() throws {
        let nf = try run(#"$avp(rc) = http_client_query("URL/status/404", "$avp(r)");"#)
        #expect(avp(nf, "rc") == .int(404))
        #expect(avp(nf, "r") == .string("status 404"))
        let se = try run(#"$avp(r) = "x"; http_client_query("URL/status/503", "$avp(r)"); $avp(rc) = $rc;"#)
        #expect(avp(se, "rc") == .int(503))
        #expect(avp(se, "r") == .string(""), "no body for 5xx: the variable is set empty")
    }

    @Test func redirectsFollowedOnlyWhenAsked() throws {
        let plain = try run(#"$avp(rc) = http_client_query("URL/redirect", "$avp(r)");"#)
        #expect(avp(plain, "rc") == .int(302), "httpredirect defaults to 0 in Kamailio 5.6's code")
        #expect(avp(plain, "r") == .string("moved"))
        let followed = try run(
            #"$avp(rc) = http_client_query("URL/redirect", "$avp(r)");"#,
            params: #"modparam("http_client", "httpredirect", 1)"#)
        #expect(avp(followed, "rc") == .int(200))
        #expect(avp(followed, "r") == .string("first line"))
        let con = try run(
            #"""
            $avp(rc) = http_connect("follow", "/redirect", "$avp(r)");
            http_get_redirect("follow", "$avp(target)");
            $avp(rc2) = http_connect("stay", "/redirect", "$avp(r2)");
            http_get_redirect("stay", "$avp(target2)");
            """#,
            params: """
                modparam("http_client", "httpcon", "follow=>URL;httpredirect=1")
                modparam("http_client", "httpcon", "stay=>URL")
                """)
        #expect(avp(con, "rc") == .int(200))
        #expect(avp(con, "target") == .string(server.url + "/text"))
        #expect(avp(con, "rc2") == .int(302))
        #expect(avp(con, "target2") == .string(server.url + "/redirect"))
    }

    @Test func maxdatasizeCutsTheBody() throws {
        let q = try run(
            #"$avp(rc) = http_client_query("URL/big/100", "$avp(r)");"#,
            params: #"modparam("http_client", "query_maxdatasize", 25)"#)
        #expect(avp(q, "rc") == .int(200))
        #expect(avp(q, "r") == .string("0123456789012345678901234"))
        let c = try run(
            #"$avp(rc) = http_connect("api", "/big/100", "$avp(r)");"#,
            params: #"modparam("http_client", "httpcon", "api=>URL;maxdatasize=15")"#)
        #expect(avp(c, "r") == .string("012345678901234"))
        let d = try run(
            #"$avp(rc) = http_connect("api", "big/100", "$avp(r)");"#,
            params: """
                modparam("http_client", "maxdatasize", 12)
                modparam("http_client", "httpcon", "api=>URL")
                """)
        #expect(avp(d, "r") == .string("012345678901"), "the module default, a / put before the path")
    }

    @Test func aPeerThatNeverAnswersTimesOutWithCode28() throws {
        let hole = try BlackHoleListener()
        let start = Date()
        let ctx = try run(
            """
            $avp(r) = "before";
            $avp(rc) = http_client_query("http://127.0.0.1:\(hole.port)/x", "$avp(r)");
            $avp(err) = $curlerror(28);
            """, params: #"modparam("http_client", "connection_timeout", 1)"#)
        let elapsed = Date().timeIntervalSince(start)
        #expect(avp(ctx, "rc") == .int(28), "libcurl's CURLE_OPERATION_TIMEDOUT, returned as is")
        #expect(avp(ctx, "err") == .string("Timeout was reached"))
        #expect(avp(ctx, "r") == .string(""))
        #expect(elapsed >= 0.9 && elapsed < 4, "one second, not more: \(elapsed)")
    }

    @Test func aRefusedConnectionReturnsCode7() throws {
        let port = refusedTCPPort()
        let ctx = try run(
            """
            $avp(rc) = http_client_query("http://127.0.0.1:\(port)/", "$avp(r)");
            $avp(err) = $curlerror(7); $avp(http) = $curlerror(404); $avp(bad) = $curlerror(-3);
            """)
        #expect(avp(ctx, "rc") == .int(7))
        #expect(avp(ctx, "err") == .string("Couldn't connect to server"))
        #expect(avp(ctx, "http") == .string("HTTP result code"))
        #expect(avp(ctx, "bad") == .string("Bad CURL error code"))
    }

    @Test func connectPostsWithContentTypeAndRawKeepsDollars() throws {
        let ctx = try run(
            #"""
            $var(d) = "{\"user\": \"x\"}";
            $avp(rc) = http_connect("api", "/echo", "application/json", "$var(d) from $fU", "$avp(r)");
            $avp(rc2) = http_connect_raw("api", "/echo", "text/x-raw", "cost: $var(d)", "$avp(r2)");
            $avp(rc3) = http_connect("api", "/echo", "$avp(r3)");
            """#,
            params: #"modparam("http_client", "httpcon", "api=>URL")"#)
        #expect(avp(ctx, "rc") == .int(200))
        let reqs = server.requests.suffix(3).map { $0 }
        #expect(reqs[0].method == "POST" && reqs[0].body == #"{"user": "x"} from bob"#)
        #expect(reqs[0].headers["content-type"] == "application/json")
        #expect(reqs[1].body == "cost: $var(d)")
        #expect(reqs[1].headers["content-type"] == "text/x-raw")
        #expect(reqs[2].method == "GET")
        #expect(avp(ctx, "r3") == .string("GET "), "http_connect keeps the whole body")
    }

    @Test func credentialsAndFailover() throws {
        let dead = refusedTCPPort()
        let ctx = try run(
            #"""
            $avp(rc) = http_connect("primary", "/text", "$avp(r)");
            $avp(rc2) = http_connect("nobody", "/text", "$avp(r2)");
            """#,
            params: """
                modparam("http_client", "authmethod", 1)
                modparam("http_client", "httpcon", "primary=>http://127.0.0.1:\(dead);failover=backup")
                modparam("http_client", "httpcon", "backup=>http://alice:secret@127.0.0.1:\(server.port)")
                """)
        #expect(avp(ctx, "rc") == .int(200), "the failover connection answered")
        #expect(avp(ctx, "r") == .string("first line\nsecond line\n"))
        #expect(avp(ctx, "rc2") == .int(-1), "an unknown connection")
        let auth = try #require(server.requests.last?.headers["authorization"])
        #expect(auth == "Basic " + Data("alice:secret".utf8).base64EncodedString())
    }

    @Test func keepConnectionsReusesTheTCPConnection() throws {
        let route = #"""
            http_connect("api", "/conn", "$avp(a)");
            http_connect("api", "/conn", "$avp(b)");
            http_connect("api", "/conn", "$avp(c)");
            """#
        let kept = try run(
            route,
            params: """
                modparam("http_client", "keep_connections", 1)
                modparam("http_client", "httpcon", "api=>URL")
                """)
        let a = avp(kept, "a")
        #expect(a != nil && avp(kept, "b") == a && avp(kept, "c") == a, "one connection for all three")
        let closed = try run(route, params: #"modparam("http_client", "httpcon", "api=>URL")"#)
        #expect(Set([avp(closed, "a"), avp(closed, "b"), avp(closed, "c")].map { "\($0!)" }).count == 3)
    }

    @Test func connectionDefinitionsFromParametersAndFileAndTheRPC() throws {
        let dir = TemporaryDirectory()
        let file = dir.write(
            "httpcon.cfg",
            """
            # connections
            [filecon]
            url = \(server.url)
            timeout = 2
            maxdatasize = 5
            httpredirect = yes
            username = "u1"

            """)
        let loaded = try HTTPScriptHarness.load(
            """
            loadmodule "http_client.so"
            modparam("http_client", "httpcon", "one=>http://bob:pw@example.com/api;timeout=7;failover=two")
            modparam("http_client", "httpcon", "two => https://example.org")
            modparam("http_client", "config_file", "\(file)")
            request_route {
                $avp(rc) = http_connect("filecon", "/big/100", "$avp(r)");
            }
            """)
        let rpc = loaded.context.rpcs.call(RPCRequest(method: "httpclient.listcon", params: []))
        guard case .success(.object(let members)) = rpc else {
            Issue.record("listcon: \(rpc)")
            return
        }
        #expect(members.map(\.0) == ["CONNECTION", "CONNECTION", "CONNECTION"])
        let names = members.map { $0.1["NAME"] }
        #expect(names == [.string("filecon"), .string("two"), .string("one")], "newest first, as Kamailio")
        let one = members[2].1
        #expect(one["SCHEMA"] == .string("http") && one["URI"] == .string("example.com/api"))
        #expect(one["USERNAME"] == .string("bob") && one["PASSWORD"] == .string("pw"))
        #expect(one["FAILOVER"] == .string("two") && one["TIMEOUT"] == .int(7))
        #expect(members[1].1["TIMEOUT"] == .int(4))
        #expect(members[0].1["USERNAME"] == .string("u1") && members[0].1["TIMEOUT"] == .int(2))
        let ctx = try ScriptHarness.context(ScriptHarness.request(), core: loaded.context)
        loaded.script.runRequestRoute(ctx)
        #expect(ctx.avps["rc"]?.first == .int(200))
        #expect(ctx.avps["r"]?.first == .string("01234"), "the file's maxdatasize")
    }

    @Test func badArgumentsAreStartupErrors() {
        let notWritable = ScriptHarness.errors(
            ScriptHarness.prelude
                + #"loadmodule "http_client.so" request_route { http_client_query("http://x/", "$si"); }"#)
        #expect(!notWritable.isEmpty)
        let badCon = ScriptHarness.errors(
            ScriptHarness.prelude + #"loadmodule "http_client.so" modparam("http_client", "httpcon", "nourl")"#)
        #expect(!badCon.isEmpty)
        let dup = ScriptHarness.errors(
            ScriptHarness.prelude
                + #"loadmodule "http_client.so" modparam("http_client", "httpcon", "a=>http://x") modparam("http_client", "httpcon", "a=>http://y")"#
        )
        #expect(!dup.isEmpty)
    }
}

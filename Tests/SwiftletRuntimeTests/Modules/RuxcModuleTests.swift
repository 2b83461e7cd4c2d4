import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// ruxc against the loopback HTTP test server: return codes, bodies, headers, retries,
/// timeouts and connection reuse as Kamailio 5.6's ruxc (libruxc) gives them.
@Suite(.serialized) struct RuxcModuleTests {
    let server: HTTPTestServer

    init() throws { server = try HTTPTestServer() }

    func run(_ route: String, params: String = "") throws -> MessageContext {
        let cfg = """
            loadmodule "ruxc.so"
            \(params)
            request_route {
            \(route)
            }
            """
        return try HTTPScriptHarness.run(cfg.replacingOccurrences(of: "URL", with: server.url))
    }

    func avp(_ ctx: MessageContext, _ name: String) -> PVValue? { ctx.avps[name]?.first }

    @Test func getPostAndDelete() throws {
        let ctx = try run(
            #"""
            $avp(g) = ruxc_http_get("URL/text", "X-Token: abc\r\nX-Other:  two ", "$avp(gr)");
            $avp(p) = ruxc_http_post("URL/echo", "a=$fU", "Content-Type: text/plain", "$avp(pr)");
            $avp(d) = ruxc_http_delete("URL/echo", "ignored", "", "$avp(dr)");
            """#)
        #expect(avp(ctx, "g") == .int(200))
        #expect(avp(ctx, "gr") == .string("first line\nsecond line\n"), "the whole body")
        #expect(avp(ctx, "p") == .int(200))
        #expect(avp(ctx, "pr") == .string("POST a=bob"))
        #expect(avp(ctx, "d") == .int(200))
        #expect(avp(ctx, "dr") == .string("DELETE "), "libruxc sends no body with DELETE")
        let reqs = Array(server.requests.suffix(3))
        #expect(reqs[0].headers["x-token"] == "abc" && reqs[0].headers["x-other"] == "two")
        #expect(reqs[1].headers["content-type"] == "text/plain")
        #expect(reqs[2].method == "DELETE")
    }

    @Test func statusesBodiesAndRedirects() throws {
        let ctx = try run(
            #"""
            $avp(a) = ruxc_http_get("URL/status/404", "", "$avp(ar)");
            $avp(b) = ruxc_http_get("URL/status/503", "", "$avp(br)");
            $avp(c) = ruxc_http_get("URL/redirect", "", "$avp(cr)");
            $avp(er) = "kept";
            $avp(e) = ruxc_http_get("URL/status/204", "", "$avp(er)");
            """#)
        #expect(avp(ctx, "a") == .int(404) && avp(ctx, "ar") == .string("status 404\nmore"))
        #expect(avp(ctx, "b") == .int(503) && avp(ctx, "br") == .string("status 503\nmore"))
        #expect(avp(ctx, "c") == .int(200) && avp(ctx, "cr") == .string("first line\nsecond line\n"))
        #expect(avp(ctx, "e") == .int(204))
        #expect(avp(ctx, "er") == .string("kept"), "no body: the variable is not touched")
    }

    @Test func retryRepeatsUntilA2xx() throws {
        let before = server.requests.count
        let ctx = try run(
            #"$avp(rc) = ruxc_http_get("URL/status/500", "", "$avp(r)");"#,
            params: #"modparam("ruxc", "http_retry", 2)"#)
        #expect(avp(ctx, "rc") == .int(500))
        #expect(server.requests.count - before == 3, "the request and two retries")
    }

    @Test func timeoutAndRefusedConnectionReturnMinusOne() throws {
        let hole = try BlackHoleListener()
        let start = Date()
        let ctx = try run(
            """
            $avp(rc) = ruxc_http_get("http://127.0.0.1:\(hole.port)/", "", "$avp(r)");
            $avp(rc2) = ruxc_http_post("http://127.0.0.1:\(refusedTCPPort())/", "x", "", "$avp(r)");
            """, params: #"modparam("ruxc", "http_timeout", 800)"#)
        let elapsed = Date().timeIntervalSince(start)
        #expect(avp(ctx, "rc") == .int(-1))
        #expect(avp(ctx, "rc2") == .int(-1))
        #expect(elapsed >= 0.7 && elapsed < 3, "http_timeout 800 ms: \(elapsed)")
    }

    @Test func reuseKeepsOneConnectionPerWorker() throws {
        let route = #"""
            ruxc_http_get("URL/conn", "", "$avp(a)");
            ruxc_http_get("URL/conn", "", "$avp(b)");
            """#
        let kept = try run(route, params: #"modparam("ruxc", "http_reuse", 2)"#)
        #expect(avp(kept, "a") != nil && avp(kept, "a") == avp(kept, "b"))
        let fresh = try run(route)
        #expect(avp(fresh, "a") != avp(fresh, "b"))
    }
}

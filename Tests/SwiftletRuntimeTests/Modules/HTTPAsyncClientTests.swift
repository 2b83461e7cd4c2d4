import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// http_async_client on the embedded core against a real HTTP(S) server on loopback: the
/// request is suspended, the query runs on a worker thread, and the callback route continues
/// the transaction with the reply's status, reason, headers and body, or with the error
/// (timeout, connection refused, TLS verification).
@Suite(.serialized, .enabled(if: HTTPAsyncTestServer.isAvailable, "python3 is not installed"))
struct HTTPAsyncClientTests {
    static let caller = "127.0.0.1:5070"

    static func config(_ script: String, params: String = "") -> String {
        """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "http_async_client.so"
        \(params)
        \(script)

        """
    }

    static func options(_ user: String, callID: String) -> String {
        [
            "OPTIONS sip:\(user)@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-\(callID);rport",
            "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:\(user)@127.0.0.1>", "Call-ID: \(callID)",
            "CSeq: 1 OPTIONS", "Max-Forwards: 70", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// The first lines sent, waited for (up to `timeout` s) until `count` came.
    func waitForReplies(_ core: EmbeddedCore, count: Int = 1, timeout: TimeInterval = 5) -> [String] {
        var sent: [String] = []
        let deadline = Date().addingTimeInterval(timeout)
        while sent.count < count, Date() < deadline {
            sent += core.takeSent().map(\.firstLine)
            if sent.count < count { usleep(5_000) }
        }
        return sent
    }

    /// A query run in a suspended transaction: route[REPLY] replies with the result.
    static let replyingScript = """
        request_route {
            if (t_check_trans()) { exit; }
            t_newtran();
            route(SETUP);
            http_async_query("$hdr(X-URL)", "REPLY");
            t_reply("500", "not suspended");
        }
        route[REPLY] {
            if ($http_ok) {
                t_reply("$http_rs", "$http_rr|$http_rb|$http_hdr(X-Test)|$(http_hdr(X-Test)[-1])|$http_bs|$http_ok|$http_err|$http_hdr(X-None)");
            } else {
                t_reply("503", "error|$http_ok|$http_err|$http_rs");
            }
        }
        """

    static func request(_ url: String, callID: String) -> String {
        options("http", callID: callID).replacingOccurrences(
            of: "Content-Length: 0", with: "X-URL: \(url)\r\nContent-Length: 0")
    }

    @Test func resumedRouteSeesStatusReasonHeadersAndBody() throws {
        let http = try HTTPAsyncTestServer()
        let core = try EmbeddedCore(
            config: Self.config(Self.replyingScript + "route[SETUP] { }"), modulePath: productsDirectory)
        defer { core.shutdown() }
        core.receive(
            Self.request("http://127.0.0.1:\(http.port)/status/202/Accepted%20Here", callID: "h1"), from: Self.caller)
        let replies = waitForReplies(core)
        #expect(replies == ["SIP/2.0 202 Accepted Here|status|one|two|6|1|<null>|<null>"])
    }

    @Test func postsTheBodyWithHeadersAndMethod() throws {
        let http = try HTTPAsyncTestServer()
        let setup = """
            route[SETUP] {
                if ($ci == "put") { $http_req(method) = "PUT"; }
                $http_req(body) = "a=1&b=" + $fU;
                $http_req(hdr) = "X-Custom: yes";
                $http_req(hdr) = "X-Second: 2";
            }
            """
        let core = try EmbeddedCore(config: Self.config(Self.replyingScript + setup), modulePath: productsDirectory)
        defer { core.shutdown() }
        core.receive(Self.request("http://127.0.0.1:\(http.port)/echo", callID: "post"), from: Self.caller)
        let post = waitForReplies(core).first ?? ""
        #expect(post.hasPrefix("SIP/2.0 200 OK|method=POST path=/echo body=a=1&b=alice headers="))
        #expect(post.contains("|X-Custom: yes|X-Second: 2|"))
        core.receive(Self.request("http://127.0.0.1:\(http.port)/echo", callID: "put"), from: Self.caller)
        #expect(waitForReplies(core).first?.hasPrefix("SIP/2.0 200 OK|method=PUT path=/echo body=a=1&b=alice") == true)
    }

    /// Parameters last for one query: the next one is a GET without the headers.
    @Test func parametersAreResetAfterEachQuery() throws {
        let http = try HTTPAsyncTestServer()
        let setup = """
            route[SETUP] {
                if ($ci == "first") { $http_req(body) = "x"; $http_req(hdr) = "X-Once: 1"; }
            }
            """
        let core = try EmbeddedCore(config: Self.config(Self.replyingScript + setup), modulePath: productsDirectory)
        defer { core.shutdown() }
        let url = "http://127.0.0.1:\(http.port)/echo"
        core.receive(Self.request(url, callID: "first"), from: Self.caller)
        #expect(waitForReplies(core).first?.contains("method=POST path=/echo body=x headers=") == true)
        core.receive(Self.request(url, callID: "second"), from: Self.caller)
        let second = waitForReplies(core).first ?? ""
        #expect(second.hasPrefix("SIP/2.0 200 OK|method=GET path=/echo body= headers="))
        #expect(!second.contains("X-Once"))
    }

    /// 3xx replies are followed with `$http_req(follow_redirect) = 1` (or
    /// `curl_follow_redirect`), else they are the result.
    @Test func redirectsAreFollowedWhenAsked() throws {
        let http = try HTTPAsyncTestServer()
        let setup = """
            route[SETUP] {
                if ($ci == "follow") { $http_req(follow_redirect) = 1; }
            }
            """
        let core = try EmbeddedCore(config: Self.config(Self.replyingScript + setup), modulePath: productsDirectory)
        defer { core.shutdown() }
        let url = "http://127.0.0.1:\(http.port)/redirect/status/203/Final"
        core.receive(Self.request(url, callID: "follow"), from: Self.caller)
        #expect(waitForReplies(core).first?.hasPrefix("SIP/2.0 203 Final|status|one|two|6|1|") == true)
        core.receive(Self.request(url, callID: "stay"), from: Self.caller)
        #expect(waitForReplies(core).first?.hasPrefix("SIP/2.0 302 Found|moved|") == true)
    }

    @Test func timeoutResumesWithAnError() throws {
        let http = try HTTPAsyncTestServer()
        let core = try EmbeddedCore(
            config: Self.config(Self.replyingScript + "route[SETUP] { $http_req(timeout) = 300; }"),
            modulePath: productsDirectory)
        defer { core.shutdown() }
        let started = Date()
        core.receive(Self.request("http://127.0.0.1:\(http.port)/never", callID: "slow"), from: Self.caller)
        #expect(waitForReplies(core) == ["SIP/2.0 503 error|0|TIMEOUT|<null>"])
        #expect(Date().timeIntervalSince(started) >= 0.25)
    }

    /// The timeout counts from the last activity, as Kamailio's socket events: a reply that
    /// trickles in for longer than the timeout arrives; a pause longer than it times out.
    @Test func timeoutCountsFromTheLastActivity() throws {
        let http = try HTTPAsyncTestServer()
        let core = try EmbeddedCore(
            config: Self.config(Self.replyingScript + "route[SETUP] { $http_req(timeout) = 300; }"),
            modulePath: productsDirectory)
        defer { core.shutdown() }
        var started = Date()
        // 8 bytes 100 ms apart: 0.8 s in all, never 300 ms without a byte.
        core.receive(Self.request("http://127.0.0.1:\(http.port)/trickle/8/100", callID: "trickle"), from: Self.caller)
        let reply = waitForReplies(core).first ?? ""
        #expect(reply.hasPrefix("SIP/2.0 200 OK|xxxxxxxx|one|two|8|1|<null>|"), "\(reply)")
        #expect(Date().timeIntervalSince(started) >= 0.75)
        // The head at once, then 700 ms before the first body byte: a timeout 300 ms after the head.
        started = Date()
        core.receive(Self.request("http://127.0.0.1:\(http.port)/trickle/3/700", callID: "pause"), from: Self.caller)
        #expect(waitForReplies(core) == ["SIP/2.0 503 error|0|TIMEOUT|<null>"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 0.25 && elapsed < 0.65, "\(elapsed)")
    }

    @Test func connectionRefusedResumesWithAnError() throws {
        let core = try EmbeddedCore(
            config: Self.config(Self.replyingScript + "route[SETUP] { }"), modulePath: productsDirectory)
        defer { core.shutdown() }
        let port = freeTCPPortForHTTP()
        core.receive(Self.request("http://127.0.0.1:\(port)/x", callID: "refused"), from: Self.caller)
        let reply = waitForReplies(core).first ?? ""
        #expect(reply.hasPrefix("SIP/2.0 503 error|0|Failed to connect to 127.0.0.1 port \(port)"))
        #expect(reply.hasSuffix("|<null>"))
    }

    /// Without a transaction (or with `$http_req(suspend) = 0`) the script goes on (1) and
    /// the callback route runs on Kamailio's faked request; `$http_req_id` names the query.
    @Test func withoutSuspendingTheScriptGoesOn() throws {
        let http = try HTTPAsyncTestServer()
        let core = try EmbeddedCore(
            config: Self.config(
                """
                request_route {
                    if ($rU == "read") { sl_send_reply("200", "$shv(status)|$shv(id)|$shv(method)|$shv(sent)"); exit; }
                    $var(code) = 201;
                    if ($rU == "nosuspend") { t_newtran(); $http_req(suspend) = 0; $var(code) = 202; }
                    $var(rc) = http_async_query("http://127.0.0.1:\(http.port)/status/$var(code)/Made", "DONE");
                    $shv(sent) = $http_req_id;
                    if ($rU == "nosuspend") { t_reply("200", "went on $var(rc)"); exit; }
                    sl_send_reply("200", "went on $var(rc)");
                }
                route[DONE] {
                    $shv(method) = $rm;
                    $shv(id) = $http_req_id;
                    $shv(status) = $http_rs;
                }
                """), modulePath: productsDirectory)
        defer { core.shutdown() }
        for (user, code) in [("stateless", 201), ("nosuspend", 202)] {
            core.receive(Self.options(user, callID: user), from: Self.caller)
            #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 went on 1"])
            let deadline = Date().addingTimeInterval(5)
            var read = ""
            var n = 0
            while Date() < deadline {
                n += 1
                core.receive(Self.options("read", callID: "read-\(user)-\(n)"), from: Self.caller)
                read = core.takeSent().first?.firstLine ?? ""
                if read.hasPrefix("SIP/2.0 200 \(code)|") { break }
                usleep(20_000)
            }
            // The callback ran on the faked OPTIONS with the id of the query sent.
            let fields = read.split(separator: "|").map(String.init)
            #expect(fields.count == 4 && fields[2] == "OPTIONS" && fields[1] == fields[3], "\(read)")
            #expect(fields.count == 4 && fields[1].hasPrefix("\(getpid())-"), "\(read)")
        }
    }

    @Test func httpsVerifiesThePeerWithTheConfiguredCA() throws {
        let certs = try HTTPAsyncTestCertificates()
        let https = try HTTPAsyncTestServer(certificate: certs.certificate, key: certs.key)
        let setup = """
            route[SETUP] {
                if ($ci == "with-ca") { $http_req(tls_ca_path) = "\(certs.caDirectory)"; }
            }
            """
        let core = try EmbeddedCore(config: Self.config(Self.replyingScript + setup), modulePath: productsDirectory)
        defer { core.shutdown() }
        let url = "https://127.0.0.1:\(https.port)/status/200/Secure"
        core.receive(Self.request(url, callID: "with-ca"), from: Self.caller)
        #expect(waitForReplies(core).first?.hasPrefix("SIP/2.0 200 Secure|status|") == true)
        core.receive(Self.request(url, callID: "without-ca"), from: Self.caller)
        let failed = waitForReplies(core).first ?? ""
        #expect(failed.hasPrefix("SIP/2.0 503 error|0|SSL certificate problem"))

        let unverified = try EmbeddedCore(
            config: Self.config(
                Self.replyingScript + "route[SETUP] { }",
                params:
                    "modparam(\"http_async_client\", \"tls_verify_peer\", 0)\nmodparam(\"http_async_client\", \"tls_verify_host\", 0)"
            ),
            modulePath: productsDirectory)
        defer { unverified.shutdown() }
        unverified.receive(Self.request(url, callID: "unverified"), from: Self.caller)
        #expect(waitForReplies(unverified).first?.hasPrefix("SIP/2.0 200 Secure|") == true)
    }

    @Test func badParametersAndNamesAreRefused() throws {
        #expect(throws: (any Error).self) {
            try EmbeddedCore(
                config: Self.config("request_route { }", params: "modparam(\"http_async_client\", \"workers\", 0)"),
                modulePath: productsDirectory)
        }
        #expect(throws: (any Error).self) {
            try EmbeddedCore(
                config: Self.config(
                    "request_route { }", params: "modparam(\"http_async_client\", \"memory_manager\", \"pkg\")"),
                modulePath: productsDirectory)
        }
        #expect(throws: (any Error).self) {
            try EmbeddedCore(
                config: Self.config("request_route { $http_req(nothing) = 1; }"), modulePath: productsDirectory)
        }
        #expect(throws: (any Error).self) {
            try EmbeddedCore(
                config: Self.config("request_route { $var(t) = $http_time(never); }"), modulePath: productsDirectory)
        }
    }
}

/// A TCP port on 127.0.0.1 with nothing listening (bound once, then released).
func freeTCPPortForHTTP() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
            _ = bind(fd, sp, len)
            _ = getsockname(fd, sp, &len)
        }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// http_client, ruxc and slack over HTTPS with a test CA made by the openssl command.
@Suite(.serialized) struct HTTPClientTLSTests {
    let pki: HTTPTestPKI
    let server: HTTPTestServer

    init() throws {
        pki = try HTTPTestPKI()
        server = try HTTPTestServer(tls: (pki.file("server.pem"), pki.file("server.key")))
    }

    func run(_ config: String) throws -> MessageContext {
        try HTTPScriptHarness.run(config.replacingOccurrences(of: "URL", with: "https://127.0.0.1:\(server.port)"))
    }

    @Test func theServerIsVerifiedWithTheConfiguredCA() throws {
        let ok = try run(
            """
            loadmodule "http_client.so"
            modparam("http_client", "cacert", "\(pki.file("ca.pem"))")
            request_route { $avp(rc) = http_client_query("URL/text", "$avp(r)"); }
            """)
        #expect(ok.avps["rc"]?.first == .int(200))
        #expect(ok.avps["r"]?.first == .string("first line"))
        let wrong = try run(
            """
            loadmodule "http_client.so"
            modparam("http_client", "cacert", "\(pki.file("other-ca.pem"))")
            request_route { $avp(rc) = http_client_query("URL/text", "$avp(r)"); $avp(e) = $curlerror(60); }
            """)
        #expect(wrong.avps["rc"]?.first == .int(60), "CURLE_PEER_FAILED_VERIFICATION")
        #expect(wrong.avps["e"]?.first == .string("SSL peer certificate or SSH remote key was not OK"))
        let unverified = try run(
            """
            loadmodule "http_client.so"
            modparam("http_client", "cacert", "\(pki.file("other-ca.pem"))")
            modparam("http_client", "verify_peer", 0)
            modparam("http_client", "httpcon", "api=>URL;verify_peer=1")
            request_route {
                $avp(rc) = http_client_query("URL/text", "$avp(r)");
                $avp(rc2) = http_connect("api", "/text", "$avp(r2)");
            }
            """)
        #expect(unverified.avps["rc"]?.first == .int(200), "verify_peer 0: any certificate")
        #expect(unverified.avps["rc2"]?.first == .int(60), "the connection's verify_peer=1 wins")
    }

    @Test func ruxcTLSModeZeroAcceptsAnyCertificateAndOneOnlyTrustedOnes() throws {
        let any = try run(
            """
            loadmodule "ruxc.so"
            request_route { $avp(rc) = ruxc_http_get("URL/text", "", "$avp(r)"); }
            """)
        #expect(any.avps["rc"]?.first == .int(200))
        #expect(any.avps["r"]?.first == .string("first line\nsecond line\n"))
        let trusted = try run(
            """
            loadmodule "ruxc.so"
            modparam("ruxc", "http_tlsmode", 1)
            request_route { $avp(rc) = ruxc_http_get("URL/text", "", "$avp(r)"); }
            """)
        #expect(trusted.avps["rc"]?.first == .int(-1), "the test CA is not among the system's")
    }

    /// slack_send posts Kamailio's JSON to the webhook, here https://hooks.slack.com reached
    /// through http_client's `httpproxy` (a local CONNECT proxy to the HTTPS test server).
    @Test func slackSendPostsTheJSONToTheWebhook() throws {
        let proxy = try HTTPTestServer(proxyTo: server.port)
        let ctx = try HTTPScriptHarness.run(
            """
            loadmodule "http_client.so"
            loadmodule "slack.so"
            modparam("http_client", "httpproxy", "http://127.0.0.1:\(proxy.port)")
            modparam("http_client", "cacert", "\(pki.file("ca.pem"))")
            modparam("slack", "slack_url", "https://hooks.slack.com/services/T0/B0/XYZ")
            modparam("slack", "channel", "#ops")
            modparam("slack", "icon_emoji", ":phone:")
            request_route {
                $avp(rc) = slack_send("call from $fU: \\"$rm\\"");
            }
            """
        )
        #expect(ctx.avps["rc"]?.first == .int(1))
        #expect(proxy.requests.last?.method == "CONNECT")
        #expect(proxy.requests.last?.path == "hooks.slack.com:443")
        let r = try #require(server.requests.last)
        #expect(r.method == "POST" && r.path == "/services/T0/B0/XYZ")
        #expect(r.body.hasPrefix(##"{"channel": "#ops", "username": "webhookbot", "text": "##))
        let json = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: String]
        #expect(
            json == [
                "channel": "#ops", "username": "webhookbot", "text": #"call from bob: "INVITE""#,
                "icon_emoji": ":phone:",
            ])
    }

    @Test func slackRefusesAnotherWebhookHostAndNeedsHTTPClient() {
        let other = ScriptHarness.errors(
            ScriptHarness.prelude
                + #"loadmodule "http_client.so" loadmodule "slack.so" modparam("slack", "slack_url", "https://example.com/x")"#
        )
        #expect(other.joined().contains("invalid webhook url"))
        #expect(throws: (any Error).self, "mod_init needs http_client's API") {
            try HTTPScriptHarness.load(
                #"loadmodule "slack.so" modparam("slack", "slack_url", "https://hooks.slack.com/services/x")"#)
        }
    }
}

import Foundation
import Synchronization
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// rr's API for other modules (`RecordRouteAPI`, Kamailio's `load_rr`): the loose_route
/// callbacks (`register_rrcb`) with our Route parameters, and the functions as other modules
/// call them.
@Suite struct RRAPITests {
    final class Seen: @unchecked Sendable {
        let lines = Mutex<[String]>([])
        func add(_ s: String) { lines.withLock { $0.append(s) } }
        var all: [String] { lines.withLock { $0 } }
    }

    static let script = """
        request_route {
            if (has_totag()) {
                if (loose_route()) { forward(); exit; }
                sl_send_reply("404", "Not here"); exit;
            }
            sl_send_reply("200", "ok");
        }

        """

    @Test func looseRouteRunsTheCallbacksWithOurRouteParameters() throws {
        let core = try RRModuleTests().core(
            Self.script, globals: RRModuleTests.globals + "loadmodule \"siputils.so\"\n")
        let rr = try #require(core.context.apis.lookup(RecordRouteAPI.self))
        #expect(rr.appendsFromTag)
        let seen = Seen()
        rr.registerLooseRouteCallback(priority: 2) { ctx, params in
            seen.add("second \(params)")
        }
        rr.registerLooseRouteCallback(priority: 1) { ctx, params in
            seen.add("first \(params)")
            seen.add(
                "foo=\(rr.routeParameterValue(ctx, "foo") ?? "nil") bar=\(rr.routeParameterValue(ctx, "bar") ?? "nil")")
            seen.add(
                "check \(rr.checkRouteParameter(ctx, pattern: "foo=b.z")) \(rr.checkRouteParameter(ctx, pattern: "nope"))"
            )
            seen.add("up \(rr.isDirection(ctx, .upstream)) down \(rr.isDirection(ctx, .downstream))")
        }
        // From the callee: its From tag is not our ftag.
        let bye = RRModuleTests.request(
            "BYE", uri: "sip:alice@127.0.0.1:35070", branch: "bye1", fromTag: "callee", toTag: "abc123",
            callID: "api-1", cseq: "2 BYE",
            extra: ["Route: <sip:127.0.0.1:35090;lr;ftag=abc123;bar;foo=baz>", "Route: <sip:127.0.0.3:5060;lr>"])
        core.receive(bye, from: "127.0.0.1:35070")
        #expect(
            seen.all == [
                "first lr;ftag=abc123;bar;foo=baz", "foo=baz bar=", "check 1 -1", "up 1 down -1",
                "second lr;ftag=abc123;bar;foo=baz",
            ])
        #expect(core.takeSent().map(\.firstLine) == ["BYE sip:alice@127.0.0.1:35070 SIP/2.0"])
        // A Route that is not ours: no callback.
        let other = RRModuleTests.request(
            "BYE", uri: "sip:alice@127.0.0.1:35070", branch: "bye2", fromTag: "callee", toTag: "abc123",
            callID: "api-2", cseq: "2 BYE", extra: ["Route: <sip:127.0.0.3:5060;lr;foo=x>"])
        core.receive(other, from: "127.0.0.1:35070")
        #expect(seen.all.count == 5)
    }

    @Test func recordRouteAndAddParameterThroughTheAPI() throws {
        let core = try RRModuleTests().core(
            """
            request_route {
                forward("127.0.0.1", 35080);
            }
            onsend_route { }

            """)
        let rr = try #require(core.context.apis.lookup(RecordRouteAPI.self))
        // As a module calls it from its own script function: a context of a received INVITE.
        let msg = try SIPMessage(parsing: Array(RRModuleTests.invite("api").utf8))
        let ctx = MessageContext(
            message: msg,
            receive: ReceiveInfo(
                proto: .udp, sourceIP: "127.0.0.1", sourcePort: 35070, localIP: "127.0.0.1", localPort: 35090,
                socket: core.transport.sockets.first),
            core: core.context)
        #expect(rr.addRecordRouteParameter(ctx, ";first=1") == 1)
        #expect(rr.recordRoute(ctx, parameters: ";p=2") == 1)
        #expect(rr.recordRoute(ctx, parameters: nil) == -1)  // a second time
        let socket = try #require(core.transport.sockets.first)
        let bytes = try StatelessForwarding.buildRequest(ctx, socket: socket, proto: .udp, branch: "z9hG4bKx")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("Record-Route: <sip:127.0.0.1:35090;lr;ftag=abc123;p=2;first=1>\r\n"))
    }
}

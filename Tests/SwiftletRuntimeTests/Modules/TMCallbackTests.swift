import Foundation
import Synchronization
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// tm's callbacks for other modules (`TransactionCallbacksAPI`, Kamailio's `TMCB_*`) on a
/// relayed call, as the dialog module registers them: a global request-in callback that
/// registers the per-transaction ones.
@Suite struct TMCallbackTests {
    final class Events: @unchecked Sendable {
        private let lock = Mutex<[String]>([])
        func add(_ s: String) { lock.withLock { $0.append(s) } }
        func take() -> [String] {
            lock.withLock { l in
                defer { l = [] }; return l
            }
        }
    }

    static func name(_ t: TransactionCallbackTypes) -> String {
        switch t {
        case .requestIn: "request-in"
        case .responseIn: "response-in"
        case .e2eAckIn: "e2e-ack-in"
        case .onFailure: "on-failure"
        case .responseOut: "response-out"
        case .destroy: "destroy"
        default: "?"
        }
    }

    func setUp() throws -> (EmbeddedCore, Events) {
        let core = try TMModuleTests().core()
        let api = try #require(core.context.apis.lookup(TransactionCallbacksAPI.self))
        let events = Events()
        api.registerRequestIn { e in
            events.add("request-in \(e.request.message.methodText)")
            let ok = api.register([.responseIn, .responseOut, .onFailure, .destroy, .e2eAckIn], for: e.request) { e in
                events.add("\(Self.name(e.type)) \(e.code)" + (e.branch.map { " b\($0)" } ?? ""))
            }
            if !ok { events.add("refused") }
            // Request-in is global only.
            if api.register(.requestIn, for: e.request, { _ in }) { events.add("accepted request-in") }
        }
        return (core, events)
    }

    @Test func aFailedCallRunsResponseInOutOnFailureAndDestroy() throws {
        let (core, events) = try setUp()
        core.receive(TMModuleTests.invite(), from: TMModuleTests.caller)
        let invite = core.takeSent()[1]
        #expect(events.take() == ["request-in INVITE", "response-out 100"])
        core.receive(TMModuleTests.reply(to: invite, 180, "Ringing"), from: TMModuleTests.callee)
        #expect(events.take() == ["response-in 180 b0", "response-out 180"])
        core.receive(TMModuleTests.reply(to: invite, 486, "Busy Here"), from: TMModuleTests.callee)
        #expect(events.take() == ["response-in 486 b0", "on-failure 486 b0", "response-out 486"])
        // 486 is retransmitted until the ACK (none here: 64·T1), then wt_timer.
        core.advance(milliseconds: 30_000)
        #expect(events.take().isEmpty)
        core.advance(milliseconds: 20_000)
        #expect(events.take() == ["destroy 486"])
    }

    @Test func theAckOfATwoHundredRunsE2EAckIn() throws {
        let (core, events) = try setUp()
        core.receive(TMModuleTests.invite(), from: TMModuleTests.caller)
        let invite = core.takeSent()[1]
        core.receive(TMModuleTests.reply(to: invite, 200, "OK"), from: TMModuleTests.callee)
        #expect(events.take() == ["request-in INVITE", "response-out 100", "response-in 200 b0", "response-out 200"])
        let ack =
            [
                "ACK sip:bob@127.0.0.2:5080 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-ack1;rport",
                "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>;tag=b1", "Call-ID: tm-1", "CSeq: 1 ACK",
                "Max-Forwards: 70", "Content-Length: 0",
            ].joined(separator: "\r\n") + "\r\n\r\n"
        core.receive(ack, from: TMModuleTests.caller)
        #expect(events.take() == ["e2e-ack-in 200"])
        core.advance(milliseconds: 10_000)
        #expect(events.take() == ["destroy 200"])
        core.receive(ack, from: TMModuleTests.caller)  // the transaction is gone
        #expect(events.take().isEmpty)
    }
}

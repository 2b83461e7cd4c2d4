import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// Branches tm has cancelled, on the embedded core (configuration and helpers of
/// TMModuleTests), as Kamailio 5.6 handles them (seen with SIPp on loopback): their
/// provisional replies are not relayed to the caller, the CANCEL goes on the branch then
/// (or again), and over UDP the CANCEL is retransmitted until it is answered.
@Suite struct TMCancelledBranchTests {
    typealias T = TMModuleTests

    func lines(_ sent: [MemoryTransport.Sent]) -> [String] {
        sent.map { "\($0.firstLine) -> \($0.destination.address)" }
    }

    /// The caller cancels before the callee said anything: no CANCEL yet; the callee's 180
    /// then brings the CANCEL and stays with the proxy; its 487 goes up.
    @Test func aRingAfterTheCancelIsNotRelayed() throws {
        let core = try EmbeddedCore(config: T.config(), modulePath: productsDirectory)
        core.receive(T.invite(), from: T.caller)
        let invite = core.takeSent()[1]
        let cancel = T.invite().replacingOccurrences(of: "INVITE sip:", with: "CANCEL sip:")
            .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 CANCEL")
        core.receive(cancel, from: T.caller)
        #expect(lines(core.takeSent()) == ["SIP/2.0 200 canceling -> 127.0.0.1:5070"])
        core.receive(T.reply(to: invite, 180, "Ringing"), from: T.callee)
        #expect(lines(core.takeSent()) == ["CANCEL sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
        core.receive(T.reply(to: invite, 487, "Request Terminated"), from: T.callee)
        #expect(
            lines(core.takeSent()) == [
                "ACK sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080", "SIP/2.0 487 Request Terminated -> 127.0.0.1:5070",
            ])
    }

    /// After the 200 of one fork, a 183 from the cancelled one is not relayed; the CANCEL
    /// goes again.
    @Test func aProvisionalReplyOfACancelledForkIsNotRelayed() throws {
        let core = try EmbeddedCore(config: T.config(), modulePath: productsDirectory)
        core.receive(T.invite("fork"), from: T.caller)
        let sent = core.takeSent()
        core.receive(T.reply(to: sent[2], 180, "Ringing", toTag: "c1"), from: "127.0.0.3:5080")
        core.receive(T.reply(to: sent[1], 200, "OK"), from: T.callee)
        _ = core.takeSent()
        core.receive(T.reply(to: sent[2], 183, "Session Progress", toTag: "c1"), from: "127.0.0.3:5080")
        #expect(lines(core.takeSent()) == ["CANCEL sip:fork@127.0.0.3:5080 SIP/2.0 -> 127.0.0.3:5080"])
    }

    /// The CANCEL goes again at T1, 2·T1, ... until the callee answers it.
    @Test func theCancelIsRetransmittedUntilAnswered() throws {
        let core = try EmbeddedCore(config: T.config(), modulePath: productsDirectory)
        core.receive(T.invite(), from: T.caller)
        let invite = core.takeSent()[1]
        core.receive(T.reply(to: invite, 180, "Ringing"), from: T.callee)
        _ = core.takeSent()
        let cancel = T.invite().replacingOccurrences(of: "INVITE sip:", with: "CANCEL sip:")
            .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 CANCEL")
        core.receive(cancel, from: T.caller)
        let sentCancel = try #require(core.takeSent().first { $0.firstLine.hasPrefix("CANCEL") })
        let toCallee = ["CANCEL sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"]
        core.advance(milliseconds: 499)
        #expect(core.takeSent().isEmpty)
        core.advance(milliseconds: 1)
        #expect(lines(core.takeSent()) == toCallee)
        core.advance(milliseconds: 1_000)
        #expect(lines(core.takeSent()) == toCallee)
        core.receive(T.reply(to: sentCancel, 200, "OK"), from: T.callee)
        core.advance(milliseconds: 10_000)
        #expect(core.takeSent().isEmpty)
    }

    /// Both forks answer 200: the second 200 goes up too (the caller ACKs and ends each
    /// dialog; RFC 3261 16.7), as Kamailio relays every 2xx of an INVITE.
    @Test func aSecond200OfAnotherForkIsRelayedToo() throws {
        let core = try EmbeddedCore(config: T.config(), modulePath: productsDirectory)
        core.receive(T.invite("fork"), from: T.caller)
        let sent = core.takeSent()
        core.receive(T.reply(to: sent[1], 200, "OK"), from: T.callee)
        #expect(lines(core.takeSent()) == ["SIP/2.0 200 OK -> 127.0.0.1:5070"])
        core.receive(T.reply(to: sent[2], 200, "OK", toTag: "c2"), from: "127.0.0.3:5080")
        let second = core.takeSent()
        #expect(lines(second) == ["SIP/2.0 200 OK -> 127.0.0.1:5070"])
        #expect(second.first?.text.contains(";tag=c2") == true)
    }
}

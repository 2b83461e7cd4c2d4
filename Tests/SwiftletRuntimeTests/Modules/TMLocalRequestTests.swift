import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// The CANCELs and hop-by-hop ACKs tm builds itself, on the embedded core (configuration
/// and helpers of TMModuleTests), compared with what Kamailio 5.6.3 sends for the same
/// exchanges (SIPpTransactionScenarioTests runs them through the binary).
@Suite struct TMLocalRequestTests {
    typealias T = TMModuleTests

    func core(_ extra: String = "") throws -> EmbeddedCore {
        try EmbeddedCore(config: T.config(extra), modulePath: productsDirectory)
    }

    func header(_ name: String, in text: String) -> String? {
        text.components(separatedBy: "\r\n").first { $0.hasPrefix(name + ": ") }
    }

    /// The CANCEL and the ACK of the 487 carry the Max-Forwards of the INVITE as it went
    /// out (Kamailio builds them from that INVITE, `reparse_invite`), not a fresh 70.
    @Test func cancelAndAckKeepTheInvitesMaxForwards() throws {
        let core = try core()
        let invite = T.invite().replacingOccurrences(of: "Max-Forwards: 70", with: "Max-Forwards: 12")
        core.receive(invite, from: T.caller)
        let sentInvite = core.takeSent()[1]
        #expect(header("Max-Forwards", in: sentInvite.text) == "Max-Forwards: 12")
        core.receive(T.reply(to: sentInvite, 180, "Ringing"), from: T.callee)
        _ = core.takeSent()
        let cancel = invite.replacingOccurrences(of: "INVITE sip:", with: "CANCEL sip:")
            .replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 CANCEL")
        core.receive(cancel, from: T.caller)
        let sentCancel = try #require(core.takeSent().first { $0.firstLine.hasPrefix("CANCEL") })
        #expect(header("Max-Forwards", in: sentCancel.text) == "Max-Forwards: 12")
        #expect(header("Reason", in: sentCancel.text) == nil)  // the caller's CANCEL had none
        core.receive(T.reply(to: sentInvite, 487, "Request Terminated"), from: T.callee)
        let ack = try #require(core.takeSent().first { $0.firstLine.hasPrefix("ACK") })
        #expect(header("Max-Forwards", in: ack.text) == "Max-Forwards: 12")
    }

    /// A branch cancelled because another one answered 200 gets `Reason: SIP;cause=200;
    /// text="Call completed elsewhere"`; after a 6xx the cause is its code; a branch that
    /// timed out is cancelled without a Reason (Kamailio's `local_cancel_reason`).
    @Test func localCancelsSayWhy() throws {
        for (code, reason) in [
            (200, #"Reason: SIP;cause=200;text="Call completed elsewhere""#), (603, "Reason: SIP;cause=603"),
        ] {
            let core = try core()
            core.receive(T.invite("fork"), from: T.caller)
            let sent = core.takeSent()
            core.receive(T.reply(to: sent[2], 180, "Ringing", toTag: "c1"), from: "127.0.0.3:5080")
            _ = core.takeSent()
            core.receive(T.reply(to: sent[1], code, code == 200 ? "OK" : "Decline"), from: T.callee)
            let cancel = try #require(core.takeSent().first { $0.firstLine.hasPrefix("CANCEL") }, "\(code)")
            #expect(header("Reason", in: cancel.text) == reason)
        }
        let core = try core(#"modparam("tm", "fr_inv_timer", 2000)"#)
        core.receive(T.invite(), from: T.caller)
        let sentInvite = core.takeSent()[1]
        core.receive(T.reply(to: sentInvite, 180, "Ringing"), from: T.callee)
        _ = core.takeSent()
        core.advance(milliseconds: 2_000)
        let cancel = try #require(core.takeSent().first { $0.firstLine.hasPrefix("CANCEL") })
        #expect(header("Reason", in: cancel.text) == nil)
    }
}

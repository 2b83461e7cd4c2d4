import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// How replies find their transaction by the id in our branch (`z9hG4bK<label>.<id>.<n>`):
/// the id alone decides (the table finds it from the number it is made of), and an id that
/// is not the transaction's, even with its label, matches nothing.
@Suite struct TMTransactionMatchingTests {
    typealias T = TMModuleTests

    func core() throws -> EmbeddedCore {
        try EmbeddedCore(config: T.config(), modulePath: productsDirectory)
    }

    /// The branch of the request as tm sent it.
    func branch(_ request: MemoryTransport.Sent) -> String {
        let via = request.text.components(separatedBy: "\r\n").first { $0.hasPrefix("Via: ") } ?? ""
        return String(via[via.range(of: "branch=")!.upperBound...])
    }

    /// `branch` with its id's digit at `offset` (from the id's start) changed.
    func forged(_ branch: String, idDigit offset: Int) -> String {
        var parts = branch.split(separator: ".").map(String.init)
        var id = Array(parts[1].utf8)
        id[offset] = id[offset] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        parts[1] = String(decoding: id, as: UTF8.self)
        return parts.joined(separator: ".")
    }

    @Test func aReplyWithTheTransactionsIdStopsTheRetransmissions() throws {
        let core = try core()
        core.receive(T.invite(), from: T.caller)
        let invite = core.takeSent()[1]
        core.receive(T.reply(to: invite, 180, "Ringing"), from: T.callee)
        #expect(T().lines(core.takeSent()) == ["SIP/2.0 180 Ringing -> 127.0.0.1:5070"])
        core.advance(milliseconds: 4000)
        #expect(core.takeSent().isEmpty)
    }

    @Test(arguments: [0, 15, 16, 31])
    func aReplyWithAnotherIdUnderTheSameLabelMatchesNoTransaction(offset: Int) throws {
        let core = try core()
        core.receive(T.invite(), from: T.caller)
        let invite = core.takeSent()[1]
        let b = branch(invite)
        let reply = T.reply(to: invite, 180, "Ringing").replacingOccurrences(
            of: b, with: forged(b, idDigit: offset))
        core.receive(reply, from: T.callee)
        _ = core.takeSent()  // whatever stateless forwarding does with it
        // tm saw no reply: the INVITE is still retransmitted at T1.
        core.advance(milliseconds: 500)
        #expect(T().lines(core.takeSent()) == ["INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
    }

    /// Branches that are ours but malformed (`TransactionKey.parseRange` reads them through a
    /// pointer): another cookie, a part more, no index, a non-numeric index, a cut id.
    @Test(arguments: ["cookie", "extra part", "no index", "letter index", "short id"])
    func aReplyWithAMalformedBranchMatchesNoTransaction(kind: String) throws {
        let core = try core()
        core.receive(T.invite(), from: T.caller)
        let invite = core.takeSent()[1]
        let b = branch(invite)
        let parts = b.split(separator: ".").map(String.init)
        let bad: String
        switch kind {
        case "cookie": bad = "z9hG4bk" + b.dropFirst(7)
        case "extra part": bad = b + ".1"
        case "no index": bad = parts[0] + "." + parts[1]
        case "letter index": bad = parts[0] + "." + parts[1] + ".a"
        default: bad = parts[0] + "." + parts[1].dropLast() + "." + parts[2]
        }
        core.receive(T.reply(to: invite, 180, "Ringing").replacingOccurrences(of: b, with: bad), from: T.callee)
        _ = core.takeSent()
        core.advance(milliseconds: 500)
        #expect(T().lines(core.takeSent()) == ["INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5080"])
    }

    /// A retransmitted INVITE finds its transaction by the key made from its top Via (branch,
    /// sent-by with the port, method class) and is absorbed; one from another sent-by port is
    /// another transaction.
    @Test func aRetransmissionMatchesByTheWholeKey() throws {
        let core = try core()
        let invite = T.invite(callID: "k-1", branch: "z9hG4bK-k1")
        core.receive(invite, from: T.caller)
        #expect(core.takeSent().count == 2)  // 100 Trying, the INVITE relayed
        core.receive(invite, from: T.caller)
        #expect(T().lines(core.takeSent()) == ["SIP/2.0 100 trying -- your call is important to us -> 127.0.0.1:5070"])
        core.receive(invite.replacingOccurrences(of: "127.0.0.1:5070;", with: "127.0.0.1:5072;"), from: T.caller)
        #expect(core.takeSent().count == 2)  // a new transaction: its own 100 and INVITE
    }

    @Test func repliesFindEachOfManyTransactions() throws {
        let core = try core()
        var invites: [MemoryTransport.Sent] = []
        for i in 0..<300 {
            core.receive(T.invite(callID: "m-\(i)", branch: "z9hG4bK-m\(i)"), from: T.caller)
            invites.append(core.takeSent()[1])
        }
        for invite in invites.reversed() {
            core.receive(T.reply(to: invite, 200, "OK"), from: T.callee)
            #expect(T().lines(core.takeSent()) == ["SIP/2.0 200 OK -> 127.0.0.1:5070"])
        }
        core.advance(milliseconds: 4000)
        #expect(core.takeSent().isEmpty)  // every branch had its final reply
    }
}

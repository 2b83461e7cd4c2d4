import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// `dlg_refer(side, address)` on the embedded core: the REFER inside a confirmed dialog to
/// the side named, then the BYE to that side after the REFER's final reply; the dialog
/// itself goes on until its own BYE. In `DialogModuleTests`, serialized with its tests (they
/// read the process-wide statistics).
extension DialogModuleTests {

    /// A reply from the side that received `request`: its Via, From, To, Call-ID and CSeq.
    static func replyFromUA(to request: MemoryTransport.Sent, _ code: Int, _ reason: String) -> String {
        var lines = ["SIP/2.0 \(code) \(reason)"]
        for line in request.text.components(separatedBy: "\r\n") {
            let name = line.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            if ["Via", "From", "To", "Call-ID", "CSeq"].contains(name) { lines.append(line) }
        }
        lines.append("Content-Length: 0")
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    @Test func referToTheCallerThenByeAfterTheFinalReply() throws {
        let core = try Self.core(
            #"modparam("dialog", "bridge_controller", "sip:ctl@example.net")"#,
            info: #"dlg_refer("caller", "sip:announce@127.0.0.9"); $sht(ev=>refer) = $rc;"#)
        let (_, route) = try Self.confirmedCall(core, callID: "ref-1")
        // An INFO from the callee (CSeq 5) runs dlg_refer("caller", ...).
        core.receive(
            Self.inDialog("INFO", callID: "ref-1", route: route, fromCaller: false, cseq: 5, branch: "info-ref1"),
            from: Self.callee)
        #expect(Self.sht(core, "refer") == .int(1))
        let sent = core.takeSent()
        let refer = try #require(sent.first { $0.firstLine.hasPrefix("REFER") })
        #expect(refer.firstLine == "REFER sip:alice@127.0.0.1:5070 SIP/2.0")
        #expect(Self.header("Refer-To", refer.text) == "sip:announce@127.0.0.9")
        #expect(Self.header("Referred-By", refer.text) == "sip:ctl@example.net")
        #expect(Self.header("Contact", refer.text) == "<sip:controller@kamailio.org:5060>")
        #expect(Self.header("Call-ID", refer.text) == "ref-1")
        // In the callee's name: its tag and URI in From, its CSeq (5) plus one.
        #expect(Self.header("From", refer.text)?.hasPrefix("<sip:bob@127.0.0.1>;tag=b1") == true)
        #expect(Self.header("To", refer.text)?.hasPrefix("<sip:alice@127.0.0.1>;tag=a1") == true)
        #expect(Self.header("CSeq", refer.text) == "6 REFER")
        #expect(!sent.contains { $0.firstLine.hasPrefix("BYE") })
        // The caller accepts: the BYE goes to it, CSeq after the REFER's.
        core.receive(Self.replyFromUA(to: refer, 202, "Accepted"), from: Self.caller)
        let bye = try #require(core.takeSent().first { $0.firstLine.hasPrefix("BYE") })
        #expect(bye.firstLine == "BYE sip:alice@127.0.0.1:5070 SIP/2.0")
        #expect(Self.header("CSeq", bye.text) == "7 BYE")
        #expect(Self.header("To", bye.text)?.hasPrefix("<sip:alice@127.0.0.1>;tag=a1") == true)
        #expect(Self.header("Refer-To", bye.text) == nil)
        core.receive(Self.replyFromUA(to: bye, 200, "OK"), from: Self.caller)
        _ = core.takeSent()
        // As in Kamailio the dialog is not moved by the transfer: still confirmed.
        #expect(try Self.dialogs(core).first { $0["call-id"] == .string("ref-1") }?["state"] == .int(4))
    }

    @Test func referToTheCalleeCaseInsensitiveAndAFailureStillSendsTheBye() throws {
        let core = try Self.core(info: #"dlg_refer("CALLEE", "$fU@127.0.0.9"); $sht(ev=>refer) = $rc;"#)
        let (_, route) = try Self.confirmedCall(core, callID: "ref-2")
        core.receive(
            Self.inDialog("INFO", callID: "ref-2", route: route, fromCaller: true, cseq: 11, branch: "info-ref2"),
            from: Self.caller)
        #expect(Self.sht(core, "refer") == .int(1))
        let refer = try #require(core.takeSent().first { $0.firstLine.hasPrefix("REFER") })
        #expect(refer.firstLine == "REFER sip:bob@127.0.0.2:5080 SIP/2.0")
        #expect(Self.header("Refer-To", refer.text) == "alice@127.0.0.9")
        #expect(Self.header("From", refer.text)?.hasPrefix("<sip:alice@127.0.0.1>;tag=a1") == true)
        #expect(Self.header("To", refer.text)?.hasPrefix("<sip:bob@127.0.0.1>;tag=b1") == true)
        #expect(Self.header("CSeq", refer.text) == "12 REFER")
        // A negative reply: Kamailio sends the BYE anyhow.
        core.receive(Self.replyFromUA(to: refer, 603, "Decline"), from: Self.callee)
        let bye = try #require(core.takeSent().first { $0.firstLine.hasPrefix("BYE") })
        #expect(bye.firstLine == "BYE sip:bob@127.0.0.2:5080 SIP/2.0")
        #expect(Self.header("CSeq", bye.text) == "13 BYE")
    }

    @Test func withoutADialogOrWithABadSide() throws {
        let core = try Self.core(
            request: #"dlg_refer("caller", "sip:x@127.0.0.9"); $sht(ev=>nodlg) = $rc; dlg_manage();"#)
        core.receive(Self.invite(callID: "ref-3"), from: Self.caller)
        _ = core.takeSent()
        #expect(Self.sht(core, "nodlg") == .int(-1))
        #expect(throws: (any Error).self) {
            try Self.core(request: #"dlg_manage(); dlg_refer("both", "sip:x@127.0.0.9");"#)
        }
    }
}

import Foundation

/// One call between a caller (`alice`) and a callee (`bob`) on UDP sockets through topos
/// proxies: each message is sent to the proxy port the test names, so the dialog can move
/// between proxies sharing one storage. The callee's address is the INVITE's Request-URI.
final class ToposSocketCall {
    let caller = SIPSocketParty(user: "alice")
    let callee = SIPSocketParty(user: "bob")
    let callID: String
    /// The Contact the caller got in the 200 (`sip:atpsh-...`): its in-dialog target.
    var calleeTarget = ""
    /// The Contact the callee got in the INVITE (`sip:btpsh-...`).
    var callerTarget = ""

    init(callID: String) { self.callID = callID }

    /// INVITE and its 200 through `port` (no ACK yet); what the callee got and what the
    /// caller got.
    @discardableResult
    func establish(through port: Int) throws -> (invite: ReceivedSIP, ok: ReceivedSIP) {
        caller.request(
            "INVITE", callee.contact, to: port, branch: "\(callID)-inv", from: "<sip:alice@127.0.0.1>", fromTag: "a1",
            toHeader: "<sip:bob@127.0.0.1>", callID: callID, cseq: 1)
        let invite = try callee.expect("INVITE ")
        callee.reply(invite, "200 OK", toTag: "b1")
        let ok = try caller.expect("SIP/2.0 200")
        calleeTarget = ok.contactURI ?? ""
        callerTarget = invite.contactURI ?? ""
        return (invite, ok)
    }

    /// Sends the caller's in-dialog `method` through `port`; what the callee got.
    func callerSends(_ method: String, through port: Int, cseq: Int) throws -> ReceivedSIP {
        caller.request(
            method, calleeTarget, to: port, branch: "\(callID)-a\(method)\(cseq)", from: "<sip:alice@127.0.0.1>",
            fromTag: "a1", toHeader: "<sip:bob@127.0.0.1>;tag=b1", callID: callID, cseq: cseq)
        return try callee.expect("\(method) ")
    }

    /// Sends the callee's in-dialog `method` through `port`; what the caller got.
    func calleeSends(_ method: String, through port: Int, cseq: Int) throws -> ReceivedSIP {
        callee.request(
            method, callerTarget, to: port, branch: "\(callID)-b\(method)\(cseq)", from: "<sip:bob@127.0.0.1>",
            fromTag: "b1", toHeader: "<sip:alice@127.0.0.1>;tag=a1", callID: callID, cseq: cseq)
        return try caller.expect("\(method) ")
    }

    /// The caller's BYE through `port`, the callee's 200 back; the 200 the caller got.
    func callerHangsUp(through port: Int, cseq: Int) throws -> ReceivedSIP {
        let bye = try callerSends("BYE", through: port, cseq: cseq)
        callee.reply(bye, "200 OK", toTag: "b1")
        return try caller.expect("SIP/2.0 200")
    }

    /// The callee's BYE through `port`, the caller's 200 back; the 200 the callee got.
    func calleeHangsUp(through port: Int, cseq: Int) throws -> ReceivedSIP {
        let bye = try calleeSends("BYE", through: port, cseq: cseq)
        caller.reply(bye, "200 OK", toTag: "a1")
        return try callee.expect("SIP/2.0 200")
    }
}

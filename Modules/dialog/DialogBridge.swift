import SwiftletSDK

/// `dlg_bridge(from, to, op)` and `dlg.bridge_dlg` (Kamailio's `dlg_bridge` in
/// dlg_transfer.c): an INVITE on hold to `from` in the name of `bridge_controller`; once it
/// answers 2xx (tm ACKs it), a REFER in that new call with `Refer-To: to`, then, whatever the
/// REFER's final reply, a BYE. The call is not tracked as a dialog.
extension DialogModule {
    /// The on-hold offer of the INVITE (Kamailio's `DLG_HOLD_SDP`).
    static let bridgeHoldSDP =
        "v=0\r\no=kamailio-bridge 0 0 IN IP4 0.0.0.0\r\ns=kamailio\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
        + "m=audio 9 RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"

    /// Sends the INVITE to `from` (Request-URI and To), From `bridge_controller`,
    /// `Contact: <bridge_contact>`, through the outbound proxy `outboundProxy` when not empty,
    /// with `body` (nil: the on-hold SDP). False when tm could not send it.
    func bridge(from: String, to: String, outboundProxy: String, body: String? = nil) -> Bool {
        guard let uac else { return false }
        let request = LocalRequest(
            method: "INVITE", requestURI: from, nextHop: outboundProxy.isEmpty ? nil : outboundProxy,
            from: settings.bridgeController, to: from,
            headers: "Contact: <\(settings.bridgeContact)>\r\nContent-Type: application/sdp\r\n",
            body: Array((body ?? Self.bridgeHoldSDP).utf8))
        let result = uac.sendRequest(request) { [weak self] reply in
            guard reply.isFinal else { return }
            guard reply.code < 300, let answer = reply.message else {
                Log.debug("dialog", "bridge INVITE to \(from) completed with status \(reply.code)")
                return
            }
            self?.referBridged(answer, to: to)
        }
        if case .failure(let e) = result {
            Log.error("dialog", "failed to send the bridge INVITE to \(from): \(e)")
            return false
        }
        return true
    }

    /// The REFER in the call the 2xx `answer` set up (`dlg_bridge_tm_callback` and
    /// `dlg_refer_callee`): to the 2xx's Contact through its Record-Route entries reversed,
    /// From and To as the INVITE's with the answer's tag, CSeq the INVITE's plus one;
    /// after its final reply a BYE with the CSeq after.
    private func referBridged(_ answer: SIPMessage, to address: String) {
        let b = answer.buffer
        guard let uac, let callIDRange = MessageIdentity.callID(answer), let from = try? answer.from(),
            let fromTag = from.tag(b), !fromTag.isEmpty, let to = try? answer.to(), let cseq = try? answer.cseq()
        else {
            Log.error("dialog", "bad 2xx to the bridge INVITE")
            return
        }
        guard let contact = (try? answer.firstContact()).flatMap({ $0 }) else {
            Log.error("dialog", "no Contact in the 2xx to the bridge INVITE")
            return
        }
        // tm adds Max-Forwards where Kamailio's t_request_within has it.
        var lines = ""
        for entry in ((try? answer.nameAddrs(.recordRoute)) ?? []).reversed() {
            lines += "Route: \(b.dialogText(entry.range))\r\n"
        }
        let base = LocalRequest(
            method: "REFER", requestURI: b.dialogText(contact.uri), from: b.dialogText(from.uri),
            fromTag: b.dialogText(fromTag), to: b.dialogText(to.uri), toTag: answer.toTag ?? "",
            callID: b.dialogText(callIDRange), cseq: Int(cseq.number) + 1, headers: lines)
        var refer = base
        refer.headers +=
            "Referred-By: \(settings.bridgeController)\r\nRefer-To: \(address)\r\n"
            + "Contact: <\(settings.bridgeContact)>\r\n"
        let result = uac.sendRequest(refer) { [weak self] reply in
            guard reply.isFinal, let self, let uac = self.uac else { return }
            // "we send the BYE anyhow", with the CSeq after the REFER's.
            var bye = base
            bye.method = "BYE"
            bye.cseq = Int(cseq.number) + 2
            if case .failure(let e) = uac.sendRequest(bye, completion: { _ in }) {
                Log.error("dialog", "failed to send the BYE request: \(e)")
            }
        }
        if case .failure(let e) = result {
            Log.error("dialog", "failed to send the REFER request: \(e)")
        }
    }
}

import SwiftletSDK

/// `dlg_refer` (Kamailio's dlg_transfer.c): a REFER inside the dialog to one side, then,
/// whatever its final reply, a BYE to that side.
extension DialogModule {
    /// Sends the REFER to `leg` with `Refer-To: <address>`, `Referred-By: <bridge_controller>`
    /// and `Contact: <bridge_contact>` (Kamailio's `dlg_transfer` + `dlg_refer_callee`).
    /// False when the leg has no Contact yet or tm refused the request.
    func refer(_ d: Dialog, _ leg: Leg, to address: String) -> Bool {
        guard let uac, var request = request(d, to: leg, method: "REFER", headers: "") else {
            Log.error("dialog", "failed to create dlg_t")
            return false
        }
        let base = request
        request.headers +=
            "Referred-By: \(settings.bridgeController)\r\nRefer-To: \(address)\r\n"
            + "Contact: <\(settings.bridgeContact)>\r\n"
        let result = uac.sendRequest(request) { [weak self] reply in
            guard reply.isFinal else { return }
            // "we send the BYE anyhow", with the CSeq after the REFER's.
            var bye = base
            bye.method = "BYE"
            bye.cseq = (base.cseq ?? 0) + 1
            self?.sendReferBye(bye)
        }
        if case .failure(let e) = result {
            Log.error("dialog", "failed to send the REFER request: \(e)")
            return false
        }
        return true
    }

    /// The BYE after a REFER's final reply (`dlg_refer_tm_callback`): the dialog's state is
    /// left as it is, as in Kamailio.
    private func sendReferBye(_ bye: LocalRequest) {
        guard let uac else { return }
        if case .failure(let e) = uac.sendRequest(bye, completion: { _ in }) {
            Log.error("dialog", "failed to send the BYE request: \(e)")
        }
    }
}

import SwiftletSDK

/// `dlg_set_timeout_by_profile` and `dlg_set_ruri`.
extension DialogModule {
    var profileTimeoutFunctions: [ScriptFunction] {
        [
            ScriptFunction("dlg_set_timeout_by_profile", parameters: 2...3, routes: .any) { args throws(FixupError) in
                let profile = try self.profile(args[0])
                let value = args.count == 3 ? try args[1].stringFormat() : nil
                let timeout = try args[args.count - 1].intParameter()
                return { ctx in
                    guard let seconds = timeout.value(ctx) else { return -1 }
                    var v: String?
                    if let value, profile.hasValue {
                        v = value.render(ctx)
                        if v!.isEmpty {
                            Log.warning("dialog", "cannot get string for value")
                            return -1
                        }
                    }
                    self.setTimeout(profile, value: v, seconds: seconds)
                    return 1
                }
            },
            ScriptFunction("dlg_set_ruri", parameters: 0, routes: .any) { _ throws(FixupError) in
                { ctx in self.setRequestURIToPeer(ctx) }
            },
        ]
    }

    /// The new timeout of every dialog of `profile` (with `value`, only those linked with
    /// it) that is early or later (Kamailio's `dlg_set_timeout_by_profile`).
    func setTimeout(_ profile: DialogProfile, value: String?, seconds: Int) {
        for d in profile.dialogs(value: value) where table.locked(d, { d.state.rawValue }) >= DialogState.early.rawValue
        {
            setTimeout(d, seconds)
        }
    }

    /// `dlg_set_ruri()`: the Request-URI becomes the Contact of the other side of the
    /// message's dialog (the callee's for a request from the caller).
    func setRequestURIToPeer(_ ctx: MessageContext) -> Int {
        guard let id = MessageIdentity(ctx)?.strings,
            let (d, direction) = table.search(callID: id.callID, fromTag: id.fromTag, toTag: id.toTag)
        else { return -1 }
        let leg = direction == .downstream ? 1 : 0
        let contact = table.locked(d) { d.contact[leg] }
        guard !contact.isEmpty else {
            Log.notice("dialog", "no contact uri (leg: \(leg))")
            return -1
        }
        ctx.newRequestURI = contact
        return 1
    }
}

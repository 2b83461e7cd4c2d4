import SwiftletSDK

/// RFC 5626 flows (Kamailio's `t_next_contact_flow`): `t_next_contacts()` sends one branch
/// per `+sip.instance` and keeps the other contacts of that instance (its other flows) in
/// `contact_flows_avp`; when a branch fails, `t_next_contact_flow()` in
/// `event_route[tm:branch-failure:NAME]` appends the next flow of the failed branch's
/// instance as a branch, for `t_relay()` there.
extension ContactLoading {
    /// An item of `contact_flows_avp` (fields `uri`, `dst_uri`, `path`, `sock`, `instance`, `ruid`,
    /// `ua`, `flags`, newest first as Kamailio's `add_contact_flows_avp` adds them).
    static func flowItem(_ c: Contact, _ avp: String) -> XAVP {
        var fields: [XAVP] = [XAVP(name: "uri", value: .string(c.uri))]
        if let du = c.destinationURI { fields.insert(XAVP(name: "dst_uri", value: .string(du)), at: 0) }
        if !c.binding.path.isEmpty { fields.insert(XAVP(name: "path", value: .string(c.binding.path)), at: 0) }
        if let s = c.socket { fields.insert(XAVP(name: "sock", value: .string(s.socketString)), at: 0) }
        insertBinding(c.binding, into: &fields)
        fields.insert(XAVP(name: "flags", value: .int(Int(truncatingIfNeeded: c.flags))), at: 0)
        return XAVP(name: avp, value: .list(fields))
    }

    /// `t_next_contact_flow()`: 1 when a flow of the failed branch's instance was appended
    /// as a branch (and taken out of `contact_flows_avp`); -2 when the branch has no
    /// instance or the XAVP is empty; -1 when the feature is off (`contact_flows_avp` not
    /// set), outside a branch-failure route, or when no flow of that instance is left.
    static func nextFlow(_ ctx: MessageContext, avp: String?, failed: ClientBranch?) -> Int {
        guard let avp else {
            Log.error("tm", "feature has been disabled - to enable define contact_flows_avp module parameter")
            return -1
        }
        guard ctx.routeType == .branchFailure, let failed else {
            Log.error("tm", "Called t_get_this_branch_instance not in a branch_failure_route")
            return -1
        }
        let instance = failed.binding.instance
        guard !instance.isEmpty else { return -2 }
        guard ctx.xavps.contains(where: { $0.name == avp }) else { return -2 }
        for (i, x) in ctx.xavps.enumerated() where x.name == avp {
            guard let c = contact(ctx, x), c.binding.instance == instance, !c.uri.isEmpty else { continue }
            ctx.xavps.remove(at: i)
            ctx.branches.append(
                Branch(
                    uri: c.uri, destinationURI: c.destinationURI, q: nil, flags: c.flags, sendSocket: c.socket,
                    binding: c.binding))
            return 1
        }
        return -1
    }
}

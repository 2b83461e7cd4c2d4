import SwiftletSDK

/// `$dlg(attr)`, `$dlg_var(key)`, `$dlg_ctx(attr)`, `$DLG_count`, `$DLG_status`,
/// `$DLG_lifetime` (Kamailio's dlg_var.c).
extension DialogModule {
    var pseudoVariables: [PseudoVariableClass] {
        [
            PseudoVariableClass("dlg") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
                guard let name = pv.inner else { throw FixupError("$dlg needs an attribute name") }
                let attribute = try Self.dialogAttribute(name)
                return PseudoVariable(text: pv.text) { ctx in
                    guard let d = self.messageDialog(ctx)?.dialog else { return .null }
                    return self.table.locked(d) { attribute(d) }
                }
            },
            PseudoVariableClass("dlg_var") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
                guard let key = pv.inner, !key.isEmpty else { throw FixupError("$dlg_var needs a name") }
                return PseudoVariable(
                    text: pv.text,
                    get: { ctx in
                        if let d = self.messageDialog(ctx)?.dialog {
                            return self.table.locked(d) { d.variable(key) }.map(PVValue.string) ?? .null
                        }
                        let pending = DialogMessageStates.existing(ctx)?.pendingVariables ?? []
                        return pending.first { $0.key == key }.map { .string($0.value) } ?? .null
                    },
                    set: { ctx, value in self.setVariable(ctx, key, value) })
            },
            PseudoVariableClass("dlg_ctx") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
                guard let name = pv.inner else { throw FixupError("$dlg_ctx needs an attribute name") }
                return try self.contextVariable(pv.text, name)
            },
            .readOnly("DLG_count") { _ in .int(self.statistics.map { Counters.shared.value($0.active) } ?? 0) },
            .readOnly("DLG_status") { ctx in
                DialogMessageStates.existing(ctx)?.lastStatus.map { .int($0.state.rawValue) } ?? .null
            },
            .readOnly("DLG_lifetime") { ctx in
                DialogMessageStates.existing(ctx)?.lastStatus.map { .int($0.lifetime) } ?? .null
            },
        ]
    }

    /// Sets `$dlg_var(key)` on the message's dialog, or keeps it for the dialog the message
    /// creates; `$null` removes it.
    func setVariable(_ ctx: MessageContext, _ key: String, _ value: PVValue) -> Bool {
        let text: String?
        switch value {
        case .null: text = nil
        case .string(let s): text = s.isEmpty ? nil : s
        case .int(let i): text = String(i)
        }
        if let d = messageDialog(ctx)?.dialog {
            table.locked(d) { d.setVariable(key, text) }
            if settings.dbMode == 1 { storeVariables(d) }
            return true
        }
        let state = DialogMessageStates.state(ctx)
        state.pendingVariables.removeAll { $0.key == key }
        if let text { state.pendingVariables.insert((key, text), at: 0) }
        return true
    }

    /// The getter of `$dlg(name)` (Kamailio's `pv_parse_dlg_name` names); empty strings
    /// read as `$null`. Lock held when called.
    static func dialogAttribute(_ name: String) throws(FixupError) -> (Dialog) -> PVValue {
        func s(_ f: @escaping (Dialog) -> String) -> (Dialog) -> PVValue {
            { d in
                let v = f(d)
                return v.isEmpty ? .null : .string(v)
            }
        }
        switch name {
        case "h_id": return { .int(Int($0.hashID)) }
        case "h_entry": return { .int(Int($0.hashEntry)) }
        case "ref": return { _ in .int(1) }
        case "state": return { .int($0.state.rawValue) }
        case "to_rs": return s { $0.routeSet[1] }
        case "from_rs": return s { $0.routeSet[0] }
        case "dflags": return { .int(Int($0.dflags)) }
        case "sflags": return { .int(Int($0.sflags)) }
        case "callid": return s { $0.callID }
        case "to_uri": return s { $0.toURI }
        case "from_uri": return s { $0.fromURI }
        case "to_tag": return s { $0.tag[1] }
        case "from_tag": return s { $0.tag[0] }
        case "toroute": return { _ in .int(0) }
        case "to_cseq": return s { $0.cseq[1] }
        case "from_cseq": return s { $0.cseq[0] }
        case "lifetime": return { .int($0.lifetime) }
        case "start_ts": return { .int($0.startTime) }
        case "to_contact": return s { $0.contact[1] }
        case "from_contact": return s { $0.contact[0] }
        case "to_bindaddr": return s { $0.socket[1]?.description ?? "" }
        case "from_bindaddr": return s { $0.socket[0]?.description ?? "" }
        default: throw FixupError("unknown $dlg attribute \(name)")
        }
    }

    /// `$dlg_ctx(name)`: on, set, dir, flags, timeout, timeout_bye, timeout_route,
    /// timeout_route_id.
    func contextVariable(_ text: String, _ name: String) throws(FixupError) -> PseudoVariable {
        func int(_ v: PVValue) -> Int {
            switch v {
            case .int(let i): return i
            case .string(let s): return Int(s) ?? 0
            case .null: return 0
            }
        }
        switch name {
        case "on":
            return PseudoVariable(
                text: text, get: { .int(DialogMessageStates.state($0).on) },
                set: { ctx, v in
                    DialogMessageStates.state(ctx).on = int(v)
                    return true
                })
        case "set":
            return PseudoVariable(text: text) { .int(DialogMessageStates.state($0).dialog == nil ? 0 : 1) }
        case "dir":
            return PseudoVariable(text: text) { .int(DialogMessageStates.state($0).direction) }
        case "flags":
            return PseudoVariable(
                text: text, get: { .int(Int(DialogMessageStates.state($0).flags)) },
                set: { ctx, v in
                    DialogMessageStates.state(ctx).flags = UInt32(truncatingIfNeeded: int(v))
                    return true
                })
        case "timeout":
            return PseudoVariable(
                text: text, get: { .int(DialogMessageStates.state($0).timeout) },
                set: { ctx, v in
                    DialogMessageStates.state(ctx).timeout = int(v)
                    return true
                })
        case "timeout_bye":
            return PseudoVariable(
                text: text, get: { .int(DialogMessageStates.state($0).timeoutBye) },
                set: { ctx, v in
                    DialogMessageStates.state(ctx).timeoutBye = int(v)
                    return true
                })
        case "timeout_route":
            return PseudoVariable(
                text: text,
                get: { ctx in
                    let r = DialogMessageStates.state(ctx).timeoutRoute
                    return r.isEmpty ? .null : .string(r)
                },
                set: { ctx, v in
                    let route: String
                    switch v {
                    case .string(let s): route = s
                    case .int(let i): route = i == 0 ? "" : String(i)
                    case .null: route = ""
                    }
                    let known = route.isEmpty || (self.core?.routes?.routeNames.contains(route) ?? false)
                    DialogMessageStates.state(ctx).timeoutRoute = known ? route : ""
                    return true
                })
        case "timeout_route_id":
            // Kamailio's index of the timeout route (0: none); an assignment sets `on`, as
            // Kamailio 5.6.3's `pv_set_dlg_ctx` does for this name.
            return PseudoVariable(
                text: text,
                get: { ctx in
                    let r = DialogMessageStates.state(ctx).timeoutRoute
                    return .int(r.isEmpty ? 0 : self.core?.routes?.routeIndex(r) ?? 0)
                },
                set: { ctx, v in
                    DialogMessageStates.state(ctx).on = int(v)
                    return true
                })
        default:
            throw FixupError("unknown $dlg_ctx attribute \(name)")
        }
    }
}

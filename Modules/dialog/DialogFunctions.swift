import SwiftletSDK

/// The script functions (Kamailio's names, parameters, return codes and routes).
extension DialogModule {
    var functions: [ScriptFunction] {
        [
            ScriptFunction("dlg_manage", parameters: 0, routes: .request) { _ throws(FixupError) in
                { ctx in self.manage(ctx) }
            },
            ScriptFunction("set_dlg_profile", parameters: 1...2, routes: .any) { args throws(FixupError) in
                let (profile, value) = try self.profileArguments(args)
                return { ctx in self.setProfile(ctx, profile, value?.render(ctx)) }
            },
            ScriptFunction(
                "unset_dlg_profile", parameters: 1...2, routes: [.request, .failure, .onReply, .branch]
            ) { args throws(FixupError) in
                let (profile, value) = try self.profileArguments(args)
                return { ctx in self.unsetProfile(ctx, profile, value?.render(ctx)) }
            },
            ScriptFunction("is_in_profile", parameters: 1...2, routes: .any) { args throws(FixupError) in
                let (profile, value) = try self.profileArguments(args)
                return { ctx in
                    let v = value?.render(ctx)
                    if value != nil && (v ?? "").isEmpty { return -1 }
                    guard let (d, _) = self.messageDialog(ctx) else { return -1 }
                    return self.isLinked(d, profile, value: profile.hasValue ? v : nil) ? 1 : -1
                }
            },
            ScriptFunction("get_profile_size", parameters: 2...3, routes: .any) { args throws(FixupError) in
                let profile = try self.profile(args[0])
                let value = args.count == 3 ? try args[1].stringFormat() : nil
                let result = try self.writablePV(args[args.count - 1])
                return { ctx in
                    var v: String?
                    if let value {
                        v = value.render(ctx)
                        if v!.isEmpty { return -1 }
                    }
                    if profile.hasValue && v == nil { return -1 }
                    let size = profile.size(value: v)
                    return result.set?(ctx, .int(size)) == true ? 1 : -1
                }
            },
            flagFunction("dlg_setflag") { state, d, bit in
                state.flags |= bit
                if let d {
                    d.sflags |= bit
                    d.dflags |= DialogFlags.changed
                }
                return 1
            },
            flagFunction("dlg_resetflag") { state, d, bit in
                state.flags &= ~bit
                if let d {
                    d.sflags &= ~bit
                    d.dflags |= DialogFlags.changed
                }
                return 1
            },
            flagFunction("dlg_isflagset") { state, d, bit in
                if let d { return d.sflags & bit != 0 ? 1 : -1 }
                return state.flags & bit != 0 ? 1 : -1
            },
            ScriptFunction("dlg_bye", parameters: 1, routes: .any) { args throws(FixupError) in
                let side = try args[0].constantString()
                let leg: Leg?
                switch side {
                case "all": leg = nil
                case "caller": leg = .caller
                case "callee": leg = .callee
                default: throw FixupError("unknown dialog side \(side)")
                }
                return { ctx in
                    guard let d = DialogMessageStates.existing(ctx)?.dialog else { return -1 }
                    if let leg { return self.bye(d, leg, headers: "") ? 1 : -1 }
                    return self.byeAll(d, headers: "") ? 1 : -1
                }
            },
            ScriptFunction("dlg_refer", parameters: 2, routes: .any) { args throws(FixupError) in
                let side = try args[0].constantString()
                let leg: Leg
                switch side.lowercased() {
                case "caller": leg = .caller
                case "callee": leg = .callee
                default: throw FixupError("invalid param \"\(side)\"")
                }
                let address = try args[1].stringFormat()
                return { ctx in
                    guard let d = DialogMessageStates.existing(ctx)?.dialog else { return -1 }
                    let to = address.render(ctx)
                    guard !to.isEmpty else {
                        Log.error("dialog", "invalid To parameter")
                        return -1
                    }
                    return self.refer(d, leg, to: to) ? 1 : -1
                }
            },
            ScriptFunction("dlg_bridge", parameters: 3, routes: .any) { args throws(FixupError) in
                let from = try args[0].stringFormat()
                let to = try args[1].stringFormat()
                let proxy = try args[2].stringFormat()
                return { ctx in
                    let f = from.render(ctx)
                    guard !f.isEmpty else {
                        Log.error("dialog", "invalid From parameter")
                        return -1
                    }
                    let t = to.render(ctx)
                    guard !t.isEmpty else {
                        Log.error("dialog", "invalid To parameter")
                        return -1
                    }
                    return self.bridge(from: f, to: t, outboundProxy: proxy.render(ctx)) ? 1 : -1
                }
            },
            ScriptFunction("dlg_get", parameters: 3, routes: .any) { args throws(FixupError) in
                let callID = try args[0].stringFormat()
                let fromTag = try args[1].stringFormat()
                let toTag = try args[2].stringFormat()
                return { ctx in
                    let c = callID.render(ctx)
                    let f = fromTag.render(ctx)
                    let t = toTag.render(ctx)
                    guard !c.isEmpty, !f.isEmpty, !t.isEmpty else { return -1 }
                    guard let (d, dir) = self.table.search(callID: c, fromTag: f, toTag: t) else { return -1 }
                    let state = DialogMessageStates.state(ctx)
                    state.dialog = d
                    state.direction = dir == .downstream ? 1 : 2
                    return 1
                }
            },
            ScriptFunction("is_known_dlg", parameters: 0, routes: .any) { _ throws(FixupError) in
                { ctx in self.messageDialog(ctx) == nil ? -1 : 1 }
            },
            ScriptFunction("dlg_set_timeout", parameters: 1...3, routes: .any) { args throws(FixupError) in
                guard args.count != 2 else { throw FixupError("dlg_set_timeout takes 1 or 3 parameters") }
                let timeout = try args[0].intParameter()
                let entry = args.count == 3 ? try args[1].intParameter() : nil
                let id = args.count == 3 ? try args[2].intParameter() : nil
                return { ctx in
                    guard let to = timeout.value(ctx), to > 0 else { return -1 }
                    let d: Dialog?
                    if let entry, let id {
                        guard let e = entry.value(ctx), let i = id.value(ctx), e >= 0, i >= 0 else { return -1 }
                        d = self.table.lookup(entry: UInt32(truncatingIfNeeded: e), id: UInt32(truncatingIfNeeded: i))
                    } else {
                        d = self.messageDialog(ctx)?.dialog
                    }
                    guard let d else { return -1 }
                    self.setTimeout(d, to)
                    return 1
                }
            },
            propertyFunction("dlg_set_property", set: true),
            propertyFunction("dlg_reset_property", set: false),
        ]
    }

    /// `dlg_set_timeout`: the new lifetime, counted from now when the dialog is on the timer
    /// (`update_dlg_timeout`).
    func setTimeout(_ d: Dialog, _ seconds: Int) {
        let onTimer = table.locked(d) { () -> Bool in
            d.lifetime = seconds
            d.dflags |= DialogFlags.changed
            return d.timeoutTick != nil
        }
        if onTimer { updateTimer(d, seconds: seconds) }
        if settings.dbMode == 1 { store(d) }
    }

    func profile(_ arg: ScriptArgument) throws(FixupError) -> DialogProfile {
        let name = try arg.constantString()
        guard let p = profiles[name] else { throw FixupError("profile <\(name)> not defined", at: arg.location) }
        return p
    }

    func profileArguments(_ args: [ScriptArgument]) throws(FixupError) -> (DialogProfile, StringFormat?) {
        let p = try profile(args[0])
        guard args.count == 2 else { return (p, nil) }
        guard p.hasValue else {
            throw FixupError("profile <\(p.name)> has no value", at: args[1].location)
        }
        return (p, try args[1].stringFormat())
    }

    func writablePV(_ arg: ScriptArgument) throws(FixupError) -> PseudoVariable {
        let text: String
        switch arg.value {
        case .pseudoVariable(let s), .string(let s): text = s
        case .int: throw FixupError("a writable pseudo-variable is required", at: arg.location)
        }
        let pv = try PseudoVariableRegistry.shared.compile(text)
        guard pv.set != nil else { throw FixupError("\(text) is read-only", at: arg.location) }
        return pv
    }

    /// `set_dlg_profile`: links the message's dialog, or (request route, no dialog yet)
    /// keeps the link for the dialog the message creates.
    func setProfile(_ ctx: MessageContext, _ profile: DialogProfile, _ value: String?) -> Int {
        if profile.hasValue && (value ?? "").isEmpty { return -1 }
        if let (d, _) = messageDialog(ctx) {
            link(d, profile, value: value)
            return 1
        }
        guard ctx.routeType == .request else {
            Log.error("dialog", "BUG - dialog not found in a non REQUEST route (1)")
            return -1
        }
        DialogMessageStates.state(ctx).pendingProfiles.append(
            ProfileLink(profile: profile.name, value: profile.hasValue ? value : nil))
        return 1
    }

    /// `unset_dlg_profile` (not in the request route, as in Kamailio).
    func unsetProfile(_ ctx: MessageContext, _ profile: DialogProfile, _ value: String?) -> Int {
        if profile.hasValue && (value ?? "").isEmpty { return -1 }
        guard ctx.routeType != .request else {
            Log.error("dialog", "dialog delete profile cannot be used in request route")
            return -1
        }
        guard let (d, _) = messageDialog(ctx) else {
            Log.warning("dialog", "dialog is NULL for delete profile")
            return -1
        }
        return unlink(d, profile, value: value) ? 1 : -1
    }

    /// `dlg_setflag`/`dlg_resetflag`/`dlg_isflagset(flag)`: flags 0-31 of the context's
    /// dialog, else of the dialog the message will create.
    func flagFunction(
        _ name: String, _ body: @escaping (DialogMessageState, Dialog?, UInt32) -> Int
    ) -> ScriptFunction {
        ScriptFunction(name, parameters: 1, routes: .any) { args throws(FixupError) in
            let flag = try args[0].intParameter()
            return { ctx in
                guard let f = flag.value(ctx), (0...31).contains(f) else { return -1 }
                let state = DialogMessageStates.state(ctx)
                if let d = state.dialog { return self.table.locked(d) { body(state, d, UInt32(1) << UInt32(f)) } }
                return body(state, nil, UInt32(1) << UInt32(f))
            }
        }
    }

    /// `dlg_set_property`/`dlg_reset_property(prop)`: `ka-src`, `ka-dst`, `timeout-noreset`.
    func propertyFunction(_ name: String, set: Bool) -> ScriptFunction {
        ScriptFunction(name, parameters: 1, routes: .any) { args throws(FixupError) in
            let property = try args[0].stringFormat()
            return { ctx in
                let bit: UInt32
                switch property.render(ctx) {
                case "ka-src": bit = DialogFlags.keepAliveSource
                case "ka-dst": bit = DialogFlags.keepAliveDestination
                case "timeout-noreset": bit = DialogFlags.timerNoReset
                case let p:
                    Log.error("dialog", "unknown property value [\(p)]")
                    return -1
                }
                let state = DialogMessageStates.state(ctx)
                if set { state.iflags |= bit } else { state.iflags &= ~bit }
                if let d = state.dialog {
                    self.table.locked(d) { if set { d.iflags |= bit } else { d.iflags &= ~bit } }
                }
                return 1
            }
        }
    }
}

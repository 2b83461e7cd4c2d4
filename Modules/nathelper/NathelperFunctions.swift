import SwiftletSDK

/// nathelper's script functions, with Kamailio's parameter counts and route types.
extension NathelperModule {
    var functions: [ScriptFunction] {
        let replyish: RouteTypes = [.request, .onReply, .branch, .local]
        let tests: RouteTypes = [.request, .onReply, .failure, .branch, .local]
        return [
            ScriptFunction("fix_nated_contact", parameters: 0, routes: replyish) {
                (_: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let rewrite = self.contactRewrite
                return { ctx in rewrite.fixNatedContact(ctx) }
            },
            ScriptFunction("add_contact_alias", parameters: 0, routes: replyish) {
                (_: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let rewrite = self.contactRewrite
                return { ctx in rewrite.addContactAlias(ctx) }
            },
            ScriptFunction("add_contact_alias", parameters: 3, routes: [.request, .onReply, .branch, .failure]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let rewrite = self.contactRewrite
                let (ip, port, proto) = (
                    try args[0].stringFormat(), try args[1].stringFormat(), try args[2].stringFormat()
                )
                return { ctx in
                    rewrite.addContactAlias(ctx, ip: ip.render(ctx), port: port.render(ctx), proto: proto.render(ctx))
                }
            },
            ScriptFunction("set_contact_alias", parameters: 0...1, routes: replyish) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let rewrite = self.contactRewrite
                let trim = try args.first?.intParameter()
                return { ctx in rewrite.setContactAlias(ctx, trim: (trim?.value(ctx) ?? 0) > 0) }
            },
            ScriptFunction("handle_ruri_alias", parameters: 0...1, routes: [.request, .branch, .local]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let mode = try args.first?.intParameter()
                let name = self.aliasName
                return { ctx in
                    var m = 0
                    if let mode {
                        guard let v = mode.value(ctx) else {
                            Log.error("nathelper", "failed to get the value for mode parameter")
                            return -1
                        }
                        m = v
                    }
                    return AliasParameter.handleRequestURI(ctx, mode: m, name: name)
                }
            },
            ScriptFunction("fix_nated_sdp", parameters: 1...2, routes: tests) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let flags = try args[0].intParameter()
                var ip: StringFormat? = nil
                if args.count > 1 { ip = try args[1].stringFormat() }
                let sdp = SDPRewrite(noRTPProxyLine: self.noRTPProxy, appendOldMediaIP: self.appendOldMediaIP != 0)
                return { ctx in
                    guard let f = flags.value(ctx) else {
                        Log.error("nathelper", "failed to get value for first parameter")
                        return -1
                    }
                    return sdp.run(ctx, flags: f, ip: ip?.render(ctx))
                }
            },
            ScriptFunction("nat_uac_test", parameters: 1, routes: tests) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let flags = try args[0].intParameter()
                let detection = NATDetection(addressMode: self.addressMode)
                return { ctx in
                    guard let f = flags.value(ctx) else {
                        Log.error("nathelper", "failed to get the value for flags parameter")
                        return -1
                    }
                    return detection.test(ctx, f)
                }
            },
            ScriptFunction("fix_nated_register", parameters: 0, routes: .request) {
                (_: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                guard let avp = try self.receivedPV(), let set = avp.set else {
                    throw FixupError(
                        "you must set 'received_avp' parameter. Must be same value as parameter 'received_avp' of registrar module"
                    )
                }
                return { ctx in set(ctx, .string(NATAddresses.sourceURI(ctx))) ? 1 : -1 }
            },
            ScriptFunction("add_rcv_param", parameters: 0...1, routes: .request) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let flag = try args.first?.intParameter()
                let rewrite = self.contactRewrite
                return { ctx in
                    var f = 0
                    if let flag {
                        guard let v = flag.value(ctx) else {
                            Log.error("nathelper", "failed to get flags parameter")
                            return -1
                        }
                        f = v
                    }
                    return rewrite.addReceivedParameter(ctx, uriParameter: f != 0)
                }
            },
            ScriptFunction("is_rfc1918", parameters: 1, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let address = try args[0].stringFormat()
                let mode = self.addressMode
                return { ctx in
                    let a = address.render(ctx)
                    guard !a.isEmpty else {
                        Log.error("nathelper", "invalid address parameter")
                        return -2
                    }
                    return NATAddresses.privateIPv4(a, addressMode: mode) == 1 ? 1 : -1
                }
            },
            ScriptFunction("set_alias_to_pv", parameters: 1, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                var name = ""
                if case .pseudoVariable(let p) = args[0].value { name = p } else { name = try args[0].constantString() }
                let pv = try PseudoVariableRegistry.shared.compile(name)
                guard let set = pv.set else {
                    throw FixupError("Destination pseudo-variable is not writable: [\(pv.text)]")
                }
                let alias = self.aliasName
                return { ctx in
                    guard let uri = AliasParameter.aliasURI(ctx.message, name: alias) else { return -1 }
                    return set(ctx, .string(uri)) ? 1 : -1
                }
            },
        ]
    }

    var contactRewrite: ContactRewrite { ContactRewrite(aliasName: aliasName) }
}

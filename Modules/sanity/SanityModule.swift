import SwiftletSDK

/// The `sanity` module (Kamailio's `modules/sanity`): `sanity_check([checks[, uri_checks]])`
/// runs the selected checks on a request or reply and, for a request that fails, sends
/// Kamailio's reply for that check through the sl module (or, with `noreply`, keeps it for
/// `sanity_reply()`).
final class SanityModule: SanityCheckAPI {
    var defaultChecks = SanityChecks.defaultChecks
    var defaultURIChecks = SanityChecks.defaultURIChecks
    /// `proxy_require`: comma-separated extensions accepted in Proxy-Require.
    var proxyRequire = ""
    /// `autodrop`: a failed check stops the script (returns 0); with 0 it returns -1.
    var autodrop = 1
    /// `noreply`: do not reply on failure; `sanity_reply()` sends the reply later.
    var noreply = 0
    var checks = SanityChecks(supportedExtensions: [])
    var sl: StatelessReplyAPI?
    let pending = PendingReplies()

    var exports: ModuleExports {
        let e = ModuleExports(name: "sanity")
        e.parameters = [
            ModuleParameter("default_checks", .int { (v: Int) throws(FixupError) in self.defaultChecks = v }),
            ModuleParameter("uri_checks", .int { (v: Int) throws(FixupError) in self.defaultURIChecks = v }),
            ModuleParameter("proxy_require", .string { (v: String) throws(FixupError) in self.proxyRequire = v }),
            ModuleParameter("autodrop", .int { (v: Int) throws(FixupError) in self.autodrop = v }),
            ModuleParameter("noreply", .int { (v: Int) throws(FixupError) in self.noreply = v }),
        ]
        let routes: RouteTypes = [.request, .onReply]
        e.functions = [
            ScriptFunction("sanity_check", parameters: 0...2, routes: routes, fixup: fixupCheck),
            ScriptFunction("sanity_reply", parameters: 0, routes: routes, fixup: fixupReply),
        ]
        e.provide(self, as: SanityCheckAPI.self)
        e.initialize = { (context: ModuleInitContext) throws(FixupError) in
            self.sl = try context.requireAPI(StatelessReplyAPI.self, by: "sanity", from: "sl")
            self.bind()
        }
        return e
    }

    /// Binds the sl API and parses `proxy_require` (mod_init; also done by the fixups, which
    /// run after every module is loaded and its parameters set, so that configurations loaded
    /// without starting the server work too).
    func bind() {
        if sl == nil { sl = CoreContext.current.apis.lookup(StatelessReplyAPI.self) }
        checks = SanityChecks(supportedExtensions: Self.extensionList(proxyRequire))
    }

    /// Kamailio's `parse_str_list`: comma-separated, each item trimmed; empty text, no items.
    static func extensionList(_ text: String) -> [String] {
        let t = text.trimmingCharacters()
        guard !t.isEmpty else { return [] }
        return t.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters() }
    }

    /// `sanity_check([msg_checks[, uri_checks]])`: 1 when every check passes; on failure 0
    /// (the script stops; `autodrop`) or -1; -1 when a bitmask is out of range.
    func fixupCheck(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let msgChecks = args.count > 0 ? try args[0].intParameter() : nil
        let uriChecks = args.count > 1 ? try args[1].intParameter() : nil
        bind()
        return { ctx in
            guard let m = msgChecks.map({ $0.value(ctx) }) ?? self.defaultChecks,
                let u = uriChecks.map({ $0.value(ctx) }) ?? self.defaultURIChecks
            else {
                Log.error("sanity", "failed to get check flags parameter")
                return -1
            }
            guard m >= 1, m < SanityChecks.maxChecks else {
                Log.error("sanity", "input parameter (\(m)) outside of valid range <1-\(SanityChecks.maxChecks))")
                return -1
            }
            guard u >= 1, u < SanityChecks.uriMaxChecks else {
                Log.error(
                    "sanity", "second input parameter (\(u)) outside of valid range <1-\(SanityChecks.uriMaxChecks)")
                return -1
            }
            if self.noreply != 0 { self.pending.clear() }
            guard let failure = self.checks.run(ctx, checks: m, uriChecks: u) else { return 1 }
            self.fail(ctx, failure)
            return self.autodrop != 0 ? 0 : -1
        }
    }

    /// Handles a failed check as Kamailio's `sanity_reply()` helper: no reply to replies and
    /// ACKs; with `noreply` the reply is kept for `sanity_reply()`, else it is sent now.
    func fail(_ ctx: MessageContext, _ failure: SanityFailure) {
        let msg = ctx.message
        if failure.noReplyFlag { pending.markNoReply(ctx) }
        if let header = failure.replyHeader { ctx.replyLumps.appendHeader(Array(header.utf8)) }
        guard let code = failure.code, msg.isRequest, !Self.isACK(msg) else { return }
        if noreply != 0 {
            pending.store(ctx, code: code, reason: failure.reason)
        } else if !pending.isNoReply(ctx) {
            _ = sl?.sendReply(ctx, code: code, reason: failure.reason)
        }
    }

    /// `SanityCheckAPI` (Kamailio's `bind_sanity` `check_defaults`): the default checks on a
    /// message another module received, without a reply.
    func checkDefaults(_ message: SIPMessage, proto: TransportProtocol, peer: SocketAddress) -> Int {
        let ctx = MessageContext(
            message: message, receive: ReceiveInfo(proto: proto, source: peer, local: SocketAddress()))
        guard let failure = checks.run(ctx, checks: defaultChecks, uriChecks: defaultURIChecks) else { return 1 }
        if let code = failure.code {
            Log.info("sanity", "check failed: \(code) \(failure.reason)")
        }
        return 0
    }

    static func isACK(_ msg: SIPMessage) -> Bool {
        guard case .request(_, let r, _) = msg.firstLine else { return false }
        return String(decoding: msg.buffer[r], as: UTF8.self).uppercased() == "ACK"
    }

    /// `sanity_reply()`: with `noreply`, sends the reply of the failed check of this message
    /// (500 "Server Sanity Failure" when there is none); otherwise does nothing. Returns 1,
    /// -1 when the reply cannot be sent.
    func fixupReply(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        bind()
        return { ctx in
            let msg = ctx.message
            guard msg.isRequest, !Self.isACK(msg), self.noreply != 0, !self.pending.isNoReply(ctx) else { return 1 }
            let (code, reason) = self.pending.reply(for: ctx) ?? (500, "Server Sanity Failure")
            if self.pending.reply(for: ctx) == nil { Log.info("sanity", "no sanity reply info set - sending 500") }
            return (self.sl?.sendReply(ctx, code: code, reason: reason) ?? -1) < 0 ? -1 : 1
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "sanity") { SanityModule().exports }
}

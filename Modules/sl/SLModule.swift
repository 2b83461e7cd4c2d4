import SwiftletSDK

/// The `sl` module: stateless replies (Kamailio's `modules/sl`).
final class SLModule: StatelessReplyAPI {
    /// `default_code`: used when the code argument cannot be evaluated.
    var defaultCode = 500
    /// `default_reason`: used when the reason argument cannot be evaluated.
    var defaultReason = "Internal Server Error"
    /// Replies sent, by class (`sl.stats`).
    let stats = SLStats()
    /// tm's API when tm is loaded (sl's `bind_tm`).
    var tm: TransactionAPI?
    /// The To-tag generator, ready after `mod_init`.
    var tags = StatelessTag(firstListener: nil)

    var exports: ModuleExports {
        let e = ModuleExports(name: "sl")
        e.parameters = [
            ModuleParameter(
                "default_code",
                .int { (v: Int) throws(FixupError) in
                    guard (100...699).contains(v) else { throw FixupError("default_code must be 100-699, got \(v)") }
                    self.defaultCode = v
                }),
            ModuleParameter("default_reason", .string { (v: String) throws(FixupError) in self.defaultReason = v }),
        ]
        let reply = { (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in try self.fixupReply(args) }
        e.functions = [
            ScriptFunction("sl_send_reply", parameters: 2, routes: .request, fixup: reply),
            ScriptFunction("sl_reply", parameters: 2, routes: .request, fixup: reply),
            // send_reply: through tm when the request has a transaction, else stateless.
            ScriptFunction("send_reply", parameters: 2, routes: [.request, .onReply, .failure]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let stateless = try reply(args)
                let code = try args[0].intParameter()
                let reason = try args[1].stringFormat()
                return { ctx in
                    if let tm = self.tm, tm.hasTransaction(ctx) {
                        return tm.reply(ctx, code: code.value(ctx) ?? self.defaultCode, reason: reason.render(ctx))
                    }
                    return stateless(ctx)
                }
            },
            ScriptFunction("sl_reply_error", parameters: 0, routes: .request) { _ in self.replyError },
            ScriptFunction("sl_forward_reply", parameters: 0...2, routes: .onReply) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in try self.fixupForwardReply(args)
            },
        ]
        e.provide(self, as: StatelessReplyAPI.self)
        e.provide(self, as: ReplyToTagAPI.self)
        let stats = self.stats
        e.rpcs = [
            RPCCommand("sl.stats", "Prints the number of stateless replies sent, by code.") { _ in stats.rpcValue }
        ]
        e.requestFilters = [{ ctx in !self.isAckToLocalReply(ctx) }]
        e.initialize = { (context: ModuleInitContext) in
            self.tags = StatelessTag(firstListener: context.listeners.first)
            // bind_tm: tm is optional; send_reply() uses it when it is loaded.
            self.tm = context.core.apis.lookup(TransactionAPI.self)
        }
        stats.register(in: Counters.shared)
        return e
    }

    /// Fixup of `sl_send_reply(code, reason)`: the code is an int or a PV, the reason a
    /// format; a constant code must be a valid status code.
    func fixupReply(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let code = try args[0].intParameter()
        if case .constant(let c) = code, !(100...699).contains(c) {
            throw FixupError("invalid reply code \(c) (must be 100-699)", at: args[0].location)
        }
        let reason = try args[1].stringFormat()
        return { ctx in
            let c = code.value(ctx) ?? self.defaultCode
            var r = reason.render(ctx)
            if r.isEmpty { r = self.defaultReason }
            return self.sendReply(ctx, code: c, reason: r)
        }
    }

    /// Sends a stateless reply. Returns 1 on success, -1 on failure (ACK, bad code, no send).
    /// Also the `sl` API other modules use (`StatelessReplyAPI`, Kamailio's `bind_sl`).
    func sendReply(_ ctx: MessageContext, code: Int, reason: String) -> Int {
        let msg = ctx.message
        guard msg.isRequest, msg.method != .ack else {
            Log.debug("sl", "no stateless reply to \(msg.isRequest ? "an ACK" : "a reply")")
            return -1
        }
        guard (100...699).contains(code) else {
            Log.error("sl", "invalid reply code \(code)")
            return -1
        }
        // The To-tag as its fixed prefix and this request's suffix, written as a number (no
        // string of 41 bytes, nor one of 8). The top Via is copied out of the context once, and
        // the builder is a constant made in place (building from a variable copied it).
        do {
            let toTag = code >= 180 ? tags.prefix : nil
            let bytes: [UInt8]
            if let via = ctx.via1 {
                // The builder made in place in one initialiser (`replyBuilder` is not called:
                // the value it returned was copied whole for every reply).
                let lumps = ctx.replyLumps
                bytes = try StatelessReply(
                    sourceIP: ctx.receive.sourceIP, sourcePort: ctx.receive.sourcePort,
                    serverHeader: Core.serverHeader, forceRport: ctx.forceRport, extraHeaderBytes: lumps.headers,
                    body: lumps.body ?? [], toTagSuffixCode: code >= 180 ? tags.suffixCode(for: msg, via: via) : nil
                ).build(for: msg, code: code, reason: reason, toTag: toTag, via: via)
            } else {
                var builder = replyBuilder(ctx, suffixCode: nil)
                if code >= 180 { builder.toTagSuffix = tags.suffix(for: msg) }
                bytes = try builder.build(for: msg, code: code, reason: reason, toTag: toTag)
            }
            guard ctx.sendReply(bytes) else {
                stats.countFailure()
                return -1
            }
            stats.count(code)
            return 1
        } catch {
            Log.error("sl", "cannot build a reply: \(error)")
            return -1
        }
    }

    /// The reply builder for `ctx`'s request: its source, `force_rport()`, the reply lumps and
    /// the To-tag's per-request number.
    private func replyBuilder(_ ctx: MessageContext, suffixCode: UInt32?) -> StatelessReply {
        var builder = StatelessReply(
            sourceIP: ctx.receive.sourceIP, sourcePort: ctx.receive.sourcePort, serverHeader: Core.serverHeader)
        builder.forceRport = ctx.forceRport
        applyReplyLumps(ctx.replyLumps, to: &builder)
        builder.toTagSuffixCode = suffixCode
        return builder
    }

    /// Adds the script's reply lumps (`append_to_reply()`, `set_reply_body()`, ...): their header
    /// bytes go after the copied headers, before `Server:`, as given (with a CRLF added when
    /// the text does not end with one).
    func applyReplyLumps(_ lumps: ReplyLumps, to builder: inout StatelessReply) {
        builder.extraHeaderBytes = lumps.headers
        if let body = lumps.body { builder.body = body }
    }

    /// Kamailio's `sl_filter_ACK`: an ACK whose To-tag is one this server generated answers
    /// a stateless negative reply and ends here.
    func isAckToLocalReply(_ ctx: MessageContext) -> Bool {
        let m = ctx.message
        // The tag's length from its range first: most ACKs carry another UA's tag.
        guard m.method == .ack, let range = ctx.toTagRange, range.count == StatelessTag.length
        else {
            return false
        }
        guard tags.matches(m.buffer, range, for: m, topVia: ctx.via1) else { return false }
        Log.debug("sl", "local ACK found -> dropping it")
        stats.countFilteredACK()
        return true
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "sl") { SLModule().exports }
}

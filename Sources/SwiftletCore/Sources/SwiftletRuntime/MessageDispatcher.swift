import SwiftletSDK

/// Turns received bytes into a message and runs the script on it (Kamailio's
/// `receive_msg`). Shared by all workers; holds only immutable state after start-up.
final class MessageDispatcher: ReceivedMessageInjectionAPI, @unchecked Sendable {
    let script: CompiledScript
    let core: CoreContext
    /// Whether the script has `event_route[core:pre-routing]` (looked up once).
    private let hasPreRouting: Bool

    init(script: CompiledScript, core: CoreContext) {
        self.script = script
        self.core = core
        hasPreRouting = script.eventRoutes["core:pre-routing"] != nil
    }

    /// Offers this dispatcher to the modules as the core's `ReceivedMessageInjectionAPI`
    /// (sworker), once, before the workers run.
    func offerForInjection() {
        guard core.apis.lookup(ReceivedMessageInjectionAPI.self) == nil else { return }
        try? core.apis.register(ProvidedAPI(self, as: ReceivedMessageInjectionAPI.self), module: "core")
    }

    /// A message a module hands back (sworker's task): the whole receive path without
    /// `event_route[core:pre-routing]` (Kamailio's `RECV_F_INTERNAL`).
    func receiveInternal(_ bytes: [UInt8], receive: ReceiveInfo) { handle(bytes, receive: receive, isInternal: true) }

    /// Handles one received message (a datagram, or one framed stream message): the
    /// modules' in-hooks on the raw bytes, parsing and Kamailio's checks, then for a request
    /// the request-in hooks and `request_route`, for a reply the core `reply_route`, the
    /// modules' reply handlers and stateless forwarding.
    /// `isInternal`: handed back by a module, `event_route[core:pre-routing]` does not run.
    func handle(_ received: [UInt8], receive: ReceiveInfo, isInternal: Bool = false) {
        var bytes = received
        let hooks = core.hooks
        if !hooks.netDataReceived.isEmpty {
            let data = NetData(
                bytes: bytes, proto: receive.proto, peer: receive.source, socket: receive.socket, isReply: nil)
            for observe in hooks.netDataReceived { observe(data) }
        }
        if !hooks.netDataIn.isEmpty {
            var data = NetData(
                bytes: bytes, proto: receive.proto, peer: receive.source, socket: receive.socket, isReply: nil)
            guard hooks.runIn(&data) else { return }
            bytes = data.bytes
        }
        let message: SIPMessage
        do {
            message = try SIPMessage(parsing: bytes)
        } catch {
            if error.reason != .empty {
                Log.warning("core", "dropping a malformed message from \(receive.source): \(error)")
            }
            return
        }
        if message.isHTTP {
            // Kamailio's nonsip_msg_run_hooks: xhttp takes HTTP requests.
            core.apis.lookup(NonSIPMessageHandler.self)?.handleNonSIPMessage(message, receive: receive, core: core)
            return
        }
        // Kamailio's receive_msg sanity checks: without a parsable top Via there is nowhere to
        // send a reply, and Call-ID, CSeq, From and To must be there; else the message is dropped.
        // The top Via is parsed once here and kept (Kamailio's msg->via1).
        let via1: ViaHeader
        do {
            via1 = try message.topVia()
        } catch {
            countBad(message)
            Log.warning("core", "dropping a message without a valid Via from \(receive.source): \(error)")
            return
        }
        guard message.hasCallIDCSeqFromTo else {
            countBad(message)
            Log.warning(
                "core",
                "required headers not found in \(message.isRequest ? "request" : "reply") from \(receive.source)")
            return
        }
        let ctx = MessageContext(message: message, receive: receive, core: core, via1: via1)
        ctx.forceRport = core.settings.forceRport
        CoreCounters.received(message)
        Log.beginMessage(ctx)
        defer {
            Log.endMessage()
            // Kamailio's ksr_msg_env_reset: the xavu lists live until the message is handled.
            ScriptXAVU.reset()
        }
        // Kamailio's ksr_evrt_pre_routing: `drop` there ends the message's processing.
        if hasPreRouting, !isInternal {
            let kept = PreRouting.run { script.runEventRoute("core:pre-routing", ctx, as: .request) }
            if kept == false { return }
        }
        if message.isRequest {
            script.runRequestRoute(ctx)
        } else {
            // The core reply route, then the modules' reply handlers (tm), then the reply goes
            // on statelessly (Kamailio's receive_msg and forward_reply).
            guard script.runReplyRoute(ctx) else { return }
            for handler in hooks.replyHandlers where handler(ctx) == .consumed { return }
            _ = StatelessForwarding.forwardReply(ctx)
        }
    }

    private func countBad(_ message: SIPMessage) {
        if message.isRequest { CoreCounters.badRequest() } else { CoreCounters.badReply() }
    }
}

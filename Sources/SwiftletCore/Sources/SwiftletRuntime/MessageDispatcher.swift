import SwiftletSDK

/// Turns received bytes into a message and runs the script on it. Shared by all workers;
/// holds only immutable state after start-up.
final class MessageDispatcher: @unchecked Sendable {
    let script: CompiledScript
    /// The global `force_rport`.
    let forceRport: Bool

    init(script: CompiledScript, forceRport: Bool = false) {
        self.script = script
        self.forceRport = forceRport
    }

    /// Handles one received message (a datagram, or one framed stream message).
    func handle(_ bytes: [UInt8], receive: ReceiveInfo, sender: ReplySender?) {
        let message: SIPMessage
        do {
            message = try SIPMessage(parsing: bytes)
        } catch {
            if error.reason != .empty {
                Log.warning(
                    "core", "dropping a malformed message from \(receive.sourceIP):\(receive.sourcePort): \(error)")
            }
            return
        }
        // Kamailio's receive_msg sanity checks: without a parsable top Via there is nowhere to
        // send a reply, and Call-ID, CSeq, From and To must be there; else the message is dropped.
        do {
            _ = try message.topVia()
        } catch {
            countBad(message)
            Log.warning(
                "core",
                "dropping a message without a valid Via from \(receive.sourceIP):\(receive.sourcePort): \(error)")
            return
        }
        guard message.firstHeader(.callID) != nil, message.firstHeader(.cseq) != nil,
            message.firstHeader(.from) != nil, message.firstHeader(.to) != nil
        else {
            countBad(message)
            Log.warning(
                "core",
                "required headers not found in \(message.isRequest ? "request" : "reply") from \(receive.sourceIP):\(receive.sourcePort)"
            )
            return
        }
        let ctx = MessageContext(message: message, receive: receive, replySender: sender)
        ctx.forceRport = forceRport
        CoreCounters.received(message)
        Log.beginMessage(ctx)
        defer { Log.endMessage() }
        if message.isRequest {
            script.runRequestRoute(ctx)
        } else {
            // The core reply route, then the reply goes on statelessly (Kamailio's receive_msg).
            if script.runReplyRoute(ctx) { _ = StatelessForwarding.forwardReply(ctx) }
        }
    }

    private func countBad(_ message: SIPMessage) {
        if message.isRequest { CoreCounters.badRequest() } else { CoreCounters.badReply() }
    }
}

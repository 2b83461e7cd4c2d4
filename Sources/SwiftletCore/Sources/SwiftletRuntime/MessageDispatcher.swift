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
        // Without a parsable top Via there is nowhere to send a reply: drop (as Kamailio does).
        do {
            _ = try message.topVia()
        } catch {
            Log.warning(
                "core",
                "dropping a message without a valid Via from \(receive.sourceIP):\(receive.sourcePort): \(error)")
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
}

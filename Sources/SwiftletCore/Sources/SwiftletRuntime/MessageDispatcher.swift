import SwiftletSDK

/// Turns received bytes into a message and runs the script on it. Shared by all workers;
/// holds only immutable state after start-up.
final class MessageDispatcher: @unchecked Sendable {
    let script: CompiledScript

    init(script: CompiledScript) { self.script = script }

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
        CoreCounters.received(message)
        Log.beginMessage(ctx)
        defer { Log.endMessage() }
        if message.isRequest {
            script.runRequestRoute(ctx)
        } else {
            script.runReplyRoute(ctx)
            Log.debug(
                "core",
                "reply \(message.statusCode ?? 0) not forwarded: stateless reply forwarding is not available yet")
        }
    }
}

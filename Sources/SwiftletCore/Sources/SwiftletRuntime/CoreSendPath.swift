import SwiftletSDK

/// The core's one send path (`OutboundPath`): socket choice, `onsend_route`, the modules'
/// out-hooks and the write, in Kamailio's order (`forward_request` → `msg_send_buffer`).
/// Immutable after start-up; any thread may send.
final class CoreSendPath: OutboundPath, @unchecked Sendable {
    let transport: any TransportLayer
    let hooks: MessageHooks
    /// The compiled `onsend_route`, or nil when the configuration has none.
    let onSend: ((MessageContext, Destination, [UInt8]) -> Bool)?

    init(
        transport: any TransportLayer, hooks: MessageHooks,
        onSend: ((MessageContext, Destination, [UInt8]) -> Bool)?
    ) {
        self.transport = transport
        self.hooks = hooks
        self.onSend = onSend
    }

    func send(_ message: OutboundMessage, context: MessageContext?) -> SendOutcome {
        // A destination with its socket (every reply) is used as it is, without a copy (not
        // bound to a local either: that copies the destination, a retain and release).
        if message.destination.socket != nil { return sendFromItsSocket(message, context: context) }
        let dst = message.destination
        guard
            let socket = transport.sendSocket(
                for: dst.proto, to: dst.address, received: context?.receive.socket, forced: context?.forcedSendSocket)
        else {
            Log.error(
                "core",
                "cannot send to af \(dst.address.isIPv6 ? 10 : 2), proto \(dst.proto.name): no corresponding listening socket"
            )
            return .noSocket
        }
        var chosen = message
        chosen.destination.socket = socket
        return sendFromItsSocket(chosen, context: context)
    }

    /// `send(_:context:)` from the socket of `message.destination` (not nil).
    private func sendFromItsSocket(_ message: OutboundMessage, context: MessageContext?) -> SendOutcome {
        // onsend_route sees requests only, before any module rewrote the bytes (topoh encodes
        // after it), as in Kamailio.
        if message.kind == .request, let context, let onSend, !onSend(context, message.destination, message.bytes) {
            return .droppedByScript
        }
        // No module hooks the bytes (the usual case): written as they are, without copies.
        if hooks.netDataOut.isEmpty, hooks.netDataSent.isEmpty {
            return transport.send(message.bytes, to: message.destination, from: message.destination.socket!)
                ? .sent : .failed
        }
        let dst = message.destination
        let socket = dst.socket!
        var bytes = message.bytes
        if !hooks.netDataOut.isEmpty {
            var data = NetData(
                bytes: bytes, proto: dst.proto, peer: dst.address, socket: socket, isReply: message.kind == .reply)
            guard hooks.runOut(&data) else { return .droppedByHook }
            bytes = data.bytes
        }
        guard transport.send(bytes, to: dst, from: socket) else { return .failed }
        if !hooks.netDataSent.isEmpty {
            let data = NetData(
                bytes: bytes, proto: dst.proto, peer: dst.address, socket: socket, isReply: message.kind == .reply)
            for observe in hooks.netDataSent { observe(data) }
        }
        return .sent
    }
}

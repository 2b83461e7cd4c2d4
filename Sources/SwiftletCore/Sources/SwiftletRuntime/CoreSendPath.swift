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
        // A destination with its socket (every reply) is used as it is, without a copy.
        if message.destination.socket != nil { return send(message, to: message.destination, context: context) }
        var dst = message.destination
        dst.socket = transport.sendSocket(
            for: dst.proto, to: dst.address, received: context?.receive.socket, forced: context?.forcedSendSocket)
        return send(message, to: dst, context: context)
    }

    /// `send(_:context:)` to `dst`, whose socket has been chosen (nil: there is none).
    private func send(_ message: OutboundMessage, to dst: Destination, context: MessageContext?) -> SendOutcome {
        guard let socket = dst.socket else {
            Log.error(
                "core",
                "cannot send to af \(dst.address.isIPv6 ? 10 : 2), proto \(dst.proto.name): no corresponding listening socket"
            )
            return .noSocket
        }
        // onsend_route sees requests only, before any module rewrote the bytes (topoh encodes
        // after it), as in Kamailio.
        if message.kind == .request, let context, let onSend, !onSend(context, dst, message.bytes) {
            return .droppedByScript
        }
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

import SwiftletSDK

/// `send_udp()`, `send_tcp()`, `send_data()` and `sendx()` (Kamailio's `corex_send` and
/// `corex_send_data`): send bytes as they are, without a Via or any other change.
enum CorexSend {
    static func sendUDP(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try send(args, proto: .udp)
    }

    static func sendTCP(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        try send(args, proto: .tcp)
    }

    /// `send_udp([host[:port]])`: the received message as it arrived, to `host:port` (5060 when
    /// no port), or without a parameter to the host and port of `$du` or else the Request-URI.
    static func send(_ args: [ScriptArgument], proto: TransportProtocol) throws(FixupError) -> ScriptAction {
        let target = args.isEmpty ? nil : try args[0].stringFormat()
        let name = proto == .udp ? "send_udp" : "send_tcp"
        return { ctx in
            let text = target?.render(ctx) ?? ""
            let hostPort: (host: String, port: Int)
            if text.isEmpty {
                guard let uri = ctx.nextHopURI, let u = SIPURI(uri), u.scheme == "sip" || u.scheme == "sips" else {
                    Log.error("corex", "send() - bad_uri dropping packet")
                    return -1
                }
                hostPort = (u.host, u.port ?? 5060)
            } else {
                hostPort = splitHostPort(text)
            }
            let address: SocketAddress
            do {
                address = try NextHop.resolve(unbracketed(hostPort.host), port: hostPort.port)
            } catch {
                Log.error("corex", "failed to resolve [\(hostPort.host)]")
                return -1
            }
            guard let transport = ctx.core.transport else { return -1 }
            var socket: ListeningSocket? = nil
            if let forced = ctx.forcedSendSocket, forced.proto == proto, forced.isIPv6 == address.isIPv6 {
                socket = forced
            }
            socket = socket ?? transport.sendSocket(for: proto, to: address, received: ctx.receive.socket)
            guard let socket else {
                Log.error("corex", "\(name): no listening socket for \(proto.name):\(address)")
                return -1
            }
            let dst = Destination(proto: proto, address: address, socket: socket, flags: ctx.sendFlags)
            // As Kamailio's msg_send: the out-hooks run, onsend_route does not.
            let kind: OutboundMessage.Kind = ctx.message.isRequest ? .request : .reply
            return ctx.core.send(OutboundMessage(bytes: ctx.message.buffer, destination: dst, kind: kind)) == .sent
                ? 1 : -1
        }
    }

    /// `host`, `host:port`, `[v6]:port` as corex splits them: the text after the last colon
    /// (after the `]` for IPv6) is the port; an unreadable port is 5060.
    static func splitHostPort(_ text: String) -> (host: String, port: Int) {
        var searchFrom = text.startIndex
        if let close = text.firstIndex(of: "]") { searchFrom = close }
        guard let colon = text[searchFrom...].firstIndex(of: ":") else { return (text, 5060) }
        let port = Int(text[text.index(after: colon)...]) ?? 0
        return (String(text[..<colon]), port == 0 ? 5060 : port)
    }

    static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    /// `send_data(uri, data)`: `data` to the host and port of a SIP URI, over its
    /// `transport` (UDP when none).
    static func sendData(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let uri = try args[0].stringFormat()
        let data = try args[1].stringFormat()
        return { ctx in sendData(uri: uri.render(ctx), socket: nil, data: data.render(ctx), core: ctx.core) }
    }

    /// `sendx(uri, socket, data)`: as `send_data`, from the local socket
    /// `[proto:]addr[:port]` (a warning and the default socket when there is no such socket).
    static func sendx(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let uri = try args[0].stringFormat()
        let socket = try args[1].stringFormat()
        let data = try args[2].stringFormat()
        return { ctx in
            sendData(uri: uri.render(ctx), socket: socket.render(ctx), data: data.render(ctx), core: ctx.core)
        }
    }

    static func sendData(uri: String, socket socketText: String?, data: String, core: CoreContext) -> Int {
        let dst: Destination
        do {
            dst = try NextHop.destination(forURI: uri)
        } catch {
            Log.error("corex", "bad dst sip uri <\(uri)>")
            return -1
        }
        var forced: ListeningSocket? = nil
        if let socketText, !socketText.isEmpty {
            guard let spec = ProtoHostPort(socketText) else {
                Log.error("corex", "invalid socket specification")
                return -1
            }
            forced = LocalSockets.find(host: spec.host, port: spec.port, proto: spec.proto)
            if forced == nil { Log.warning("corex", "local socket not found: \(socketText)") }
        }
        guard dst.proto == .udp || dst.proto == .tcp else {
            Log.error("corex", "unknown proto [\(dst.proto.name)] for dst sip uri <\(uri)>")
            return -1
        }
        guard let transport = core.transport,
            let socket = forced ?? transport.sendSocket(for: dst.proto, to: dst.address, received: nil)
        else {
            Log.error("corex", "no socket for dst sip uri <\(uri)>")
            return -1
        }
        var d = dst
        d.socket = socket
        return core.send(OutboundMessage(bytes: Array(data.utf8), destination: d, kind: .request)) == .sent ? 1 : -1
    }
}

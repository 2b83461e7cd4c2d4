import SwiftletSDK

/// Socket functions: `set_send_socket()`, `set_send_socket_name()`, `is_socket_name()`,
/// and `is_faked_msg()`.
extension CorexModule {
    static var socketFunctions: [ScriptFunction] {
        [
            ScriptFunction("set_send_socket", parameters: 1, routes: .any, fixup: CorexSockets.setSendSocket),
            ScriptFunction(
                "set_send_socket_name", parameters: 1, routes: .any, fixup: CorexSockets.setSendSocketName),
            ScriptFunction("is_socket_name", parameters: 1, routes: .any, fixup: CorexSockets.isSocketName),
            ScriptFunction("is_faked_msg", parameters: 0, routes: .any, fixup: CorexSockets.isFakedMessage),
        ]
    }
}

enum CorexSockets {
    /// `set_send_socket("[proto:]addr[:port]")` (PVs allowed): forwarded messages leave from
    /// that local socket. A socket that does not exist is a warning and changes nothing (the
    /// function still returns 1, as Kamailio's).
    static func setSendSocket(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let text = try args[0].stringFormat()
        return { ctx in
            let s = text.render(ctx)
            guard !s.isEmpty else {
                Log.error("corex", "cannot get socket address value")
                return -1
            }
            guard let spec = ProtoHostPort(s) else {
                Log.error("corex", "invalid socket specification [\(s)] (0)")
                return -1
            }
            if let socket = LocalSockets.find(host: spec.host, port: spec.port, proto: spec.proto) {
                ctx.forcedSendSocket = socket
            } else {
                Log.warning("corex", "no socket found to match [\(s)] (0)")
            }
            return 1
        }
    }

    /// `set_send_socket_name(name)`: as `set_send_socket` for the socket with `name "..."`.
    static func setSendSocketName(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let text = try args[0].stringFormat()
        return { ctx in
            let s = text.render(ctx)
            guard !s.isEmpty else {
                Log.error("corex", "cannot get socket address value")
                return -1
            }
            if let socket = LocalSockets.find(name: s) {
                ctx.forcedSendSocket = socket
            } else {
                Log.warning("corex", "no socket found to match [\(s)] (0)")
            }
            return 1
        }
    }

    /// `is_socket_name(name)`: 1 when a listen socket has that name (any case), else -1.
    static func isSocketName(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let text = try args[0].stringFormat()
        return { ctx in
            let s = text.render(ctx)
            guard !s.isEmpty else {
                Log.error("corex", "cannot get socket name value")
                return -1
            }
            return LocalSockets.find(name: s) != nil ? 1 : -1
        }
    }

    /// Kamailio's faked message (`fmsg.c`), which the core gives to routes that run without
    /// a received message (`event_route[core:worker-one-init]`, ...).
    static let fakedMessage = Array(
        ("OPTIONS sip:you@kamailio.org SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n"
            + "From: <sip:you@kamailio.org>;tag=123\r\nTo: <sip:you@kamailio.org>\r\nCall-ID: 123\r\n"
            + "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").utf8)

    /// `is_faked_msg()`: 1 for the core's faked message (it did not arrive on a socket),
    /// else -1.
    static func isFakedMessage(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        { ctx in ctx.receive.socket == nil && ctx.message.buffer == fakedMessage ? 1 : -1 }
    }
}

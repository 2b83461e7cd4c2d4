import Crypto
import Foundation
import SwiftletSDK

/// `ws_handle_handshake()` (Kamailio's `ws_handshake.c`): checks the HTTP upgrade request,
/// answers `101 Switching Protocols` and switches the connection to WebSocket framing, or
/// answers 400/426/500/503 and closes the connection.
struct WebSocketHandshake {
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    static let version = 13
    static let sip = 1
    static let msrp = 2

    let module: WebSocketModule

    /// 1 when the connection was upgraded; 0 (the script stops) when it was refused.
    func handle(_ ctx: MessageContext) -> Int {
        guard module.enabled else {
            Log.info("websocket", "disabled: bouncing handshake")
            return refuse(ctx, 503, "Service Unavailable")
        }
        let r = ctx.receive
        guard let id = r.connectionID, r.proto == .tcp || r.proto == .tls, let socket = r.socket,
            let control = ctx.core.transport as? StreamConnectionControl
        else {
            Log.error("websocket", "unsupported transport: \(r.proto.name)")
            return 0
        }
        var connection = false
        var upgrade = false
        var key: String?
        var protocols = 0
        var versionSeen = false
        var origin: String?
        let m = ctx.message
        for h in m.headers {
            let name = String(decoding: m.buffer[h.nameRange], as: UTF8.self).lowercased()
            let value = String(decoding: m.buffer[h.valueRange], as: UTF8.self)
            let lower = value.lowercased()
            switch name {
            case "connection": if lower.contains("upgrade") { connection = true }
            case "upgrade": if lower.contains("websocket") { upgrade = true }
            case "sec-websocket-key":
                if key != nil { return refuse(ctx, 400, "Bad Request") }
                key = value
            case "sec-websocket-protocol":
                if lower.contains("sip") { protocols |= Self.sip }
                if lower.contains("msrp") { protocols |= Self.msrp }
            case "sec-websocket-version":
                if versionSeen { return refuse(ctx, 400, "Bad Request") }
                guard Int(value.trimmingCharacters()) == Self.version else {
                    Log.warning("websocket", "Unsupported protocol version \(value)")
                    return refuse(ctx, 426, "Upgrade Required", headers: "Sec-WebSocket-Version: \(Self.version)\r\n")
                }
                versionSeen = true
            case "origin":
                if origin != nil { return refuse(ctx, 400, "Bad Request") }
                origin = value
            default: break
            }
        }
        protocols &= module.subProtocols
        guard connection, upgrade, let key, versionSeen, protocols != 0 else {
            Log.warning("websocket", "required headers not present")
            module.stats.failedHandshakes.increment()
            var headers = ""
            if module.subProtocols & Self.sip != 0 { headers += "Sec-WebSocket-Protocol: sip\r\n" }
            if module.subProtocols & Self.msrp != 0 { headers += "Sec-WebSocket-Protocol: msrp\r\n" }
            headers += "Sec-WebSocket-Version: \(Self.version)\r\n"
            return refuse(ctx, 400, "Bad Request", headers: headers, counted: true)
        }
        let digest = Insecure.SHA1.hash(data: Data((key + Self.guid).utf8))
        let accept = Data(digest).base64EncodedString()
        var headers = ""
        switch module.corsMode {
        case 1: headers += "Access-Control-Allow-Origin: *\r\n"
        case 2: if let origin, !origin.isEmpty { headers += "Access-Control-Allow-Origin: \(origin)\r\n" }
        default: break
        }
        let sub = protocols & Self.sip != 0 ? "sip" : "msrp"
        headers += "Sec-WebSocket-Protocol: \(sub)\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
        headers += "Sec-WebSocket-Accept: \(accept)\r\n"
        let ws = WebSocketConnection(id: id, remote: r.source, local: socket, subProtocol: sub, module: module)
        module.add(ws)
        guard
            let handle = control.upgrade(
                connectionID: id, to: ws, preface: reply(ctx, 101, "Switching Protocols", headers))
        else {
            module.remove(ws)
            return 0
        }
        ws.attach(handle)
        module.stats.successfulHandshakes.increment()
        if sub == "sip" { module.stats.sipSuccessfulHandshakes.increment() }
        return 1
    }

    /// Answers `code` and closes the connection after it (Kamailio sets SND_F_CON_CLOSE).
    private func refuse(
        _ ctx: MessageContext, _ code: Int, _ reason: String, headers: String = "", counted: Bool = false
    )
        -> Int
    {
        if !counted { module.stats.failedHandshakes.increment() }
        if let id = ctx.receive.connectionID, let control = ctx.core.transport as? StreamConnectionControl {
            control.close(connectionID: id, after: reply(ctx, code, reason, headers))
        }
        return 0
    }

    /// The reply bytes: status line with the request's version, `headers`, the script's
    /// reply headers, `Server`, `Content-Length: 0`.
    private func reply(_ ctx: MessageContext, _ code: Int, _ reason: String, _ headers: String) -> [UInt8] {
        let m = ctx.message
        let version = m.isHTTP ? String(decoding: m.buffer[m.versionRange], as: UTF8.self) : "HTTP/1.1"
        var out = Array("\(version) \(code) \(reason)\r\n\(headers)".utf8)
        out += ctx.replyLumps.headers
        if let server = Core.serverHeader { out += Array("\(server)\r\n".utf8) }
        out += Array("Content-Length: 0\r\n\r\n".utf8)
        return out
    }
}

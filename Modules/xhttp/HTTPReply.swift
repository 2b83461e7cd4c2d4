import SwiftletSDK

/// Builds and sends the answer to an HTTP request (Kamailio's `xhttp_send_reply`, which
/// goes through sl's reply writer): status line with the request's HTTP version, the
/// script's reply headers (`append_to_reply()`), `Content-Type`, `Server`, `Content-Length`,
/// then the body.
enum HTTPReply {
    /// The reply bytes for the request of `ctx`.
    static func bytes(_ ctx: MessageContext, code: Int, reason: String, contentType: String, body: [UInt8])
        -> [UInt8]
    {
        let m = ctx.message
        var version = String(decoding: m.buffer[m.versionRange], as: UTF8.self)
        if version.isEmpty { version = "HTTP/1.1" }
        var out: [UInt8] = []
        out.reserveCapacity(256 + body.count)
        out += Array("\(version) \(code) \(reason)\r\n".utf8)
        if !contentType.isEmpty { out += Array("Content-Type: \(contentType)\r\n".utf8) }
        out += ctx.replyLumps.headers
        if let server = Core.serverHeader { out += Array("\(server)\r\n".utf8) }
        let payload = body.isEmpty ? (ctx.replyLumps.body ?? []) : body
        out += Array("Content-Length: \(payload.count)\r\n\r\n".utf8)
        out += payload
        return out
    }

    /// Sends `bytes` on the request's connection; with `set_reply_close()` the connection is
    /// closed once they are written. False when the connection is gone.
    static func send(_ bytes: [UInt8], for ctx: MessageContext) -> Bool {
        let r = ctx.receive
        guard let socket = r.socket, let transport = ctx.core.transport else {
            Log.error("xhttp", "cannot send the reply: no transport")
            return false
        }
        if ctx.sendFlags.contains(.replyClose), let id = r.connectionID,
            let control = transport as? StreamConnectionControl
        {
            return control.close(connectionID: id, after: bytes)
        }
        let destination = Destination(
            proto: r.proto, address: r.source, socket: socket, connectionID: r.connectionID, flags: [.forwardNoConnect])
        return transport.send(bytes, to: destination, from: socket)
    }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `xhttp` module: HTTP/1.x requests received on the SIP TCP listeners run
/// `event_route[xhttp:request]`, where `xhttp_reply()` answers them (Kamailio's
/// `modules/xhttp`).
final class XHTTPModule: NonSIPMessageHandler, HTTPReplyAPI, @unchecked Sendable {
    /// `url_match`: only URLs matching this POSIX regex are handled.
    var urlMatch: POSIXRegex?
    /// `url_skip`: URLs matching this POSIX regex are not handled.
    var urlSkip: POSIXRegex?
    static let route = "xhttp:request"

    var exports: ModuleExports {
        let e = ModuleExports(name: "xhttp")
        e.parameters = [
            ModuleParameter(
                "url_match",
                .string { (v: String) throws(FixupError) in self.urlMatch = try Self.regex(v, "match") }),
            ModuleParameter(
                "url_skip", .string { (v: String) throws(FixupError) in self.urlSkip = try Self.regex(v, "skip") }),
            ModuleParameter(
                "event_callback",
                .string { (v: String) throws(FixupError) in
                    if !v.isEmpty { throw FixupError("event_callback needs a KEMI engine, which Swiftlet has not") }
                }),
        ]
        e.functions = [
            ScriptFunction("xhttp_reply", parameters: 4, routes: .request) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let code = try args[0].intParameter()
                let reason = try args[1].stringFormat()
                let ctype = try args[2].stringFormat()
                let body = try args[3].stringFormat()
                return { ctx in
                    guard let c = code.value(ctx), (100...700).contains(c) else {
                        Log.error("xhttp", "invalid code parameter")
                        return -1
                    }
                    let r = reason.render(ctx)
                    guard !r.isEmpty else {
                        Log.error("xhttp", "invalid reason parameter")
                        return -1
                    }
                    let sent = self.reply(
                        ctx, code: c, reason: r, contentType: ctype.render(ctx), body: Array(body.render(ctx).utf8))
                    return sent ? 1 : -1
                }
            }
        ]
        e.pseudoVariables = [
            PseudoVariableClass.readOnly("hu") { ctx in ctx.message.httpURL.map { .string($0) } ?? .null }
        ]
        URLTransformations.register()
        e.provide(self, as: NonSIPMessageHandler.self)
        e.provide(self, as: HTTPReplyAPI.self)
        e.initialize = { context in
            if let routes = context.core.routes, !routes.eventRouteNames.contains(Self.route) {
                throw FixupError("failed to find event_route[xhttp:request]")
            }
        }
        return e
    }

    static func regex(_ pattern: String, _ what: String) throws(FixupError) -> POSIXRegex {
        do {
            return try POSIXRegex(pattern, flags: REG_EXTENDED)
        } catch {
            throw FixupError("bad \(what) re \(pattern)")
        }
    }

    /// Kamailio's `xhttp_handler`: the URL filters, then the request, with a Via naming its
    /// source added after the first line (as Kamailio's `xhttp_to_sip`), runs
    /// `event_route[xhttp:request]`. Nothing is sent when the route does not reply.
    func handleNonSIPMessage(_ message: SIPMessage, receive: ReceiveInfo, core: CoreContext) {
        let url = message.httpURL ?? ""
        if let urlSkip, urlSkip.matches(url) { return }
        if let urlMatch, !urlMatch.matches(url) { return }
        guard let routes = core.routes else { return }
        let ctx: MessageContext
        do {
            let withVia = Self.addingVia(message, receive: receive)
            let parsed = try SIPMessage(parsing: withVia)
            ctx = MessageContext(
                message: parsed, receive: receive, routeType: .event, core: core, via1: try parsed.topVia())
        } catch {
            Log.error("xhttp", "cannot handle the HTTP request from \(receive.source): \(error)")
            return
        }
        Log.beginMessage(ctx)
        defer { Log.endMessage() }
        _ = routes.runEventRoute(Self.route, ctx, as: .event)
    }

    /// The request with `Via: SIP/2.0/TCP <source ip>:<port>` after its first line.
    static func addingVia(_ m: SIPMessage, receive: ReceiveInfo) -> [UInt8] {
        let b = m.buffer
        var lineEnd = m.versionRange.upperBound
        while lineEnd < b.count, b[lineEnd] != 10 { lineEnd += 1 }
        let split = min(lineEnd + 1, b.count)
        let host = receive.source.isIPv6 ? "[\(receive.source.ipString)]" : receive.source.ipString
        let via = "Via: SIP/2.0/\(receive.proto == .tls ? "TLS" : "TCP") \(host):\(receive.source.port)\r\n"
        return Array(b[..<split]) + Array(via.utf8) + Array(b[split...])
    }

    func reply(_ ctx: MessageContext, code: Int, reason: String, contentType: String, body: [UInt8]) -> Bool {
        HTTPReply.send(HTTPReply.bytes(ctx, code: code, reason: reason, contentType: contentType, body: body), for: ctx)
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "xhttp") { XHTTPModule().exports }
}

import SwiftletSDK

/// `is_first_hop([mode])` (Kamailio's `is_first_hop_mode` in sipops.c): a request is at its
/// first hop when it has one Via; a reply when it has no Record-Route, or its top
/// Record-Route URI is this server (mode 0: only an IP-address URI, and not when the reply
/// comes from that very address — a local loop).
extension SiputilsModule {
    func fixupIsFirstHop(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let mode = try args.first?.intParameter()
        return { ctx in
            let m = mode.flatMap { $0.value(ctx) } ?? 0
            return SiputilsModule.isFirstHop(ctx, mode: m) ? 1 : -1
        }
    }

    static func isFirstHop(_ ctx: MessageContext, mode: Int) -> Bool {
        let msg = ctx.message
        if msg.isRequest {
            guard let vias = try? msg.vias() else { return true }
            return vias.count < 2
        }
        guard let field = msg.firstHeader(.recordRoute) else { return true }
        let b = msg.buffer
        guard let first = HeaderScanner.splitValues(b, field.valueRange).first,
            let nameAddr = try? NameAddr.parse(b, first),
            let uri = SIPURI(String(decoding: b[nameAddr.uri], as: UTF8.self))
        else { return false }
        let isIP = IPAddressText.bytes(uri.host) != nil
        if mode == 0, !isIP { return false }
        guard ctx.core.isMyself(uri.host, uri.port) else { return false }
        if mode == 0 {
            let transport = uri.parameter("transport")?.lowercased()
            let sameAddress = IPAddressText.sameAddress(host: uri.host, ip: ctx.receive.sourceIP)
            let samePort = ctx.receive.sourcePort == (uri.port ?? 5060)
            let sameProto = transport.map { $0 == ctx.receive.proto.name } ?? (ctx.receive.proto == .udp)
            if sameAddress && samePort && sameProto { return false }
        }
        return true
    }
}

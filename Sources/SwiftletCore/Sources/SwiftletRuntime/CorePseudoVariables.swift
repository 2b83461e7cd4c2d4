import SwiftletSDK

/// The message pseudo-variables the core provides (in Kamailio they come from the pv
/// module; Swiftlet has them in the core so that every configuration can use them).
enum CorePseudoVariables {
    static func register(in registry: PseudoVariableRegistry) throws(FixupError) {
        markStartTime()
        let m: [PseudoVariableClass] = [
            Selects.pseudoVariableClass(),
            .readOnly("rm", method),
            .readOnly("si", sourceIP),
            .readOnly("sp", sourcePort),
            .readOnly("Ri", localIP),
            .readOnly("Rp", localPort),
            .readOnly("pr", protocolName),
            .readOnly("proto", protocolName),
            .readOnly("ci", callID),
            .readOnly("cs", cseqNumber),
            .readOnly("fu") { headerURIText($0, .from) },
            .readOnly("fU") { headerURIUser($0, .from) },
            .readOnly("fd") { headerURIHost($0, .from) },
            .readOnly("ft", fromTag),
            .readOnly("tu") { headerURIText($0, .to) },
            .readOnly("tU") { headerURIUser($0, .to) },
            .readOnly("td") { headerURIHost($0, .to) },
            .readOnly("tt", toTag),
            .readOnly("ua", userAgent),
            .readOnly("rs", statusCode),
            .readOnly("rr", reasonPhrase),
            .readOnly("ml", messageLength),
            .readOnly("mb", messageBuffer),
            .readOnly("rb", messageBody),
            .readOnly("null") { _ in .null },
            .readOnly("rc", returnCode),
            .readOnly("retcode", returnCode),
        ]
        let all = m + requestURIClasses + messageClasses + scriptVariableClasses + identityClasses + flagClasses
        for c in all + branchClasses + socketClasses + miscClasses + headerClasses + countClasses + messagePartClasses
            + nextHopClasses
        { try registry.register(c) }
    }

    private static func string(_ s: String?) -> PVValue { s.map(PVValue.string) ?? .null }

    static func method(_ ctx: MessageContext) -> PVValue { .string(ctx.message.methodText) }
    static func sourceIP(_ ctx: MessageContext) -> PVValue { .string(ctx.receive.sourceIP) }
    static func sourcePort(_ ctx: MessageContext) -> PVValue { .int(ctx.receive.sourcePort) }
    static func localIP(_ ctx: MessageContext) -> PVValue { .string(ctx.receive.localIP) }
    static func localPort(_ ctx: MessageContext) -> PVValue { .int(ctx.receive.localPort) }
    static func protocolName(_ ctx: MessageContext) -> PVValue { .string(ctx.receive.proto.name) }
    static func callID(_ ctx: MessageContext) -> PVValue { string(ctx.message.callID) }
    static func cseqNumber(_ ctx: MessageContext) -> PVValue {
        guard let cseq = try? ctx.message.cseq() else { return .null }
        return .int(Int(cseq.number))
    }
    static func headerURIString(_ ctx: MessageContext, _ name: HeaderName) -> String? {
        guard let field = ctx.message.firstHeader(name) else { return nil }
        return HeaderURI.uriText(ctx.message.value(of: field))
    }
    static func headerURIText(_ ctx: MessageContext, _ name: HeaderName) -> PVValue {
        string(headerURIString(ctx, name))
    }
    static func headerURIUser(_ ctx: MessageContext, _ name: HeaderName) -> PVValue {
        guard let user = headerURIString(ctx, name).flatMap(URIParts.init)?.user, !user.isEmpty else { return .null }
        return .string(user)
    }
    /// The host of the header's URI (`$fd`, `$td`), parsed in the message buffer: the same
    /// text as `URIParts(headerURIString(ctx, name))?.host`, without the copies.
    static func headerURIHost(_ ctx: MessageContext, _ name: HeaderName) -> PVValue {
        if name == .to {
            // Looked up once per message (`$td` is often read several times).
            guard let host = ctx.toURIHostRange else { return .null }
            return .string(
                ctx.message.buffer.withUnsafeBufferPointer { b in
                    String(decoding: UnsafeBufferPointer(rebasing: b[host]), as: UTF8.self)
                })
        }
        let m = ctx.message
        guard let field = m.firstHeader(name) else { return .null }
        let uri = (try? NameAddr.parse(m.buffer, field.valueRange))?.uri ?? field.valueRange
        guard let c = try? URIComponents.parse(m.buffer, uri), !c.host.isEmpty else { return .null }
        return .string(String(decoding: m.buffer[c.host], as: UTF8.self))
    }
    static func fromTag(_ ctx: MessageContext) -> PVValue { string(ctx.message.fromTag) }
    static func toTag(_ ctx: MessageContext) -> PVValue { string(ctx.message.toTag) }
    static func userAgent(_ ctx: MessageContext) -> PVValue {
        guard let field = ctx.message.firstHeader(.userAgent) else { return .null }
        return .string(ctx.message.value(of: field))
    }
    static func statusCode(_ ctx: MessageContext) -> PVValue {
        guard let code = ctx.message.statusCode else { return .null }
        return .int(code)
    }
    static func reasonPhrase(_ ctx: MessageContext) -> PVValue {
        guard case .response(_, let r) = ctx.message.firstLine else { return .null }
        return .string(String(decoding: ctx.message.buffer[r], as: UTF8.self))
    }
    static func messageLength(_ ctx: MessageContext) -> PVValue { .int(ctx.message.buffer.count) }
    static func messageBuffer(_ ctx: MessageContext) -> PVValue {
        .string(String(decoding: ctx.message.buffer, as: UTF8.self))
    }
    static func messageBody(_ ctx: MessageContext) -> PVValue {
        .string(String(decoding: ctx.message.buffer[ctx.message.bodyRange], as: UTF8.self))
    }
    static func returnCode(_ ctx: MessageContext) -> PVValue { .int(ctx.lastReturnCode) }
}

import SwiftletSDK

/// The message pseudo-variables the core provides (in Kamailio they come from the pv
/// module; Swiftlet has them in the core so that every configuration can use them).
enum CorePseudoVariables {
    static func register(in registry: PseudoVariableRegistry) throws(FixupError) {
        let m: [PseudoVariableClass] = [
            .readOnly("rm") { ctx in .string(ctx.message.methodText) },
            .readOnly("ru") { ctx in ctx.message.requestURI.map(PVValue.string) ?? .null },
            .readOnly("rU") { ctx in requestURI(ctx)?.user.map(PVValue.string) ?? .null },
            .readOnly("rd") { ctx in requestURI(ctx).map { .string($0.host) } ?? .null },
            .readOnly("rp") { ctx in requestURI(ctx).map { .int($0.port ?? 5060) } ?? .null },
            .readOnly("si") { ctx in .string(ctx.receive.sourceIP) },
            .readOnly("sp") { ctx in .int(ctx.receive.sourcePort) },
            .readOnly("Ri") { ctx in .string(ctx.receive.localIP) },
            .readOnly("Rp") { ctx in .int(ctx.receive.localPort) },
            .readOnly("pr") { ctx in .string(ctx.receive.proto.name) },
            .readOnly("proto") { ctx in .string(ctx.receive.proto.name) },
            .readOnly("ci") { ctx in ctx.message.callID.map(PVValue.string) ?? .null },
            .readOnly("cs") { ctx in (try? ctx.message.cseq()).map { .int(Int($0.number)) } ?? .null },
            .readOnly("fu") { ctx in headerURI(ctx, .from).map(PVValue.string) ?? .null },
            .readOnly("fU") { ctx in headerURI(ctx, .from).flatMap(SIPURI.init)?.user.map(PVValue.string) ?? .null },
            .readOnly("fd") { ctx in headerURI(ctx, .from).flatMap(SIPURI.init).map { .string($0.host) } ?? .null },
            .readOnly("ft") { ctx in ctx.message.fromTag.map(PVValue.string) ?? .null },
            .readOnly("tu") { ctx in headerURI(ctx, .to).map(PVValue.string) ?? .null },
            .readOnly("tU") { ctx in headerURI(ctx, .to).flatMap(SIPURI.init)?.user.map(PVValue.string) ?? .null },
            .readOnly("td") { ctx in headerURI(ctx, .to).flatMap(SIPURI.init).map { .string($0.host) } ?? .null },
            .readOnly("tt") { ctx in ctx.message.toTag.map(PVValue.string) ?? .null },
            .readOnly("ua") { ctx in
                ctx.message.firstHeader(.userAgent).map { .string(ctx.message.value(of: $0)) } ?? .null
            },
            .readOnly("rs") { ctx in ctx.message.statusCode.map(PVValue.int) ?? .null },
            .readOnly("rr") { ctx in
                if case .response(_, let r) = ctx.message.firstLine {
                    return .string(String(decoding: ctx.message.buffer[r], as: UTF8.self))
                }
                return .null
            },
            .readOnly("ml") { ctx in .int(ctx.message.buffer.count) },
            .readOnly("mb") { ctx in .string(String(decoding: ctx.message.buffer, as: UTF8.self)) },
            .readOnly("rb") { ctx in .string(String(decoding: ctx.message.buffer[ctx.message.bodyRange], as: UTF8.self))
            },
            .readOnly("null") { _ in .null },
            .readOnly("rc") { ctx in .int(ctx.lastReturnCode) },
            .readOnly("retcode") { ctx in .int(ctx.lastReturnCode) },
            PseudoVariableClass("hdr") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
                guard let name = pv.inner, !name.isEmpty else {
                    throw FixupError("$hdr needs a header name: $hdr(Name)")
                }
                return PseudoVariable(text: pv.text) { ctx in
                    ctx.message.firstHeader(named: name).map { .string(ctx.message.value(of: $0)) } ?? .null
                }
            },
        ]
        for c in m { try registry.register(c) }
    }

    private static func requestURI(_ ctx: MessageContext) -> SIPURI? { ctx.message.requestURI.flatMap(SIPURI.init) }

    private static func headerURI(_ ctx: MessageContext, _ name: HeaderName) -> String? {
        ctx.message.firstHeader(name).map { HeaderURI.uriText(ctx.message.value(of: $0)) }
    }
}

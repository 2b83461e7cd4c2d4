import SwiftletSDK

/// The long-name aliases (`$ruri`, `$ruri.user`, `$from.domain`, ...), the user-length
/// variants (`$fUl` `$tUl` `$rUl` `$oUl`), `$oP`, and the identity headers: P-Preferred-Identity
/// (`$pu` `$pU` `$pd` `$pn`, indexable), Remote-Party-ID (`$re`), Refer-To (`$rt`) and the
/// Diversion parameters (`$dir` `$dip` `$dic`). As Kamailio's pv_core.c.
extension CorePseudoVariables {
    static var identityClasses: [PseudoVariableClass] {
        [
            .writable("ruri", requestURIValue, set: setRequestURI),
            .writable("ruri.user", { uriUser($0.requestURI) }, set: setRequestURIUser),
            .writable("ruri.domain", { uriHost($0.requestURI) }, set: setRequestURIHost),
            .readOnly("rUl") { ctx in ctx.message.isRequest ? userLength(ctx.requestURI) : .null },
            .readOnly("ouri") { ctx in ctx.message.requestURI.map(PVValue.string) ?? .null },
            .readOnly("oP") { uriTransport($0.message.requestURI) },
            .readOnly("oUl") { ctx in ctx.message.isRequest ? userLength(ctx.message.requestURI) : .null },
            .writable("duri", { ctx in ctx.destinationURI.map(PVValue.string) ?? .null }, set: setDestinationURI),
            .readOnly("from") { headerURIText($0, .from) },
            .readOnly("from.user") { headerURIUser($0, .from) },
            .readOnly("from.domain") { headerURIHost($0, .from) },
            .readOnly("fUl") { headerUserLength($0, .from) },
            .readOnly("to") { headerURIText($0, .to) },
            .readOnly("to.user") { headerURIUser($0, .to) },
            .readOnly("to.domain") { headerURIHost($0, .to) },
            .readOnly("tUl") { headerUserLength($0, .to) },
            PseudoVariableClass("pu") { (pv: PseudoVariableName) throws(FixupError) in try identity(pv, .uri) },
            PseudoVariableClass("pU") { (pv: PseudoVariableName) throws(FixupError) in try identity(pv, .user) },
            PseudoVariableClass("pd") { (pv: PseudoVariableName) throws(FixupError) in try identity(pv, .domain) },
            PseudoVariableClass("pn") { (pv: PseudoVariableName) throws(FixupError) in try identity(pv, .display) },
            .readOnly("re") { ctx in ctx.message.firstHeader(named: "Remote-Party-ID").map { uriOf(ctx, $0) } ?? .null
            },
            .readOnly("rt") { ctx in ctx.message.firstHeader(.referTo).map { uriOf(ctx, $0) } ?? .null },
            .readOnly("dir") { diversionParameter($0, "reason") },
            .readOnly("dip") { diversionParameter($0, "privacy") },
            .readOnly("dic") { diversionParameter($0, "counter") },
        ]
    }

    /// The length of the URI's user part (0 without one); null when it does not parse.
    static func userLength(_ uri: String?) -> PVValue {
        guard let parts = uri.flatMap(URIParts.init) else { return .null }
        return .int(parts.components.user?.count ?? 0)
    }

    static func headerUserLength(_ ctx: MessageContext, _ name: HeaderName) -> PVValue {
        guard ctx.message.firstHeader(name) != nil else { return .null }
        return userLength(headerURIString(ctx, name))
    }

    enum IdentityPart { case uri, user, domain, display }

    /// `$pu` & co: the n-th identity (`[n]`, default 0) over all P-Preferred-Identity headers
    /// and their comma-separated values. `[*]` is refused at run time, as in Kamailio.
    static func identity(_ pv: PseudoVariableName, _ part: IdentityPart) throws(FixupError) -> PseudoVariable {
        guard pv.inner == nil else { throw FixupError("$\(pv.className) does not get name param") }
        let index = try PVIndex(pv.index, registry: pv.registry)
        return PseudoVariable(text: pv.text) { ctx in
            var n = 0
            if case .none = index {
            } else {
                guard case .position(let p)? = index.resolve(ctx), p >= 0 else { return .null }
                n = p
            }
            let b = ctx.message.buffer
            let values = ctx.message.headers(.pPreferredIdentity).flatMap {
                HeaderScanner.splitValues(b, $0.valueRange)
            }
            guard n < values.count, let na = try? NameAddr.parse(b, values[n]) else { return .null }
            let uri = String(decoding: b[na.uri], as: UTF8.self)
            switch part {
            case .uri: return .string(uri)
            case .display:
                guard let d = na.displayName, !d.isEmpty else { return .null }
                return .string(String(decoding: b[d], as: UTF8.self))
            case .user: return uriUser(uri)
            case .domain: return uriHost(uri)
            }
        }
    }

    /// A parameter of the first Diversion value (null when absent).
    static func diversionParameter(_ ctx: MessageContext, _ name: StaticString) -> PVValue {
        let b = ctx.message.buffer
        guard let field = ctx.message.firstHeader(.diversion),
            let first = HeaderScanner.splitValues(b, field.valueRange).first,
            let na = try? NameAddr.parse(b, first), let p = na.parameter(b, name), let v = p.value
        else { return .null }
        return .string(String(decoding: b[v], as: UTF8.self))
    }
}

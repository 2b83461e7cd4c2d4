import SwiftletSDK

/// The Request-URI and destination URI pseudo-variables: `$ru` `$rU` `$rd` `$rp` (writable,
/// reading the R-URI in effect: the one set by the script, else the received one), `$rz`
/// `$rP`, `$ou` `$oU` `$od` `$op` (the received R-URI), `$du` (writable, `$null` resets)
/// `$dd` `$dp` `$dP`.
extension CorePseudoVariables {
    static var requestURIClasses: [PseudoVariableClass] {
        [
            .writable("ru", requestURIValue, set: setRequestURI),
            .writable("rU", { uriUser($0.requestURI) }, set: setRequestURIUser),
            .writable("rd", { uriHost($0.requestURI) }, set: setRequestURIHost),
            .writable("rp", { uriPort($0.requestURI) }, set: setRequestURIPort),
            .readOnly("rz") { ctx in
                ctx.requestURI.flatMap(URIParts.init).map { .string($0.scheme.lowercased()) } ?? .null
            },
            .readOnly("rP") { uriTransport($0.requestURI) },
            .readOnly("ou") { ctx in ctx.message.requestURI.map(PVValue.string) ?? .null },
            .readOnly("oU") { uriUser($0.message.requestURI) },
            .readOnly("od") { uriHost($0.message.requestURI) },
            .readOnly("op") { uriPort($0.message.requestURI) },
            .writable("du", { ctx in ctx.destinationURI.map(PVValue.string) ?? .null }, set: setDestinationURI),
            .readOnly("dd") { uriHost($0.destinationURI) },
            .readOnly("dp") { uriPort($0.destinationURI) },
            .readOnly("dP") { ctx in ctx.destinationURI == nil ? .null : uriTransport(ctx.destinationURI) },
        ]
    }

    static func requestURIValue(_ ctx: MessageContext) -> PVValue {
        guard ctx.message.isRequest, let uri = ctx.requestURI else { return .null }
        return .string(uri)
    }

    static func uriUser(_ uri: String?) -> PVValue {
        guard let user = uri.flatMap(URIParts.init)?.user, !user.isEmpty else { return .null }
        return .string(user)
    }

    static func uriHost(_ uri: String?) -> PVValue {
        guard let host = uri.flatMap(URIParts.init)?.host, !host.isEmpty else { return .null }
        return .string(host)
    }

    /// The port, else 5061 with `transport=tls`, else 5060.
    static func uriPort(_ uri: String?) -> PVValue {
        guard let parts = uri.flatMap(URIParts.init) else { return .null }
        return .int(parts.effectivePort)
    }

    static func uriTransport(_ uri: String?) -> PVValue {
        guard let parts = uri.flatMap(URIParts.init) else { return .null }
        return .string(parts.parameter("transport") ?? "UDP")
    }

    /// `$ru = "sip:..."`: a string is required (Kamailio does not check it further).
    static func setRequestURI(_ ctx: MessageContext, _ value: PVValue) -> Bool {
        guard case .string(let s) = value else {
            Log.error("core", value == .null ? "cannot set the R-URI to $null" : "str value required to set R-URI")
            return false
        }
        ctx.newRequestURI = s
        return true
    }

    private static func rewrite(_ ctx: MessageContext, _ op: URIRewrite.Operation) -> Bool {
        guard let uri = ctx.requestURI else {
            Log.error("core", "no R-URI to rewrite")
            return false
        }
        do {
            ctx.newRequestURI = try URIRewrite.apply(op, to: uri)
            return true
        } catch {
            Log.error("core", "cannot rewrite R-URI <\(uri)>: \(error)")
            return false
        }
    }

    /// `$rU = "bob"`; `$null` or "" removes the user part.
    static func setRequestURIUser(_ ctx: MessageContext, _ value: PVValue) -> Bool {
        switch value {
        case .null: return rewrite(ctx, .user(""))
        case .string(let s): return rewrite(ctx, .user(s))
        case .int:
            Log.error("core", "str value required to set R-URI user")
            return false
        }
    }

    /// `$rd = "example.com"`.
    static func setRequestURIHost(_ ctx: MessageContext, _ value: PVValue) -> Bool {
        guard case .string(let s) = value else {
            Log.error(
                "core",
                value == .null ? "cannot set the R-URI host to $null" : "str value required to set R-URI hostname")
            return false
        }
        return rewrite(ctx, .host(s))
    }

    /// `$rp = 5080`; `$null` removes the port.
    static func setRequestURIPort(_ ctx: MessageContext, _ value: PVValue) -> Bool {
        switch value {
        case .null: return rewrite(ctx, .port(""))
        case .int(let i): return rewrite(ctx, .port(String(i)))
        case .string(let s): return rewrite(ctx, .port(s))
        }
    }

    /// `$du = "sip:proxy"`; `$du = $null` resets it.
    static func setDestinationURI(_ ctx: MessageContext, _ value: PVValue) -> Bool {
        switch value {
        case .null:
            ctx.destinationURI = nil
            return true
        case .string(let s):
            ctx.destinationURI = s
            return true
        case .int:
            Log.error("core", "str value required to set dst uri")
            return false
        }
    }
}

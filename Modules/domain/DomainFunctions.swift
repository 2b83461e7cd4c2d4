import SwiftletSDK
import SwiftletSIP

/// The script functions of Kamailio's `domain_mod.c` `cmds[]` (`domain.c`).
extension DomainModule {
    static let routes: RouteTypes = [.request, .failure, .branch, .local]

    var functions: [ScriptFunction] {
        [
            ScriptFunction("is_from_local", parameters: 0, routes: Self.routes) { _ throws(FixupError) in
                { ctx in self.isFromLocal(ctx) }
            },
            ScriptFunction("is_uri_host_local", parameters: 0, routes: Self.routes) { _ throws(FixupError) in
                { ctx in self.isURIHostLocal(ctx) }
            },
            ScriptFunction("is_domain_local", parameters: 1, routes: Self.routes) { args throws(FixupError) in
                let domain = try args[0].stringFormat()
                return { ctx in self.isLocal(domain.render(ctx)) ? 1 : -1 }
            },
            ScriptFunction("lookup_domain", parameters: 1...2, routes: Self.routes) { args throws(FixupError) in
                let domain = try args[0].stringFormat()
                let prefix = args.count > 1 ? try args[1].stringFormat() : nil
                return { ctx in self.lookupDomain(ctx, domain.render(ctx), prefix: prefix?.render(ctx)) }
            },
        ]
    }

    /// `is_from_local`: 1 when the From URI's host is local, -1 when not, -2 when the From
    /// header does not parse.
    func isFromLocal(_ ctx: MessageContext) -> Int {
        guard let na = try? ctx.message.from(), let u = try? URIComponents.parse(ctx.message.buffer, na.uri) else {
            Log.error("domain", "Error while parsing From header")
            return -2
        }
        return isLocal(String(decoding: ctx.message.buffer[u.host], as: UTF8.self)) ? 1 : -1
    }

    /// `is_uri_host_local`: the Request-URI's host in request, branch and local routes, the
    /// first branch's URI host in failure routes.
    func isURIHostLocal(_ ctx: MessageContext) -> Int {
        let uri: String?
        if ctx.routeType.isSubset(of: [.request, .branch, .local]) {
            uri = ctx.requestURI
        } else if ctx.routeType == .failure {
            uri = ctx.branches.first?.uri
            if uri == nil {
                Log.error("domain", "branch is missing, error in script")
                return -1
            }
        } else {
            Log.error("domain", "unsupported route type")
            return -1
        }
        guard let uri else { return -1 }
        let b = Array(uri.utf8)
        guard let u = try? URIComponents.parse(b, 0..<b.count) else {
            Log.error("domain", "error while parsing R-URI")
            return -1
        }
        return isLocal(String(decoding: b[u.host], as: UTF8.self)) ? 1 : -1
    }

    /// `lookup_domain(domain[, prefix])`: for a local domain, each attribute of its did as an
    /// AVP named prefix + name, then `$avp(prefix + "did")`; 1, or -1 when not local.
    func lookupDomain(_ ctx: MessageContext, _ domain: String, prefix: String?) -> Int {
        guard let entry = find(domain) else { return -1 }
        let p = prefix ?? ""
        for a in entry.attributes {
            let v: PVValue
            switch a.value {
            case .int(let n): v = .int(n)
            case .string(let s): v = .string(s)
            }
            ctx.avps[p + a.name, default: []].insert(v, at: 0)
            if ctx.avpFlags[p + a.name] != nil { ctx.avpFlags[p + a.name]!.insert(0, at: 0) }
        }
        ctx.avps[p + "did", default: []].insert(.string(entry.did), at: 0)
        if ctx.avpFlags[p + "did"] != nil { ctx.avpFlags[p + "did"]!.insert(0, at: 0) }
        return 1
    }
}

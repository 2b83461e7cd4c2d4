/// Rewriting parts of a Request-URI the way Kamailio's `set*`/`rewrite*` core actions and
/// the `$rU`/`$rd`/`$rp` assignments do (`action.c`, `SET_USER_T` ...): the URI is rebuilt
/// as `scheme:user[:password]@host[:port][;params][?headers]` from its parsed parts with
/// one part replaced.
public enum URIRewrite {
    public enum Operation: Sendable, Equatable {
        /// `rewriteuser`, `$rU = ...` (empty removes the user and password).
        case user(String)
        /// `rewriteuserpass`: user (and `:password` as given), dropping the old password.
        case userPassword(String)
        /// `rewritehost`, `$rd = ...`.
        case host(String)
        /// `rewritehostport`: `host[:port]` replacing host and port.
        case hostPort(String)
        /// `rewritehostporttrans`: as `hostPort`, also dropping the `transport` parameter.
        case hostPortTransport(String)
        /// `rewritehostall`: everything after the user part replaced.
        case hostAll(String)
        /// `rewriteport`, `$rp = ...` (empty removes the port).
        case port(String)
        /// `prefix(s)`: prepends to the user part.
        case prefix(String)
        /// `strip(n)`: removes the first n characters of the user part.
        case strip(Int)
        /// `strip_tail(n)`: removes the last n characters of the user part.
        case stripTail(Int)
        /// `setuserphone()`: adds `;user=phone`.
        case userPhone
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case badURI
        case telPort
        public var description: String {
            switch self {
            case .badURI: "bad uri"
            case .telPort: "port number of a tel: URI cannot be set"
            }
        }
    }

    /// The rewritten URI.
    public static func apply(_ op: Operation, to uri: String) throws(Failure) -> String {
        let b = Array(uri.utf8)
        guard let c = try? URIComponents.parse(b, 0..<b.count), c.scheme != .other else { throw .badURI }
        func part(_ r: Range<Int>?) -> String? { r.map { String(decoding: b[$0], as: UTF8.self) } }
        let params = c.parametersRange.isEmpty ? nil : part(c.parametersRange)
        let isTel = c.scheme == .tel
        if op == .userPhone, isTel || params.map({ hasParameter($0, "user", "phone") }) == true { return uri }
        if case .port = op, isTel { throw .telPort }
        var hostOp: String? = nil
        switch op {
        case .host(let h), .hostPort(let h), .hostPortTransport(let h), .hostAll(let h): hostOp = h
        default: break
        }

        var out = isTel && hostOp == nil ? "tel:" : (c.scheme == .sips ? "sips:" : "sip:")
        var hasUser = false
        let oldUser = part(c.user) ?? ""
        var user: String
        switch op {
        case .prefix(let p):
            out += p
            hasUser = true
            user = oldUser
        case .user(let u), .userPassword(let u): user = u
        case .strip(let n):
            user = n >= oldUser.utf8.count ? "" : String(decoding: Array(oldUser.utf8)[max(0, n)...], as: UTF8.self)
        case .stripTail(let n):
            let u = Array(oldUser.utf8)
            user = n >= u.count ? "" : String(decoding: u[..<(u.count - max(0, n))], as: UTF8.self)
        default: user = oldUser
        }
        if !user.isEmpty {
            out += user
            hasUser = true
        }
        if hasUser, let password = part(c.password) {
            if case .userPassword = op {} else { out += ":" + password }
        }
        if isTel, let params { out += ";" + params }
        if let host = hostOp ?? (isTel ? nil : part(c.host)) {
            if hasUser { out += "@" }
            out += host
        }
        if case .hostAll = op { return out }
        switch op {
        case .hostPort, .hostPortTransport: break
        case .port(let p): if !p.isEmpty { out += ":" + p }
        default: if let p = part(c.portRange) { out += ":" + p }
        }
        if !isTel, let params {
            if case .hostPortTransport = op {
                let kept = params.split(separator: ";", omittingEmptySubsequences: false).filter {
                    !$0.lowercased().hasPrefix("transport=") && $0.lowercased() != "transport"
                }
                if !kept.isEmpty { out += ";" + kept.joined(separator: ";") }
            } else {
                out += ";" + params
            }
        }
        if (isTel && hostOp != nil) || op == .userPhone { out += ";user=phone" }
        if let headers = part(c.headers) { out += "?" + headers }
        return out
    }

    /// True when the `;`-separated list has `name=value` (name case-insensitive).
    static func hasParameter(_ params: String, _ name: String, _ value: String) -> Bool {
        params.split(separator: ";").contains { p in
            let kv = p.split(separator: "=", maxSplits: 1)
            return kv.count == 2 && kv[0].lowercased() == name && kv[1] == value
        }
    }
}

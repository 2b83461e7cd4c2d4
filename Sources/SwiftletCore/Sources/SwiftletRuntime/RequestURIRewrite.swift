import SwiftletSDK

/// The Request-URI edits of the core actions `rewritehost`, `rewriteuser`, `prefix`,
/// `strip`, ... (Kamailio's `SET_*_T` actions in `action.c`): the URI in effect is split
/// into its parts and printed again with one part replaced.
enum RequestURIRewrite {
    /// Which part an action replaces.
    enum Edit {
        case host(String)  // rewritehost: the port is kept
        case hostPort(String)  // rewritehostport: the value carries the port (or none)
        case user(String)  // rewriteuser: the password is kept when there is a user
        case userPassword(String)  // rewriteuserpass: the value carries the password
        case port(String)  // rewriteport: "" removes the port
        case prefix(String)  // prefix: put before the user
        case strip(Int)  // strip: remove the first n characters of the user
        case stripTail(Int)  // strip_tail: remove the last n characters of the user
    }

    /// The URI with the edit applied; nil (with an error logged) when `uri` cannot be
    /// parsed or the edit does not apply (a port on a tel: URI).
    static func apply(_ edit: Edit, to uri: String) -> String? {
        guard let u = SIPURI(uri) else {
            Log.error("core", "bad uri <\(uri)>, dropping packet")
            return nil
        }
        let isTel = u.scheme == "tel"
        var scheme = u.scheme
        var user = u.user ?? ""
        var keepPassword = true
        var host = isTel ? nil : u.host as String?
        var port = u.port.map(String.init)
        var setsHost = false
        switch edit {
        case .host(let h):
            host = h
            setsHost = true
        case .hostPort(let h):
            host = h
            port = nil
            setsHost = true
        case .user(let v):
            user = v
        case .userPassword(let v):
            user = v
            keepPassword = false
        case .port(let p):
            if isTel {
                Log.error("core", "port number of a tel: URI cannot be set")
                return nil
            }
            port = p.isEmpty ? nil : p
        case .prefix(let p):
            user = p + user
        case .strip(let n):
            if n > user.utf8.count {
                Log.warning("core", "too long strip asked; deleting username: \(n) of <\(user)>")
            }
            user = n >= user.utf8.count ? "" : String(decoding: user.utf8.dropFirst(n), as: UTF8.self)
        case .stripTail(let n):
            if n > user.utf8.count {
                Log.warning("core", "too long strip_tail asked; deleting username: \(n) of <\(user)>")
            }
            user = n >= user.utf8.count ? "" : String(decoding: user.utf8.dropLast(n), as: UTF8.self)
        }
        // A tel: URI whose host is set becomes a sip: URI with user=phone.
        if isTel && setsHost { scheme = "sip" }
        var out = scheme + ":" + user
        if !user.isEmpty, keepPassword, let password = u.password { out += ":" + password }
        if isTel {
            for p in u.parameters { out += ";" + p.name + (p.value.map { "=" + $0 } ?? "") }
        }
        if let host {
            if !user.isEmpty { out += "@" }
            out += host
            if let port { out += ":" + port }
        }
        if !isTel {
            for p in u.parameters { out += ";" + p.name + (p.value.map { "=" + $0 } ?? "") }
        }
        if isTel && setsHost { out += ";user=phone" }
        if let headers = u.headers { out += "?" + headers }
        return out
    }
}

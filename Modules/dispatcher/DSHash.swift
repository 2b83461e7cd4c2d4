import SwiftletSDK

/// The hashes of the hashing algorithms (Kamailio's `ds_get_hash` and `ds_hash_*`).
enum DSHash {
    /// Kamailio's `ds_get_hash` over one or two keys (bytes taken as signed chars, as its C
    /// does); 0 only when both keys are absent.
    static func hash(_ x: [UInt8]?, _ y: [UInt8]?) -> UInt32 {
        if x == nil && y == nil { return 0 }
        var h: UInt32 = 0
        @inline(__always) func c(_ b: UInt8) -> Int32 { Int32(Int8(bitPattern: b)) }
        for key in [x, y] {
            guard let s = key else { continue }
            var i = 0
            if s.count >= 4 {
                while i <= s.count - 4 {
                    let v = UInt32(
                        bitPattern: (c(s[i]) << 24) &+ (c(s[i + 1]) << 16) &+ (c(s[i + 2]) << 8) &+ c(s[i + 3]))
                    h = h &+ (v ^ (v >> 3))
                    i += 4
                }
            }
            var v: UInt32 = 0
            while i < s.count {
                v = (v << 8) &+ UInt32(bitPattern: c(s[i]))
                i += 1
            }
            h = h &+ (v ^ (v >> 3))
        }
        h = (h &+ (h >> 11)) &+ ((h >> 13) &+ (h >> 23))
        return h != 0 ? h : 1
    }

    static func trimmed(_ s: String) -> [UInt8] {
        var b = Substring(s)
        while let f = b.first, f == " " || f == "\t" || f == "\r" || f == "\n" { b = b.dropFirst() }
        while let l = b.last, l == " " || l == "\t" || l == "\r" || l == "\n" { b = b.dropLast() }
        return Array(b.utf8)
    }

    /// Kamailio's `get_uri_hash_keys`: the user, and `host[:port]` (the port only when it is
    /// not the scheme's default) unless only the user counts.
    static func uriHash(_ uri: String, userOnly: Bool) -> UInt32? {
        let b = Array(uri.utf8)
        guard let c = try? URIComponents.parse(b, 0..<b.count), c.scheme != .other else {
            Log.error("dispatcher", "invalid uri \(uri)")
            return nil
        }
        let user = c.user.map { Array(b[$0]) }
        if user == nil { Log.warning("dispatcher", "empty username in: \(uri)") }
        var host: [UInt8]? = nil
        if !userOnly {
            var end = c.host.upperBound
            let sips = b.count >= 4 && String(decoding: b[0..<4], as: UTF8.self).lowercased() == "sips"
            if let pr = c.portRange, let port = c.port, port != (sips ? 5061 : 5060) { end = pr.upperBound }
            host = Array(b[c.host.lowerBound..<end])
        }
        return hash(user, host)
    }

    static func text(_ b: [UInt8], _ r: Range<Int>) -> String { String(decoding: b[r], as: UTF8.self) }

    static func callID(_ ctx: MessageContext) -> UInt32? {
        guard let cid = ctx.message.callID else { return nil }
        return hash(trimmed(cid), nil)
    }

    static func from(_ ctx: MessageContext, userOnly: Bool) -> UInt32? {
        guard let f = try? ctx.message.from() else { return nil }
        return uriHash(String(decoding: trimmed(text(ctx.message.buffer, f.uri)), as: UTF8.self), userOnly: userOnly)
    }

    static func to(_ ctx: MessageContext, userOnly: Bool) -> UInt32? {
        guard let t = try? ctx.message.to() else { return nil }
        return uriHash(String(decoding: trimmed(text(ctx.message.buffer, t.uri)), as: UTF8.self), userOnly: userOnly)
    }

    static func requestURI(_ ctx: MessageContext, userOnly: Bool) -> UInt32? {
        guard let ru = ctx.requestURI else { return nil }
        return uriHash(ru, userOnly: userOnly)
    }

    /// Kamailio's `ds_hash_authusername`: the user part of the digest username of
    /// Proxy-Authorization, else Authorization; `.none` when there is none (round robin).
    enum AuthResult {
        case hash(UInt32)
        case none
    }

    static func authUser(_ ctx: MessageContext) -> AuthResult {
        let b = ctx.message.buffer
        for name in [HeaderName.proxyAuthorization, .authorization] {
            guard let d = try? ctx.message.digest(name), let username = d.string(b, "username") else { continue }
            let user = username.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            guard !user.isEmpty else {
                Log.error("dispatcher", "No Authorization-Username or Credentials!")
                return .none
            }
            return .hash(hash(trimmed(String(user)), nil))
        }
        return .none
    }

    static func pv(_ ctx: MessageContext, _ format: StringFormat?) -> UInt32? {
        guard let format else {
            Log.error("dispatcher", "bad parameters")
            return nil
        }
        let s = trimmed(format.render(ctx))
        guard !s.isEmpty else {
            Log.error("dispatcher", "String is empty!")
            return nil
        }
        return hash(s, nil)
    }
}

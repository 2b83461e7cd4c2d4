import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Credentials (`$au` `$ad` `$aU` `$ar` `$adu` `$aa` `$adn` `$adc` `$adr` `$ado`, read from the
/// first Proxy-Authorization, else Authorization header), message kind and ids (`$rmid`
/// `$mts` `$rsi` `$csb`), `$true`, `$pp`, and the time PVs `$Tb` `$TV(...)` `$utime`
/// `$utimef(fmt)` `$timef(fmt)` `$time(name)`, as Kamailio's pv_core.c and pv_time.c.
extension CorePseudoVariables {
    static var miscClasses: [PseudoVariableClass] {
        [
            .readOnly("au") { credential($0, .user) },
            .readOnly("ad") { credential($0, .domain) },
            .readOnly("aU") { credential($0, .whole) },
            .readOnly("ar") { credential($0, .parameter("realm")) },
            .readOnly("adu") { credential($0, .uri) },
            .readOnly("aa") { credential($0, .parameter("algorithm")) },
            .readOnly("adn") { credential($0, .parameter("nonce")) },
            .readOnly("adc") { credential($0, .parameter("cnonce")) },
            .readOnly("adr") { credential($0, .parameter("response")) },
            .readOnly("ado") { credential($0, .parameter("opaque")) },
            .readOnly("rmid", methodID),
            .readOnly("mts") { .string($0.message.isRequest ? "rq" : "rp") },
            .readOnly("rsi") { .int($0.message.statusCode ?? 0) },
            .readOnly("csb") { firstHeaderValue($0, .cseq) },
            .readOnly("true") { _ in .int(1) },
            .readOnly("pp") { _ in .int(Int(getpid())) },
        ] + timeClasses
    }

    enum CredentialPart {
        case user, domain, whole, uri
        case parameter(StaticString)
    }

    /// A field of the credentials; null for ACK and CANCEL and without credentials, "" for an
    /// absent field (but `$adu`: null), as Kamailio.
    static func credential(_ ctx: MessageContext, _ part: CredentialPart) -> PVValue {
        let msg = ctx.message
        if case .ack? = msg.method { return .null }
        if case .cancel? = msg.method { return .null }
        let b = msg.buffer
        guard let field = msg.firstHeader(.proxyAuthorization) ?? msg.firstHeader(.authorization) else {
            return .null
        }
        if case .user = part {
            // `$au`: the username found while the header is checked, without the parameter list.
            let username: Range<Int>?
            do { username = try DigestHeader.firstParameter(b, field.valueRange, "username") } catch {
                Log.error("core", "failed to parse credentials")
                return .null
            }
            if let r = username, let user = plainUser(b, r) { return .string(user) }
        }
        guard let digest = try? DigestHeader.parse(b, field.valueRange) else {
            Log.error("core", "failed to parse credentials")
            return .null
        }
        let username = digest.string(b, "username") ?? ""
        switch part {
        case .whole: return .string(username)
        case .user:
            // The first piece of `split(separator: "@", maxSplits: 1)` (the first run without
            // "@": empty pieces are skipped), without making the array.
            var user = username[...]
            while user.first == "@" { user = user.dropFirst() }
            if let at = user.firstIndex(of: "@") { user = user[..<at] }
            return .string(String(user))
        case .domain:
            guard let at = username.firstIndex(of: "@") else { return .string("") }
            return .string(String(username[username.index(after: at)...]))
        case .uri:
            guard let u = digest.string(b, "uri"), !u.isEmpty else { return .null }
            return .string(u)
        case .parameter(let name): return .string(digest.string(b, name) ?? "")
        }
    }

    /// `$au` read in the message's bytes when the username has no escapes: its value without
    /// the quotes, leading `@`s skipped, up to the next `@` (what the `.user` case makes from
    /// the unquoted string). nil when it has a backslash (the string path handles it).
    static func plainUser(_ b: [UInt8], _ r: Range<Int>) -> String? {
        b.withUnsafeBufferPointer { p -> String? in
            var s = r.lowerBound
            var e = r.upperBound
            if r.count >= 2, p[s] == UInt8(ascii: "\""), p[e - 1] == UInt8(ascii: "\"") {
                s += 1
                e -= 1
            }
            var i = s
            while i < e {
                if p[i] == UInt8(ascii: "\\") { return nil }
                i += 1
            }
            while s < e, p[s] == UInt8(ascii: "@") { s += 1 }
            var end = s
            while end < e, p[end] != UInt8(ascii: "@") { end += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: p[s..<end]), as: UTF8.self)
        }
    }

    /// Kamailio's `METHOD_*` bit of a method name (`METHOD_OTHER` for the rest).
    static func methodBit(_ name: String) -> Int {
        let bits: [String: Int] = [
            "INVITE": 1, "CANCEL": 2, "ACK": 4, "BYE": 8, "INFO": 16, "REGISTER": 32, "SUBSCRIBE": 64,
            "NOTIFY": 128, "MESSAGE": 256, "OPTIONS": 512, "PRACK": 1024, "UPDATE": 2048, "REFER": 4096,
            "PUBLISH": 8192, "KDMQ": 16384, "GET": 32768, "POST": 65536, "PUT": 131_072, "DELETE": 262_144,
        ]
        return bits[name.uppercased()] ?? 524_288
    }

    /// `$rmid`: the method's id (a reply: the CSeq method's).
    static func methodID(_ ctx: MessageContext) -> PVValue {
        if ctx.message.isRequest { return .int(methodBit(ctx.message.methodText)) }
        guard let cseq = try? ctx.message.cseq() else { return .null }
        return .int(methodBit(String(decoding: ctx.message.buffer[cseq.methodRange], as: UTF8.self)))
    }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The addresses that count as "myself" (Kamailio's `check_self`): the listen addresses
/// (and their advertised addresses) and the `alias=` names. Their binary and lowercased
/// forms are computed once, when set: `isMyself` runs for every Route and Via checked.
struct LocalAddresses {
    var listeners: [ListenAddress] { didSet { names = Names(listeners, aliases) } }
    var aliases: [LocalAlias] { didSet { names = Names(listeners, aliases) } }
    private var names: Names

    init(listeners: [ListenAddress] = [], aliases: [LocalAlias] = []) {
        // Every address of a multi-homed SCTP socket is this server.
        let listeners = listeners.flatMap { l in
            [l]
                + l.additionalAddresses.map { a in
                    var one = l
                    one.address = a
                    one.additionalAddresses = []
                    return one
                }
        }
        self.listeners = listeners
        self.aliases = aliases
        names = Names(listeners, aliases)
    }

    /// A host as compared: its address bytes when it is an IP literal, and its lowercased text.
    private struct Name {
        let bytes: [UInt8]?
        /// The address when it is IPv4 (compared without making the bytes of the host asked for).
        let v4: UInt32?
        let lowered: String
        init(_ text: String) {
            bytes = IPAddressText.bytes(text)
            v4 = bytes.flatMap { $0.count == 4 ? $0.reduce(0) { $0 << 8 | UInt32($1) } : nil }
            lowered = text.lowercased()
        }
    }

    /// The listeners' addresses and advertised addresses, the aliases' hosts.
    private struct Names {
        var listeners: [(address: Name, advertised: Name?)] = []
        var aliases: [Name] = []
        /// Every name as its IPv4 address with the port it matches (nil: any), when every
        /// name is an IP literal (else nil): an IPv4 host is then matched against these plain
        /// numbers, with no string or array of a name read (no reference counting).
        var v4: [(address: UInt32, port: Int?)]?
        init(_ listeners: [ListenAddress], _ aliases: [LocalAlias]) {
            self.listeners = listeners.map { (Name($0.address), $0.advertisedAddress.map(Name.init)) }
            self.aliases = aliases.map { Name($0.host) }
            var v4: [(address: UInt32, port: Int?)] = []
            var allLiteral = true
            for (l, n) in zip(listeners, self.listeners) {
                allLiteral = allLiteral && n.address.bytes != nil && (n.advertised.map { $0.bytes != nil } ?? true)
                if let a = n.address.v4 { v4.append((a, l.port)) }
                if let a = n.advertised?.v4 { v4.append((a, l.advertisedPort ?? l.port)) }
            }
            for (a, n) in zip(aliases, self.aliases) {
                allLiteral = allLiteral && n.bytes != nil
                if let v = n.v4 { v4.append((v, a.port)) }
            }
            self.v4 = allLiteral ? v4 : nil
        }
    }

    /// True when `host` (IPv6 with or without brackets) and `port` (nil: any) is one of ours.
    func isMyself(host: String, port: Int?) -> Bool {
        // The host without brackets; the usual host has none and is used as it is (no copy).
        let bracketed = host.utf8.first == UInt8(ascii: "[") && host.utf8.last == UInt8(ascii: "]")
        let name = bracketed ? String(host.dropFirst().dropLast()) : host
        guard !name.isEmpty else { return false }
        // An IPv4 host (the usual Route and Via) is compared as a number: no array is made.
        let v4 = IPAddressText.ipv4(name)
        // The usual case: an IPv4 host and only IP literals of ours, compared as numbers (an
        // IPv4 host matches only an IPv4 name; no name's text can equal it then).
        if let v4, let entries = names.v4 {
            for e in entries where e.address == v4 && (port == nil || e.port == nil || e.port == port) {
                return true
            }
            return MyselfCallbacks.run(host: host, port: port, proto: nil)
        }
        let bytes = v4 == nil ? IPAddressText.bytes(name) : nil
        var lowered: String? = nil
        func same(_ other: Name) -> Bool {
            if let v4, other.bytes != nil { return other.v4 == v4 }
            if let bytes, let o = other.bytes { return bytes == o }
            if lowered == nil { lowered = name.lowercased() }
            return other.lowered == lowered
        }
        // By index: the listeners (strings inside) are read in place, not copied for each one.
        for i in names.listeners.indices {
            if same(names.listeners[i].address), port == nil || port == listeners[i].port { return true }
            if let a = names.listeners[i].advertised, same(a),
                port == nil || port == (listeners[i].advertisedPort ?? listeners[i].port)
            {
                return true
            }
        }
        for (a, n) in zip(aliases, names.aliases) {
            if lowered == nil { lowered = name.lowercased() }
            guard n.lowered == lowered || same(n) else { continue }
            if a.port == nil || port == nil || a.port == port { return true }
        }
        return MyselfCallbacks.run(host: host, port: port, proto: nil)
    }
}

/// An IP network `addr/bits` or `addr/mask` (or one address), for `src_ip == 10.0.0.0/8`.
struct IPNetwork {
    let address: [UInt8]
    let mask: [UInt8]

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let a = IPAddressText.bytes(String(parts[0])) else { return nil }
        address = a
        if parts.count == 1 {
            mask = [UInt8](repeating: 0xff, count: a.count)
        } else if let bits = Int(parts[1]) {
            guard bits >= 0, bits <= a.count * 8 else { return nil }
            mask = (0..<a.count).map { i in
                let b = min(8, max(0, bits - i * 8))
                return b == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - b))
            }
        } else if let m = IPAddressText.bytes(String(parts[1])), m.count == a.count {
            mask = m
        } else {
            return nil
        }
    }

    func contains(_ ip: String) -> Bool {
        guard let b = IPAddressText.bytes(ip), b.count == address.count else { return false }
        for i in 0..<b.count where b[i] & mask[i] != address[i] & mask[i] { return false }
        return true
    }
}

/// Kamailio's protocol and address-family numbers, as `proto` and `af` compare them.
enum CoreKeywords {
    static let protocolNumbers: [String: Int] = ["udp": 1, "tcp": 2, "tls": 3, "sctp": 4, "ws": 5, "wss": 6]
    static let familyNumbers: [String: Int] = ["inet": 2, "ipv4": 2, "inet6": 10, "ipv6": 10]

    /// Keywords compared as strings (`==`, `!=`, `=~`), as IP addresses, or as integers.
    static let stringKeywords: Set<String> = ["method", "uri", "status", "from_uri", "to_uri"]
    static let ipKeywords: Set<String> = ["src_ip", "dst_ip", "snd_ip", "to_ip"]
    static let intKeywords: Set<String> = [
        "src_port", "dst_port", "af", "msg:len", "proto", "snd_port", "to_port", "snd_proto", "snd_af",
    ]
    /// The keywords that describe the message being sent: only meaningful in `onsend_route`.
    static let onSendKeywords: Set<String> = ["snd_ip", "to_ip", "snd_port", "to_port", "snd_proto", "snd_af"]

    /// The value of an IP keyword (`src_ip`, `dst_ip`, and in onsend_route `snd_ip` — the
    /// sending socket's address — and `to_ip`, the destination's).
    static func ipValue(_ keyword: String) -> (MessageContext) -> String {
        switch keyword {
        case "src_ip": return { $0.receive.sourceIP }
        case "snd_ip": return { $0.sendInfo?.destination.socket?.address.ipString ?? "" }
        case "to_ip": return { $0.sendInfo?.destination.address.ipString ?? "" }
        default: return { $0.receive.localIP }
        }
    }

    static func protocolNumber(_ p: TransportProtocol) -> Int { protocolNumbers[p.rawValue] ?? 0 }

    /// The method of a request, or of the CSeq of a reply.
    static func method(_ ctx: MessageContext) -> String? {
        if ctx.message.isRequest { return ctx.message.methodText }
        guard let cseq = try? ctx.message.cseq() else { return nil }
        return String(decoding: ctx.message.buffer[cseq.methodRange], as: UTF8.self)
    }

    /// `uri` / `status`: the R-URI in effect of a request, the status code of a reply.
    static func uri(_ ctx: MessageContext) -> String? {
        if ctx.message.isRequest { return ctx.requestURI }
        return ctx.message.statusCode.map { String($0) }
    }

    static func headerURI(_ ctx: MessageContext, _ name: HeaderName) -> String? {
        guard let field = ctx.message.firstHeader(name) else { return nil }
        return HeaderURI.uriText(ctx.message.value(of: field))
    }

    /// The value of a string keyword.
    static func stringValue(_ keyword: String) -> (MessageContext) -> String? {
        switch keyword {
        case "method": return method
        case "from_uri": return { headerURI($0, .from) }
        case "to_uri": return { headerURI($0, .to) }
        default: return uri
        }
    }

    /// The value of an integer keyword.
    static func intValue(_ keyword: String) -> (MessageContext) -> Int {
        switch keyword {
        case "src_port": return { $0.receive.sourcePort }
        case "dst_port": return { $0.receive.localPort }
        case "af": return { IPAddressText.bytes($0.receive.sourceIP)?.count == 16 ? 10 : 2 }
        case "msg:len": return { ctx in ctx.sendInfo?.bytes.count ?? ctx.message.buffer.count }
        case "snd_port": return { $0.sendInfo?.destination.socket?.listen.port ?? 0 }
        case "to_port": return { $0.sendInfo?.destination.address.port ?? 0 }
        case "snd_proto": return { ctx in ctx.sendInfo.map { protocolNumber($0.destination.proto) } ?? 0 }
        case "snd_af": return { ctx in ctx.sendInfo.map { $0.destination.address.isIPv6 ? 10 : 2 } ?? 0 }
        default: return { protocolNumber($0.receive.proto) }
        }
    }

    /// `a.lowercased() == b.lowercased()` without making the lowercased copies when both are
    /// ASCII (a method or URI nearly always is): compares their bytes with ASCII case folding.
    static func equalIgnoringCase(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        let folded: Bool? = a.withUTF8 { x in
            b.withUTF8 { y in
                // Any non-ASCII byte: nil, and Unicode case folding decides.
                guard x.allSatisfy({ $0 < 0x80 }), y.allSatisfy({ $0 < 0x80 }) else { return nil }
                guard x.count == y.count else { return false }
                for i in 0..<x.count where x[i] != y[i] {
                    let p = x[i] | 0x20
                    guard p == y[i] | 0x20, p >= 0x61, p <= 0x7A else { return false }
                }
                return true
            }
        }
        return folded ?? (a.lowercased() == b.lowercased())
    }

    /// The host and port a URI stands for in a `myself` check (5061 for sips: and TLS).
    static func hostPort(ofURI text: String) -> (host: String, port: Int)? {
        guard let u = SIPURI(text), u.scheme != "tel" else { return nil }
        let tls = u.scheme == "sips" || u.parameter("transport")?.lowercased() == "tls"
        return (u.host, u.port ?? (tls ? 5061 : 5060))
    }
}

extension ScriptCompiler {
    /// The value of a core keyword used as an expression (`method`, `src_port`, `UDP`, ...).
    func compileKeyword(_ name: String, _ loc: SourceLocation) -> CompiledExpression {
        if CoreKeywords.stringKeywords.contains(name) {
            let get = CoreKeywords.stringValue(name)
            return { ctx in get(ctx).map(PVValue.string) ?? .null }
        }
        if CoreKeywords.intKeywords.contains(name) {
            let get = CoreKeywords.intValue(name)
            return { ctx in .int(get(ctx)) }
        }
        if let n = CoreKeywords.protocolNumbers[name.lowercased()] ?? CoreKeywords.familyNumbers[name.lowercased()] {
            return { _ in .int(n) }
        }
        switch name {
        case "src_ip", "dst_ip", "snd_ip", "to_ip":
            let get = CoreKeywords.ipValue(name)
            return { ctx in .string(get(ctx)) }
        case "yes", "true", "on", "enable": return { _ in .int(1) }
        case "no", "false", "off", "disable": return { _ in .int(0) }
        case "myself":
            error("'myself' can only be compared with uri, from_uri, to_uri, src_ip or dst_ip", loc)
        default:
            error("unknown keyword '\(name)'", loc)
        }
        return { _ in .null }
    }

    /// `keyword op value` with Kamailio's meaning for core keywords (`uri == myself`,
    /// `src_ip == 10.0.0.0/8`, `method == "INVITE"` ignoring case, `proto == UDP`); nil when
    /// `lhs`/`rhs` is not such a comparison.
    func compileKeywordComparison(_ op: String, _ lhs: Expression, _ rhs: Expression, _ loc: SourceLocation)
        -> CompiledExpression?
    {
        guard ["==", "!=", "eq", "ne", "ieq", "ine", "=~", "<", ">", "<=", ">="].contains(op) else { return nil }
        var keyword: String
        var other = rhs
        if case .name("myself", _) = lhs, case .name(let k, _) = rhs {  // myself == uri
            keyword = k
            other = lhs
        } else if case .name(let k, _) = lhs {
            keyword = k
        } else {
            return nil
        }
        let isString = CoreKeywords.stringKeywords.contains(keyword)
        let isIP = CoreKeywords.ipKeywords.contains(keyword)
        guard isString || isIP || CoreKeywords.intKeywords.contains(keyword) else { return nil }
        let negate = op == "!=" || op == "ne" || op == "ine"
        func result(_ b: Bool) -> PVValue { .int(b != negate ? 1 : 0) }
        if isString || isIP {
            guard ["==", "!=", "eq", "ne", "=~"].contains(op) else {
                error("operator '\(op)' cannot be used with '\(keyword)' (==, != or =~)", loc)
                return { _ in .int(0) }
            }
        } else if ["=~"].contains(op) || (keyword == "proto" && !["==", "!=", "eq", "ne", "ieq", "ine"].contains(op)) {
            error("operator '\(op)' cannot be used with '\(keyword)'", loc)
            return { _ in .int(0) }
        }
        if case .name("myself", _) = other {
            guard keyword != "method" else {
                error("'method' cannot be compared with myself", loc)
                return { _ in .int(0) }
            }
            let local = localAddresses
            if isIP {
                let ip = CoreKeywords.ipValue(keyword)
                return { ctx in result(local.isMyself(host: ip(ctx), port: nil)) }
            }
            guard isString else {
                error("'\(keyword)' cannot be compared with myself", loc)
                return { _ in .int(0) }
            }
            let get = CoreKeywords.stringValue(keyword)
            return { ctx in
                guard let text = get(ctx), let hp = CoreKeywords.hostPort(ofURI: text) else {
                    return .int(negate ? 1 : 0)
                }
                return result(local.isMyself(host: hp.host, port: hp.port))
            }
        }
        if isString {
            if keyword == "method", op != "=~",
                let compare = CoreKeywords.methodComparison(with: other, negate: negate, result: result)
            {
                return compare
            }
            let get = CoreKeywords.stringValue(keyword)
            // `method == INVITE`: a bare word is a string here.
            let value: CompiledExpression
            if case .name(let n, _) = other, CoreKeywords.protocolNumbers[n.lowercased()] == nil {
                value = { _ in .string(n) }
            } else {
                value = compileExpression(other)
            }
            if op == "=~" {
                let match = compileMatcher(other, value)
                return { ctx in
                    guard let s = get(ctx) else { return .int(0) }
                    return .int(match(ctx, s) ? 1 : 0)
                }
            }
            return { ctx in
                guard let s = get(ctx) else { return .int(negate ? 1 : 0) }
                let v = value(ctx)
                if v == .null { return .int(negate ? 1 : 0) }
                return result(CoreKeywords.equalIgnoringCase(s, v.stringValue))
            }
        }
        if isIP {
            let ip = CoreKeywords.ipValue(keyword)
            if case .string(let text, _) = other {
                if let net = IPNetwork(text) {
                    return { ctx in result(net.contains(ip(ctx))) }
                }
                if op == "=~" {
                    let match = compileMatcher(other, { _ in .string(text) })
                    return { ctx in .int(match(ctx, ip(ctx)) ? 1 : 0) }
                }
                let addresses = resolveHostAddresses(text)  // once, at start-up
                return { ctx in
                    let b = IPAddressText.bytes(ip(ctx))
                    return result(addresses.contains { $0 == b })
                }
            }
            let value = compileExpression(other)
            let isMatch = op == "=~"
            return { ctx in
                let v = value(ctx)
                if v == .null { return .int(negate ? 1 : 0) }
                if let net = IPNetwork(v.stringValue) { return result(net.contains(ip(ctx))) }
                if isMatch { return .int(POSIXRegex.script(v.stringValue)?.matches(ip(ctx)) == true ? 1 : 0) }
                return result(false)
            }
        }
        let get = CoreKeywords.intValue(keyword)
        let value = compileExpression(other)
        return { ctx in
            let v = value(ctx)
            if v == .null { return .int(negate ? 1 : 0) }
            let a = get(ctx)
            let b = v.intValue
            switch op {
            case "<": return .int(a < b ? 1 : 0)
            case ">": return .int(a > b ? 1 : 0)
            case "<=": return .int(a <= b ? 1 : 0)
            case ">=": return .int(a >= b ? 1 : 0)
            default: return result(a == b)
            }
        }
    }

    /// A case-insensitive regular expression match against a constant (compiled once) or
    /// a computed pattern.
    private func compileMatcher(_ pattern: Expression, _ value: @escaping CompiledExpression)
        -> (MessageContext, String) -> Bool
    {
        if case .string(let p, let l) = pattern {
            let re = POSIXRegex.script(p)
            if re == nil { error("invalid regular expression \"\(p)\"", l) }
            return { _, s in re?.matches(s) == true }
        }
        return { ctx, s in POSIXRegex.script(value(ctx).stringValue)?.matches(s) == true }
    }
}

/// Resolves a host name once (at start-up) to its IP addresses, for `src_ip == host`.
func resolveHostAddresses(_ host: String) -> [[UInt8]] {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
    var result: UnsafeMutablePointer<addrinfo>? = nil
    guard getaddrinfo(host, nil, &hints, &result) == 0 else { return [] }
    defer { freeaddrinfo(result) }
    var out: [[UInt8]] = []
    var p = result
    while let ai = p {
        defer { p = ai.pointee.ai_next }
        guard let sa = ai.pointee.ai_addr else { continue }
        if Int32(sa.pointee.sa_family) == AF_INET {
            sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { s in
                var a = s.pointee.sin_addr
                out.append(withUnsafeBytes(of: &a) { Array($0) })
            }
        } else if Int32(sa.pointee.sa_family) == AF_INET6 {
            sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { s in
                var a = s.pointee.sin6_addr
                out.append(withUnsafeBytes(of: &a) { Array($0) })
            }
        }
    }
    return out
}

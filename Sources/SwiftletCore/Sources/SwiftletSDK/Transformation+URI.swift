/// A URI split the way Kamailio's `parse_uri` presents it to the script (`$rU`, `{uri.user}`,
/// ...): parts as written, the special parameters (`transport`, `ttl`, `user`, `maddr`,
/// `method`, `lr`, `r2`), and `phone2tel` applied (a `sip:` URI with `user=phone` has its
/// user part cut at the first `;`).
public struct URIParts: Sendable {
    /// The URI text.
    public let bytes: [UInt8]
    public let components: URIComponents

    /// Parses `text`; nil when it is not a valid URI.
    public init?(_ text: String) {
        let b = Array(text.utf8)
        guard let c = try? URIComponents.parse(b, 0..<b.count) else { return nil }
        bytes = b
        components = c
    }

    private func string(_ r: Range<Int>?) -> String? { r.map { String(decoding: bytes[$0], as: UTF8.self) } }

    /// The scheme as written (`sip`, `SIPS`, `tel`).
    public var scheme: String { string(components.schemeRange)! }
    public var isTel: Bool { components.scheme == .tel }

    /// The user part (the number of a `tel:` URI), cut at `;` when `user=phone` is set.
    public var user: String? {
        guard var u = components.user else { return nil }
        if !isTel, let up = parameter("user"), up == "phone", let semi = bytes[u].firstIndex(of: 59) {
            u = u.lowerBound..<semi
        }
        return string(u)
    }
    public var password: String? { string(components.password) }
    /// The host (empty for `tel:`); IPv6 references keep their brackets.
    public var host: String { string(components.host) ?? "" }
    /// The port as written, if any.
    public var portText: String? { string(components.portRange) }
    public var port: Int? { components.port }
    /// The parameters of a `sip:`/`sips:` URI after the first `;` (Kamailio's `sip_params`);
    /// nil for `tel:` URIs and when there are none.
    public var parameters: String? {
        guard !isTel, !components.parametersRange.isEmpty else { return nil }
        return string(components.parametersRange)
    }
    /// The `?` headers, without the `?`.
    public var headers: String? { string(components.headers) }

    /// All URI parameters in order, value nil for a flag.
    public var parameterList: [(name: String, value: String?)] {
        components.parameters(bytes).map { (string($0.name)!, string($0.value)) }
    }

    /// The value of the parameter `name` (case-insensitive; "" for a flag), nil when absent.
    public func parameter(_ name: String) -> String? {
        let wanted = Array(name.utf8).map { $0 | 0x20 }
        for p in components.parameters(bytes) where p.name.count == wanted.count {
            if zip(bytes[p.name], wanted).allSatisfy({ ($0.0 | 0x20) == $0.1 }) { return string(p.value) ?? "" }
        }
        return nil
    }

    /// The transport parameter value, lower-cased, if any.
    public var transport: String? { parameter("transport")?.lowercased() }

    /// Kamailio's port in effect: the written port, else 5061 for `transport=tls`, else 5060.
    public var effectivePort: Int { port ?? (transport == "tls" ? 5061 : 5060) }
}

/// The `uri` transformation class: parts of a URI held in a string.
enum URITransformations {
    static func compile(_ name: String, _ p: TransformationParameters) throws(FixupError)
        -> TransformationFunction?
    {
        typealias Getter = (URIParts) -> PVValue
        func str(_ s: String?) -> PVValue { .string(s ?? "") }
        let get: Getter
        switch name {
        case "user": get = { str($0.user) }
        case "host", "domain": get = { .string($0.host) }
        case "passwd": get = { str($0.password) }
        case "port": get = { u in u.port.map(PVValue.int) ?? .string("") }
        case "params": get = { str($0.parameters) }
        case "headers": get = { str($0.headers) }
        case "transport", "ttl", "maddr", "method", "lr", "r2":
            let param = name
            get = { u in u.isTel ? .string("") : str(u.parameter(param)) }
        case "uparam": get = { u in u.isTel ? .string("") : str(u.parameter("user")) }
        case "scheme": get = { .string($0.scheme) }
        case "saor", "suri", "duri":
            let kind = name
            get = { u in
                var s = u.scheme + ":"
                if kind != "duri", let user = u.user, !user.isEmpty { s += user + "@" }
                s += u.host
                if kind != "saor" {
                    if let port = u.portText { s += ":" + port }
                    if let t = u.parameter("transport"), !t.isEmpty { s += ";transport=" + t }
                }
                return .string(s)
            }
        case "tosocket":
            get = { u in
                let proto = u.transport ?? "udp"
                return .string("\(proto):\(u.host):\(u.port ?? 5060)")
            }
        case "param":
            try p.next("parameter name")
            let wanted = try p.string()
            try p.finish()
            return { ctx, v in
                guard let text = v.nonEmptyText, let u = parse(text), let n = wanted.stringValue(ctx) else {
                    return nil
                }
                guard let params = u.parameters else { return .string("") }
                guard let list = KamailioParameters.parse(Array(params.utf8), separator: 59) else { return nil }
                // Kamailio searches its reversed list: the last parameter of that name wins.
                let key = Array(n.utf8)
                return list.last(where: { KamailioParameters.equalsIgnoringCase($0.name, key) }).map {
                    .bytes($0.body ?? [])
                } ?? .string("")
            }
        default: return nil
        }
        try p.finish()
        return { _, v in
            guard let text = v.nonEmptyText, let u = parse(text) else { return nil }
            return get(u)
        }
    }

    /// Kamailio ignores one `;` at the end of the URI.
    static func parse(_ text: String) -> URIParts? {
        if text.utf8.count > 4, text.utf8.last == 59 { return URIParts(String(text.dropLast())) }
        return URIParts(text)
    }
}

/// Kamailio's `parse_params2`: `name[=value]` items separated by a separator character
/// (`;` by default); values may be quoted (the quotes are not part of the body); parsing
/// stops at `,` or `>`. Nil when the list is malformed.
enum KamailioParameters {
    struct Item {
        var name: ArraySlice<UInt8>
        /// nil when there is no `=`.
        var body: ArraySlice<UInt8>?
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }

    static func equalsIgnoringCase(_ a: ArraySlice<UInt8>, _ b: [UInt8]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { ($0.0 | 0x20) == ($0.1 | 0x20) }
    }

    static func parse(_ b: [UInt8], separator sep: UInt8) -> [Item]? {
        var items: [Item] = []
        var i = 0
        let n = b.count
        func skipSpace() { while i < n, isSpace(b[i]) { i += 1 } }
        guard n > 0 else { return [] }
        while true {
            let nameStart = i
            while i < n, !isSpace(b[i]), b[i] != 44, b[i] != 61, b[i] != sep { i += 1 }
            var item = Item(name: b[nameStart..<i], body: nil)
            skipSpace()
            if i >= n {
                items.append(item)
                return items
            }
            if b[i] == 61 {
                i += 1
                skipSpace()
                if i >= n {
                    item.body = b[i..<i]
                    items.append(item)
                    return items
                }
                if b[i] == 34 || b[i] == 39 {
                    let quote = b[i]
                    guard let close = b[(i + 1)...].firstIndex(of: quote) else { return nil }
                    item.body = b[(i + 1)..<close]
                    i = close + 1
                } else {
                    let start = i
                    while i < n, !isSpace(b[i]), b[i] != 44, b[i] != sep { i += 1 }
                    guard i > start else { return nil }
                    item.body = b[start..<i]
                }
                skipSpace()
                if i >= n {
                    items.append(item)
                    return items
                }
            }
            items.append(item)
            if b[i] == 44 || b[i] == 62 { return items }
            guard b[i] == sep else { return nil }
            i += 1
            skipSpace()
            guard i < n else { return nil }
        }
    }
}

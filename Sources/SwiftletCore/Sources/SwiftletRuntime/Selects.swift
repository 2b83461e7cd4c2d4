import SwiftletSDK

/// Kamailio's selects (`@from.tag`, `@via[1].branch`, `@msg.X-Foo`, `@cfg_get.group.name`;
/// also `$sel(...)`), compiled once into an accessor. Every select gives a string, as in
/// Kamailio; one that finds nothing gives null.
enum Selects {
    struct Segment: Equatable {
        var name: String
        /// `[n]` (1-based, negative from the end) or `["text"]`.
        var index: Int?
        var key: String?
    }

    typealias Getter = (MessageContext) -> String?

    /// Splits `via[1].params.branch` into segments.
    static func parse(_ path: String) throws(FixupError) -> [Segment] {
        var segments: [Segment] = []
        var rest = Substring(path)
        while !rest.isEmpty {
            var name = ""
            while let c = rest.first, c != ".", c != "[" {
                name.append(c)
                rest = rest.dropFirst()
            }
            guard !name.isEmpty else { throw FixupError("bad select $sel(\(path))") }
            var segment = Segment(name: name.lowercased())
            if rest.first == "[" {
                guard let close = rest.firstIndex(of: "]") else { throw FixupError("bad select $sel(\(path))") }
                let inner = rest[rest.index(after: rest.startIndex)..<close]
                if let n = Int(inner) {
                    segment.index = n
                } else {
                    segment.key = String(inner.filter { $0 != "\"" && $0 != "'" })
                }
                rest = rest[rest.index(after: close)...]
            }
            segments.append(segment)
            if rest.first == "." { rest = rest.dropFirst() }
        }
        return segments
    }

    /// The accessor of a select path, or an error naming what is not known.
    static func compile(_ path: String) throws(FixupError) -> Getter {
        let s = try parse(path)
        let tail = Array(s.dropFirst())
        switch s[0].name {
        case "cfg_get":
            let key = tail.map(\.name).joined(separator: ".")
            guard CustomParameters.shared.values[key] != nil else {
                throw FixupError("unknown configuration variable '\(key)' in $sel(\(path))")
            }
            let group = tail.first?.name ?? ""
            let name = tail.dropFirst().map(\.name).joined(separator: ".")
            let parameters = CustomParameters.shared.snapshot
            return { ctx in
                parameters.value(ctx, group: group, name: name, key: key).map { $0.stringValue }
            }
        case "ruri", "request_uri":
            return try uri(tail, path) { $0.requestURI }
        case "dst_uri":
            return try uri(tail, path) { $0.destinationURI }
        case "next_hop":
            return try uri(tail, path) { $0.nextHopURI }
        case "from", "to", "contact":
            let header: HeaderName = s[0].name == "from" ? .from : s[0].name == "to" ? .to : .contact
            return try nameAddr(header, tail, path)
        case "via":
            return try via(s[0].index ?? 1, tail, path)
        case "cseq":
            guard tail.count <= 1 else { throw unknown(path) }
            switch tail.first?.name {
            case nil: return { $0.message.firstHeader(.cseq).map($0.message.value(of:)) }
            case "num": return { (try? $0.message.cseq()).map { String($0.number) } }
            case "method":
                return { ctx in (try? ctx.message.cseq()).map { ctx.message.buffer.text($0.methodRange) } }
            default: throw unknown(path)
            }
        case "msg":
            return try message(tail, path)
        case "src", "dst":
            guard tail.count == 1, ["ip", "port"].contains(tail[0].name) else { throw unknown(path) }
            let src = s[0].name == "src"
            if tail[0].name == "ip" { return { src ? $0.receive.sourceIP : $0.receive.localIP } }
            return { String(src ? $0.receive.sourcePort : $0.receive.localPort) }
        case "call_id", "callid":
            return header(.callID, tail, path)
        case "max_forwards", "content_type", "content_length", "user_agent", "subject", "organization", "priority",
            "expires", "event", "session_expires", "min_se":
            guard tail.isEmpty else { throw unknown(path) }
            let name = String(s[0].name.map { $0 == "_" ? "-" : $0 })
            return { ctx in ctx.message.firstHeader(named: name).map(ctx.message.value(of:)) }
        default:
            // A module's table (`@tls...`).
            guard let table = ModuleSelects.shared.compiler(s[0].name) else { throw unknown(path) }
            return try table(tail.map { SelectSegment(name: $0.name, index: $0.index, key: $0.key) }, path)
        }
    }

    static func unknown(_ path: String) -> FixupError { FixupError("unknown select in $sel(\(path))") }

    static func header(_ name: HeaderName, _ tail: [Segment], _ path: String) -> Getter {
        { ctx in ctx.message.firstHeader(name).map(ctx.message.value(of:)) }
    }

    /// A URI and its parts: `.user`, `.pwd`, `.host`, `.port`, `.hostport`, `.params`,
    /// `.params.NAME`, `.type`, `.transport`.
    static func uri(_ tail: [Segment], _ path: String, _ get: @escaping Getter) throws(FixupError) -> Getter {
        guard let part = tail.first else { return get }
        let sub = tail.dropFirst()
        func parsed(_ ctx: MessageContext) -> SIPURI? { get(ctx).flatMap { SIPURI($0) } }
        switch part.name {
        case "user": return { parsed($0)?.user }
        case "pwd": return { parsed($0)?.password }
        case "host": return { parsed($0)?.host }
        case "port": return { parsed($0)?.port.map(String.init) }
        case "hostport":
            return { ctx in parsed(ctx).map { u in u.port.map { "\(u.host):\($0)" } ?? u.host } }
        case "type": return { parsed($0)?.scheme }
        case "transport": return { parsed($0)?.parameter("transport") }
        case "params":
            if let name = sub.first?.name {
                return { ctx in parsed(ctx)?.parameter(name) }
            }
            return { ctx in
                parsed(ctx).map { u in
                    u.parameters.map { p in p.value.map { "\(p.name)=\($0)" } ?? p.name }.joined(separator: ";")
                }
            }
        default: throw unknown(path)
        }
    }

    /// From/To/Contact: the header value, `.uri` (and its parts), `.tag`, `.name`,
    /// `.params`, `.params.NAME`.
    static func nameAddr(_ header: HeaderName, _ tail: [Segment], _ path: String) throws(FixupError) -> Getter {
        func parsed(_ ctx: MessageContext) -> NameAddr? {
            let b = ctx.message.buffer
            guard let field = ctx.message.firstHeader(header),
                let first = HeaderScanner.splitValues(b, field.valueRange).first
            else { return nil }
            return try? NameAddr.parse(b, first)
        }
        guard let part = tail.first else {
            return { ctx in ctx.message.firstHeader(header).map(ctx.message.value(of:)) }
        }
        switch part.name {
        case "uri":
            return try uri(Array(tail.dropFirst()), path) { ctx in parsed(ctx).map { ctx.message.buffer.text($0.uri) } }
        case "tag":
            return { ctx in parsed(ctx).flatMap { $0.tag(ctx.message.buffer) }.map { ctx.message.buffer.text($0) } }
        case "name":
            return { ctx in parsed(ctx).flatMap { $0.displayName }.map { ctx.message.buffer.text($0) } }
        case "params":
            if let name = tail.dropFirst().first?.name {
                return { ctx in
                    guard let na = parsed(ctx) else { return nil }
                    let b = ctx.message.buffer
                    guard let p = na.parameters(b).first(where: { b.text($0.name).lowercased() == name }) else {
                        return nil
                    }
                    return p.value.map { b.text($0) } ?? ""
                }
            }
            return { ctx in
                parsed(ctx).map { na in
                    let r = na.parametersRange
                    var t = ctx.message.buffer.text(r)
                    if t.hasPrefix(";") { t.removeFirst() }
                    return t
                }
            }
        default: throw unknown(path)
        }
    }

    /// `@via[n]`: the value, `.name`, `.version`, `.transport`, `.host`, `.port`, `.params`,
    /// `.params.NAME`, and `.branch`/`.received`/`.rport`/`.i`/`.alias` for those parameters.
    static func via(_ index: Int, _ tail: [Segment], _ path: String) throws(FixupError) -> Getter {
        func pick(_ ctx: MessageContext) -> ViaHeader? {
            guard let all = try? ctx.message.vias(), !all.isEmpty else { return nil }
            let i = index > 0 ? index - 1 : all.count + index
            return all.indices.contains(i) ? all[i] : nil
        }
        func param(_ name: String) -> Getter {
            { ctx in
                guard let v = pick(ctx) else { return nil }
                let b = ctx.message.buffer
                guard let p = v.parameters(b).first(where: { b.text($0.name).lowercased() == name }) else {
                    return nil
                }
                return p.value.map { b.text($0) } ?? ""
            }
        }
        guard let part = tail.first else { return { ctx in pick(ctx).map { ctx.message.buffer.text($0.range) } } }
        switch part.name {
        case "name": return { ctx in pick(ctx).map { ctx.message.buffer.text($0.protocolName) } }
        case "version": return { ctx in pick(ctx).map { ctx.message.buffer.text($0.protocolVersion) } }
        case "transport": return { ctx in pick(ctx).map { ctx.message.buffer.text($0.transport) } }
        case "host": return { ctx in pick(ctx).map { ctx.message.buffer.text($0.host) } }
        case "port": return { ctx in pick(ctx).flatMap { $0.portRange }.map { ctx.message.buffer.text($0) } }
        case "branch", "received", "rport", "i", "alias": return param(part.name)
        case "params":
            if let name = tail.dropFirst().first?.name { return param(name) }
            return { ctx in
                pick(ctx).map { v in
                    var t = ctx.message.buffer.text(v.parametersRange)
                    if t.hasPrefix(";") { t.removeFirst() }
                    return t
                }
            }
        default: throw unknown(path)
        }
    }

    /// `@msg`: the whole message, `.len`, `.body`, `.first_line`, `.request.method/.uri/.version`,
    /// `.response.version/.status/.reason`, or any header by name (`@msg.X-Foo`).
    static func message(_ tail: [Segment], _ path: String) throws(FixupError) -> Getter {
        guard let part = tail.first else { return { String(decoding: $0.message.buffer, as: UTF8.self) } }
        let sub = tail.dropFirst().first?.name
        switch part.name {
        case "len": return { String($0.message.buffer.count) }
        case "body": return { ctx in ctx.message.buffer.text(ctx.message.bodyRange) }
        case "first_line":
            return { ctx in
                let b = ctx.message.buffer
                let end = b.firstIndex(of: 13) ?? b.firstIndex(of: 10) ?? b.count
                return b.text(0..<end)
            }
        case "request":
            return { ctx in
                guard ctx.message.isRequest else { return nil }
                switch sub {
                case "method": return ctx.message.methodText
                case "uri": return ctx.message.requestURI
                case "version": return "SIP/2.0"
                default: return nil
                }
            }
        case "response":
            return { ctx in
                guard !ctx.message.isRequest else { return nil }
                let b = ctx.message.buffer
                let end = b.firstIndex(of: 13) ?? b.firstIndex(of: 10) ?? b.count
                let words = b.text(0..<end).split(separator: " ", maxSplits: 2).map(String.init)
                switch sub {
                case "version": return words.first
                case "status": return words.count > 1 ? words[1] : nil
                case "reason": return words.count > 2 ? words[2] : nil
                default: return nil
                }
            }
        default:
            // Any header: `@msg.X-Foo`, `@msg.contact` (first value of that name).
            let name = part.key ?? part.name
            return { ctx in ctx.message.firstHeader(named: name).map(ctx.message.value(of:)) }
        }
    }

    /// The `$sel(...)` pseudo-variable class (and `@...`, which the lexer turns into it).
    static func pseudoVariableClass() -> PseudoVariableClass {
        PseudoVariableClass("sel") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard let inner = pv.inner, !inner.isEmpty else { throw FixupError("$sel needs a select: $sel(from.tag)") }
            let get = try compile(inner)
            return PseudoVariable(text: pv.text) { ctx in get(ctx).map(PVValue.string) ?? .null }
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func text(_ r: Range<Int>) -> String { String(decoding: self[r], as: UTF8.self) }
}

/// The `param` transformation class: a `name=value;...` list held in a string, with `;`
/// or another one-character separator as the optional last parameter.
enum ParamTransformations {
    static func compile(_ name: String, _ p: TransformationParameters) throws(FixupError)
        -> TransformationFunction?
    {
        typealias Items = [KamailioParameters.Item]
        let use: (MessageContext, Items) -> PVValue?
        var separator: TransformationArgument? = nil
        func fixedSeparator(_ p: TransformationParameters) throws(FixupError) -> TransformationArgument? {
            guard p.hasNext() else { return nil }
            let s = try p.string()
            if case .string(let c) = s, c.utf8.count != 1 { throw p.error("the separator must be one character") }
            if case .variable = s { throw p.error("the separator must be one character") }
            return s
        }
        switch name {
        case "value", "in":
            try p.next("parameter name")
            let wanted = try p.string()
            separator = try fixedSeparator(p)
            let isIn = name == "in"
            use = { ctx, items in
                guard let n = wanted.stringValue(ctx) else { return nil }
                let key = Array(n.utf8)
                let found = items.last { KamailioParameters.equalsIgnoringCase($0.name, key) }
                if isIn { return .int(found == nil ? 0 : 1) }
                return .bytes(found?.body ?? [])
            }
        case "valueat", "name":
            try p.next("index")
            let index = try p.number()
            separator = try fixedSeparator(p)
            let wantName = name == "name"
            use = { ctx, items in
                guard var i = index.intValue(ctx) else { return nil }
                if i < 0 { i += items.count }
                guard i >= 0, i < items.count else { return .string("") }
                return .bytes(wantName ? items[i].name : (items[i].body ?? []))
            }
        case "count":
            if p.hasNext() {
                separator = try p.string(includingComma: true)
                if case .string(let c) = separator, c.utf8.count != 1 {
                    throw p.error("the separator must be one character")
                }
            }
            use = { _, items in .int(items.count) }
        default: return nil
        }
        try p.finish()
        return { ctx, v in
            guard let text = v.nonEmptyText else { return nil }
            var sep: UInt8 = 59
            if let separator {
                guard let s = separator.stringValue(ctx)?.utf8.first else { return nil }
                sep = s
            }
            var b = Array(text.utf8)
            if b.count > 1, b.last == sep { b.removeLast() }
            guard let items = KamailioParameters.parse(b, separator: sep), !items.isEmpty else { return nil }
            return use(ctx, items)
        }
    }
}

/// The `nameaddr` class (Kamailio's `parse_nameaddr`): the display part as written before
/// `<` (spaces and quotes kept), the URI between `<` and `>`, and the length up to `>`.
/// Without `<` the whole value is the URI.
enum NameAddrTransformations {
    static func compile(_ name: String, _ p: TransformationParameters) throws(FixupError)
        -> TransformationFunction?
    {
        guard ["name", "uri", "len"].contains(name) else { return nil }
        try p.finish()
        return { _, v in
            guard let text = v.nonEmptyText else { return nil }
            let b = Array(text.utf8)
            guard let lt = firstUnquoted(b, 60, from: 0) else {
                switch name {
                case "name": return .string("")
                case "uri": return .string(text)
                default: return .int(b.count)
                }
            }
            guard let gt = firstUnquoted(b, 62, from: lt + 1) else { return nil }
            switch name {
            case "name": return .bytes(b[..<lt])
            case "uri": return .bytes(b[(lt + 1)..<gt])
            default: return .int(gt + 1)
            }
        }
    }

    /// Kamailio's `find_not_quoted`.
    static func firstUnquoted(_ b: [UInt8], _ c: UInt8, from start: Int) -> Int? {
        var quoted = false
        var i = start
        while i < b.count {
            if !quoted {
                if b[i] == 34 { quoted = true } else if b[i] == c { return i }
            } else if b[i] == 34, b[i - 1] != 92 {
                quoted = false
            }
            i += 1
        }
        return nil
    }
}

/// The `tobody` class: a To/From-style value (`"Name" <uri>;tag=x;p=v`) held in a string.
enum ToBodyTransformations {
    static func compile(_ name: String, _ p: TransformationParameters) throws(FixupError)
        -> TransformationFunction?
    {
        guard ["uri", "tag", "user", "host", "params", "display"].contains(name) else { return nil }
        try p.finish()
        return { _, v in
            guard let text = v.nonEmptyText else { return nil }
            let b = Array(text.utf8)
            guard let na = try? NameAddr.parse(b, 0..<b.count), !na.isWildcard,
                let uri = URIParts(String(decoding: b[na.uri], as: UTF8.self))
            else { return nil }
            switch name {
            case "uri": return .bytes(b[na.uri])
            case "tag": return .bytes(na.tag(b).map { b[$0] } ?? [])
            case "display": return .bytes(na.displayName.map { b[$0] } ?? [])
            case "user": return .string(uri.user ?? "")
            case "host": return .string(uri.host)
            default:
                var i = na.parametersRange.lowerBound
                let end = b.count
                while i < end, KamailioParameters.isSpace(b[i]) || b[i] == 59 { i += 1 }
                return .bytes(i < end ? b[i..<end] : [])
            }
        }
    }
}

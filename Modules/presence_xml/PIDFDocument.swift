/// PIDF documents as text: the well-formedness check of a PUBLISH body (Kamailio parses it
/// with libxml2) and the aggregation of several publications into one NOTIFY body.
enum PIDFDocument {
    /// True when `body` is one well-formed XML element (tags balanced and properly nested,
    /// an optional prolog, comments and processing instructions).
    static func isWellFormed(_ body: [UInt8]) -> Bool {
        var stack: [ArraySlice<UInt8>] = []
        var i = 0
        var roots = 0
        let n = body.count
        func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }
        while i < n {
            let c = body[i]
            if c != UInt8(ascii: "<") {
                if stack.isEmpty, !isSpace(c) { return false }
                i += 1
                continue
            }
            guard i + 1 < n else { return false }
            if body[i + 1] == UInt8(ascii: "?") || body[i + 1] == UInt8(ascii: "!") {
                // <?...?>, <!-- ... -->, <![CDATA[...]]>, <!DOCTYPE ...>
                let closer: [UInt8] =
                    body[i + 1] == UInt8(ascii: "?")
                    ? Array("?>".utf8)
                    : (body[i...].starts(with: Array("<!--".utf8))
                        ? Array("-->".utf8)
                        : (body[i...].starts(with: Array("<![CDATA[".utf8)) ? Array("]]>".utf8) : [UInt8(ascii: ">")]))
                guard let end = find(closer, in: body, from: i + 2) else { return false }
                i = end + closer.count
                continue
            }
            guard let end = find([UInt8(ascii: ">")], in: body, from: i + 1) else { return false }
            let closing = body[i + 1] == UInt8(ascii: "/")
            let selfClosing = !closing && body[end - 1] == UInt8(ascii: "/")
            var s = i + (closing ? 2 : 1)
            var e = s
            while e < end, !isSpace(body[e]), body[e] != UInt8(ascii: "/") { e += 1 }
            let name = body[s..<e]
            guard !name.isEmpty else { return false }
            if closing {
                guard let top = stack.popLast(), top == name else { return false }
            } else {
                if stack.isEmpty {
                    roots += 1
                    if roots > 1 { return false }
                }
                if !selfClosing { stack.append(name) }
            }
            s = end + 1
            i = s
        }
        return stack.isEmpty && roots == 1
    }

    private static func find(_ needle: [UInt8], in b: [UInt8], from: Int) -> Int? {
        guard needle.count <= b.count else { return nil }
        var i = from
        while i + needle.count <= b.count {
            if b[i] == needle[0], b[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// One body for several publications, oldest first (`agregate_xmls`): the newest
    /// document, with the `<tuple>` elements of the older ones whose `id` it does not have
    /// added before its closing `</presence>` tag.
    static func aggregate(_ bodies: [[UInt8]]) -> [UInt8]? {
        guard var base = bodies.last else { return nil }
        // libxml2's serialization (Kamailio's body) ends with a newline.
        if base.last != 10 { base.append(10) }
        guard bodies.count > 1 else { return base }
        var ids = Set(tuples(in: base).map(\.id))
        var extra: [UInt8] = []
        for body in bodies.dropLast().reversed() {
            for t in tuples(in: body) where !ids.contains(t.id) {
                ids.insert(t.id)
                extra += t.bytes
            }
        }
        // The root's closing tag: the last "</" of the document.
        guard !extra.isEmpty, let close = lastFind(Array("</".utf8), in: base) else { return base }
        var out = base
        out.insert(contentsOf: extra, at: close)
        return out
    }

    private static func lastFind(_ needle: [UInt8], in b: [UInt8]) -> Int? {
        var i = b.count - needle.count
        while i >= 0 {
            if b[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i -= 1
        }
        return nil
    }

    /// The `<tuple ...>...</tuple>` elements of a document with their `id`.
    static func tuples(in b: [UInt8]) -> [(id: String, bytes: [UInt8])] {
        var result: [(String, [UInt8])] = []
        var from = 0
        while let start = find(Array("<tuple".utf8), in: b, from: from),
            let end = find(Array("</tuple>".utf8), in: b, from: start)
        {
            let element = Array(b[start..<(end + 8)])
            var id = ""
            if let idStart = find(Array("id=\"".utf8), in: element, from: 0) {
                id = String(decoding: element[(idStart + 4)...].prefix { $0 != UInt8(ascii: "\"") }, as: UTF8.self)
            }
            result.append((id, element))
            from = end + 8
        }
        return result
    }

    /// The body of a presentity that published nothing, with `force_dummy_presence`
    /// (Kamailio's `PRESENCE_EMPTY_BODY`).
    static func dummy(user: String, domain: String) -> [UInt8] {
        let text =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" xmlns:c=\"urn:ietf:params:xml:ns:pidf:cipid\" entity=\"\(user)\"><tuple xmlns=\"urn:ietf:params:xml:ns:pidf\" id=\"615293b33c62dec073e05d9421e9f48b\"><status><basic>open</basic></status></tuple><note xmlns=\"urn:ietf:params:xml:ns:pidf\">Available</note><dm:person xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" id=\"1\"><rpid:activities/><dm:note>Available</dm:note></dm:person></presence>"
        return Array(text.utf8)
    }
}

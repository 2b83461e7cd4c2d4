/// Parses a document into `XMLNode`s as libxml2's `xmlParseMemory` does for documents
/// without a DTD: nil for one that is not well-formed (tags not balanced, no or two root
/// elements, an unknown entity, text outside the root).
struct XMLParser {
    private let b: [UInt8]
    private var i = 0

    /// Parses `bytes`; nil when they are not a well-formed document.
    static func parse(_ bytes: [UInt8]) -> XMLDocument? {
        var p = XMLParser(normalizing: bytes)
        return p.document()
    }

    /// `\r\n` and lone `\r` become `\n` (XML 1.0 section 2.11).
    private init(normalizing bytes: [UInt8]) {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var k = 0
        while k < bytes.count {
            let c = bytes[k]
            if c == 13 {
                out.append(10)
                if k + 1 < bytes.count, bytes[k + 1] == 10 { k += 1 }
            } else {
                out.append(c)
            }
            k += 1
        }
        // A UTF-8 byte order mark is not content.
        if out.starts(with: [0xEF, 0xBB, 0xBF]) { out.removeFirst(3) }
        b = out
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }

    private static func isNameByte(_ c: UInt8) -> Bool {
        !isSpace(c) && c != UInt8(ascii: "/") && c != UInt8(ascii: ">") && c != UInt8(ascii: "=")
            && c != UInt8(ascii: "<") && c != UInt8(ascii: "\"") && c != UInt8(ascii: "'")
    }

    private func at(_ s: String) -> Bool { b[i...].starts(with: Array(s.utf8)) }

    private mutating func skipSpace() { while i < b.count, Self.isSpace(b[i]) { i += 1 } }

    /// The index of `s` at or after `from`.
    private func find(_ s: String, from: Int) -> Int? {
        let n = Array(s.utf8)
        var k = from
        while k + n.count <= b.count {
            if b[k] == n[0], b[k..<(k + n.count)].elementsEqual(n) { return k }
            k += 1
        }
        return nil
    }

    private mutating func name() -> String? {
        let start = i
        while i < b.count, Self.isNameByte(b[i]) { i += 1 }
        guard i > start else { return nil }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    private mutating func document() -> XMLDocument? {
        var nodes: [XMLNode] = []
        if at("<?xml") && i + 5 < b.count && Self.isSpace(b[i + 5]) {
            guard let end = find("?>", from: i) else { return nil }
            i = end + 2
        }
        var roots = 0
        while true {
            skipSpace()
            guard i < b.count else { break }
            guard b[i] == UInt8(ascii: "<") else { return nil }
            if at("<!--") {
                guard let c = comment() else { return nil }
                nodes.append(c)
            } else if at("<?") {
                guard let p = processingInstruction() else { return nil }
                nodes.append(p)
            } else if at("<!DOCTYPE") {
                guard roots == 0, let end = find(">", from: i) else { return nil }
                i = end + 1
            } else {
                roots += 1
                guard roots == 1, let e = element() else { return nil }
                nodes.append(e)
            }
        }
        return roots == 1 ? XMLDocument(nodes: nodes) : nil
    }

    private mutating func comment() -> XMLNode? {
        guard let end = find("-->", from: i + 4) else { return nil }
        let node = XMLNode(.comment, content: String(decoding: b[(i + 4)..<end], as: UTF8.self))
        i = end + 3
        return node
    }

    private mutating func processingInstruction() -> XMLNode? {
        i += 2
        guard let target = name(), target.lowercased() != "xml", let end = find("?>", from: i) else { return nil }
        skipSpace()
        let node = XMLNode(
            .processingInstruction, name: target, content: String(decoding: b[min(i, end)..<end], as: UTF8.self))
        i = end + 2
        return node
    }

    /// An element from its `<` to the end of its closing tag.
    private mutating func element() -> XMLNode? {
        i += 1
        guard let tag = name() else { return nil }
        let node = XMLNode(.element, name: tag)
        while true {
            skipSpace()
            guard i < b.count else { return nil }
            if b[i] == UInt8(ascii: "/") {
                guard i + 1 < b.count, b[i + 1] == UInt8(ascii: ">") else { return nil }
                i += 2
                return node
            }
            if b[i] == UInt8(ascii: ">") {
                i += 1
                break
            }
            guard let attr = name() else { return nil }
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "=") else { return nil }
            i += 1
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") else { return nil }
            let quote = b[i]
            i += 1
            let start = i
            while i < b.count, b[i] != quote {
                if b[i] == UInt8(ascii: "<") { return nil }
                i += 1
            }
            guard i < b.count, let value = Self.decode(b[start..<i], inAttribute: true) else { return nil }
            i += 1
            if attr == "xmlns" || attr.hasPrefix("xmlns:") {
                let prefix = attr == "xmlns" ? nil : String(attr.dropFirst(6))
                guard !node.namespaces.contains(where: { $0.prefix == prefix }) else { return nil }
                node.namespaces.append((prefix, value))
            } else {
                guard !node.attributes.contains(where: { $0.name == attr }) else { return nil }
                node.attributes.append((attr, value))
            }
        }
        // Content up to the closing tag.
        var textStart = i
        func flushText(_ p: inout XMLParser, upTo end: Int) -> Bool {
            guard end > textStart else { return true }
            guard let text = Self.decode(p.b[textStart..<end], inAttribute: false) else { return false }
            node.append(XMLNode(.text, content: text))
            return true
        }
        while i < b.count {
            guard b[i] == UInt8(ascii: "<") else {
                i += 1
                continue
            }
            guard flushText(&self, upTo: i) else { return nil }
            if at("</") {
                i += 2
                guard let closing = name(), closing == tag else { return nil }
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ">") else { return nil }
                i += 1
                return node
            } else if at("<!--") {
                guard let c = comment() else { return nil }
                node.append(c)
            } else if at("<![CDATA[") {
                guard let end = find("]]>", from: i + 9) else { return nil }
                node.append(XMLNode(.cdata, content: String(decoding: b[(i + 9)..<end], as: UTF8.self)))
                i = end + 3
            } else if at("<?") {
                guard let p = processingInstruction() else { return nil }
                node.append(p)
            } else {
                guard let child = element() else { return nil }
                node.append(child)
            }
            textStart = i
        }
        return nil
    }

    /// Replaces the predefined entities and character references; in an attribute value,
    /// literal tabs and newlines become spaces (attribute-value normalization).
    static func decode(_ raw: ArraySlice<UInt8>, inAttribute: Bool) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var k = raw.startIndex
        while k < raw.endIndex {
            let c = raw[k]
            if c == UInt8(ascii: "&") {
                guard let semi = raw[k...].firstIndex(of: UInt8(ascii: ";")) else { return nil }
                let ref = String(decoding: raw[(k + 1)..<semi], as: UTF8.self)
                switch ref {
                case "lt": out.append(UInt8(ascii: "<"))
                case "gt": out.append(UInt8(ascii: ">"))
                case "amp": out.append(UInt8(ascii: "&"))
                case "quot": out.append(UInt8(ascii: "\""))
                case "apos": out.append(UInt8(ascii: "'"))
                default:
                    guard ref.hasPrefix("#") else { return nil }
                    let digits = ref.dropFirst()
                    let value =
                        digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
                    guard let value, let scalar = Unicode.Scalar(value) else { return nil }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                }
                k = semi + 1
                continue
            }
            if inAttribute, c == 9 || c == 10 || c == 13 {
                out.append(32)
            } else {
                out.append(c)
            }
            k += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

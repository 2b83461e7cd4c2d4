/// Writes `XMLNode`s as libxml2's `xmlDocDumpFormatMemory(doc, ..., 1)` does for a document
/// without an encoding (libxml2 2.9's xmlsave.c): `<?xml version="1.0"?>`, each top-level
/// node on a line, elements indented by two spaces unless one of their children is text or
/// CDATA, childless elements as `<a/>`, characters outside ASCII as `&#xHH;`.
enum XMLWriter {
    /// The serialized document of `nodes` (its top-level nodes).
    static func document(_ nodes: [XMLNode]) -> [UInt8] {
        var out = Array("<?xml version=\"1.0\"?>\n".utf8)
        for node in nodes {
            write(node, level: 0, format: true, into: &out)
            out.append(10)
        }
        return out
    }

    private static func indent(_ level: Int, into out: inout [UInt8]) {
        out.append(contentsOf: repeatElement(32, count: 2 * min(level, 60)))
    }

    private static func write(_ node: XMLNode, level: Int, format: Bool, into out: inout [UInt8]) {
        switch node.kind {
        case .text:
            escapeText(node.content, into: &out)
        case .cdata:
            out += Array("<![CDATA[".utf8) + Array(node.content.utf8) + Array("]]>".utf8)
        case .comment:
            out += Array("<!--".utf8) + Array(node.content.utf8) + Array("-->".utf8)
        case .processingInstruction:
            out += Array("<?".utf8) + Array(node.name.utf8)
            if !node.content.isEmpty { out += [32] + Array(node.content.utf8) }
            out += Array("?>".utf8)
        case .element:
            out.append(UInt8(ascii: "<"))
            out += Array(node.name.utf8)
            for ns in node.namespaces {
                out += Array(" xmlns".utf8)
                if let prefix = ns.prefix { out += [UInt8(ascii: ":")] + Array(prefix.utf8) }
                out.append(UInt8(ascii: "="))
                quoted(ns.href, into: &out)
            }
            for attribute in node.attributes {
                out += [32] + Array(attribute.name.utf8) + Array("=\"".utf8)
                escapeAttribute(attribute.value, into: &out)
                out.append(UInt8(ascii: "\""))
            }
            guard !node.children.isEmpty else {
                out += Array("/>".utf8)
                return
            }
            out.append(UInt8(ascii: ">"))
            let childFormat = format && !node.children.contains { $0.kind == .text || $0.kind == .cdata }
            if childFormat { out.append(10) }
            for child in node.children {
                if childFormat, child.kind == .element || child.kind == .comment || child.kind == .processingInstruction
                {
                    indent(level + 1, into: &out)
                }
                write(child, level: level + 1, format: childFormat, into: &out)
                if childFormat { out.append(10) }
            }
            if childFormat { indent(level, into: &out) }
            out += Array("</".utf8) + Array(node.name.utf8) + [UInt8(ascii: ">")]
        }
    }

    /// `xmlBufWriteQuotedString`: double quotes, single ones when the text has a double
    /// quote, `&quot;` when it has both.
    private static func quoted(_ s: String, into out: inout [UInt8]) {
        let hasDouble = s.contains("\"")
        if hasDouble, !s.contains("'") {
            out += [UInt8(ascii: "'")] + Array(s.utf8) + [UInt8(ascii: "'")]
            return
        }
        out.append(UInt8(ascii: "\""))
        out += Array((hasDouble ? s.replacingAll("\"", with: "&quot;") : s).utf8)
        out.append(UInt8(ascii: "\""))
    }

    /// `&#xHH;` with upper-case digits (`xmlSerializeHexCharRef`).
    private static func hexReference(_ v: UInt32, into out: inout [UInt8]) {
        out += Array("&#x".utf8) + Array(String(v, radix: 16, uppercase: true).utf8) + [UInt8(ascii: ";")]
    }

    /// Text content (`xmlEscapeEntities`).
    static func escapeText(_ s: String, into out: inout [UInt8]) {
        for u in s.unicodeScalars {
            switch u {
            case "<": out += Array("&lt;".utf8)
            case ">": out += Array("&gt;".utf8)
            case "&": out += Array("&amp;".utf8)
            case "\r": out += Array("&#13;".utf8)
            default:
                if u.value >= 0x80 { hexReference(u.value, into: &out) } else { out.append(UInt8(u.value)) }
            }
        }
    }

    /// An attribute value (`xmlBufAttrSerializeTxtContent`).
    static func escapeAttribute(_ s: String, into out: inout [UInt8]) {
        for u in s.unicodeScalars {
            switch u {
            case "<": out += Array("&lt;".utf8)
            case ">": out += Array("&gt;".utf8)
            case "&": out += Array("&amp;".utf8)
            case "\"": out += Array("&quot;".utf8)
            case "\n": out += Array("&#10;".utf8)
            case "\r": out += Array("&#13;".utf8)
            case "\t": out += Array("&#9;".utf8)
            default:
                if u.value >= 0x80 { hexReference(u.value, into: &out) } else { out.append(UInt8(u.value)) }
            }
        }
    }
}

extension String {
    /// The string with every `target` replaced.
    func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

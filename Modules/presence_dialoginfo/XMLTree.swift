/// A small XML tree as libxml2 builds it (`xmlParseMemory` with its defaults: blank text
/// kept, the predefined entities and character references replaced, line ends and attribute
/// whitespace normalized) and written as `xmlDocDumpFormatMemory(doc, ..., 1)` writes it.
/// Kamailio's presence_dialoginfo works on libxml2 trees; this gives the same bytes for
/// what dialog-info documents contain (no DTD, no entities of their own).
final class XMLNode {
    enum Kind {
        case element, text, comment, processingInstruction, cdata
    }

    let kind: Kind
    /// The qualified name of an element (`prefix:local`), the target of a processing
    /// instruction.
    var name: String
    /// Text, comment, CDATA or processing-instruction content (decoded).
    var content: String
    /// `xmlns` and `xmlns:prefix` declarations (prefix nil for the default), in order.
    var namespaces: [(prefix: String?, href: String)] = []
    /// The other attributes, qualified names with decoded values, in order.
    var attributes: [(name: String, value: String)] = []
    var children: [XMLNode] = []
    weak var parent: XMLNode?

    init(_ kind: Kind, name: String = "", content: String = "") {
        self.kind = kind
        self.name = name
        self.content = content
    }

    /// The name without its prefix (libxml2's `node->name`).
    var localName: Substring {
        guard let colon = name.firstIndex(of: ":") else { return Substring(name) }
        return name[name.index(after: colon)...]
    }

    /// The prefix of the element's name, if any (`node->ns->prefix`).
    var prefix: Substring? {
        guard let colon = name.firstIndex(of: ":") else { return nil }
        return name[..<colon]
    }

    /// The value of the attribute `name` (exact, `xmlGetProp`).
    func attribute(_ name: String) -> String? { attributes.first { $0.name == name }?.value }

    /// The next node of the same parent.
    var nextSibling: XMLNode? {
        guard let parent, let i = parent.children.firstIndex(where: { $0 === self }), i + 1 < parent.children.count
        else { return nil }
        return parent.children[i + 1]
    }

    /// `xmlNodeGetContent`: the text of a text-like node, the concatenated text of an element.
    var textContent: String {
        switch kind {
        case .text, .cdata, .comment, .processingInstruction: return content
        case .element:
            return children.filter { $0.kind != .comment && $0.kind != .processingInstruction }
                .map(\.textContent).joined()
        }
    }

    /// Removes the node from its parent (`xmlUnlinkNode`).
    func unlink() {
        if let parent, let i = parent.children.firstIndex(where: { $0 === self }) { parent.children.remove(at: i) }
        parent = nil
    }

    /// Appends `child` (`xmlAddChild`): adjacent text nodes merge, as libxml2's do.
    func append(_ child: XMLNode) {
        child.unlink()
        if child.kind == .text, let last = children.last, last.kind == .text {
            last.content += child.content
            return
        }
        child.parent = self
        children.append(child)
    }
}

/// A parsed document: the nodes before, at and after the root element.
struct XMLDocument {
    var nodes: [XMLNode]
    var root: XMLNode? { nodes.first { $0.kind == .element } }
}

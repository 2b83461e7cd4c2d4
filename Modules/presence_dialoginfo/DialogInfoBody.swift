/// The NOTIFY bodies of the `dialog` event (Kamailio's presence_dialoginfo notify_body.c):
/// the published dialog-info documents of a presentity aggregated into one, and the
/// per-watcher `version`.
enum DialogInfoBody {
    /// Kamailio's `DIALOGINFO_EMPTY_BODY` (its continuation lines keep their tabs).
    static let emptyBody =
        "<dialog-info>\t<dialog id=\"615293b33c62dec073e05d9421e9f48b\" direction=\"recipient\">\t<state>terminated</state>\t</dialog>\t</dialog-info>"

    /// The placeholder of the version, replaced per watcher (11 characters: a signed 32-bit
    /// integer).
    static let versionPlaceholder = "00000000000"

    /// `dlginfo_agg_nbody`: nil without publications unless `dummy` (`force_dummy_dialog`),
    /// which then gives the aggregate of the empty body.
    static func aggregate(user: String, domain: String, bodies: [[UInt8]], singleDialog: Bool, dummy: Bool)
        -> [UInt8]?
    {
        if bodies.isEmpty {
            guard dummy else { return nil }
            return aggregateDocuments(
                user: user, domain: domain, bodies: [Array(emptyBody.utf8)], singleDialog: singleDialog)
        }
        return aggregateDocuments(user: user, domain: domain, bodies: bodies, singleDialog: singleDialog)
    }

    /// `agregate_xmls`: a new `<dialog-info>` (version placeholder, `state="full"`, the
    /// presentity as `entity`) holding the child elements of every document's root, or with
    /// `singleDialog` and several documents only the most relevant one. nil when a document
    /// does not parse.
    static func aggregateDocuments(user: String, domain: String, bodies: [[UInt8]], singleDialog: Bool)
        -> [UInt8]?
    {
        var documents: [XMLDocument] = []
        for body in bodies {
            guard let d = XMLParser.parse(body) else { return nil }
            documents.append(d)
        }
        guard !documents.isEmpty else { return nil }
        let root = XMLNode(.element, name: "dialog-info")
        root.namespaces = [(nil, "urn:ietf:params:xml:ns:dialog-info")]
        root.attributes = [("version", versionPlaceholder), ("state", "full"), ("entity", "sip:\(user)@\(domain)")]
        let single = singleDialog && documents.count > 1
        var selection = SingleDialogSelection()
        for (i, document) in documents.enumerated() {
            guard let published = document.root else { return nil }
            for node in published.children where node.kind == .element {
                if single {
                    selection.consider(node, index: i, documents: documents)
                } else {
                    root.append(node)
                }
            }
        }
        if single {
            guard let winner = selection.winner else { return nil }
            root.append(winner)
        }
        return XMLWriter.document([root])
    }

    /// `dlginfo_body_setversion`: the body with the watcher's version in place of the
    /// placeholder, written again; nil for a body that has no placeholder (not built here).
    static func settingVersion(_ body: [UInt8], version: Int) -> [UInt8]? {
        guard body.count >= 41 else { return nil }
        let key = Array("version=".utf8)
        var start: Int? = nil
        var k = 34
        while k + key.count <= body.count {
            if body[k..<(k + key.count)].elementsEqual(key) {
                start = k + key.count + 1
                break
            }
            k += 1
        }
        guard let start, body[start...].starts(with: Array((versionPlaceholder + "\"").utf8)) else { return nil }
        var value = Array("\(Int32(truncatingIfNeeded: version))\"".utf8)
        value += repeatElement(32, count: max(0, 12 - value.count))
        var out = body
        out.replaceSubrange(start..<(start + 12), with: value)
        guard let document = XMLParser.parse(out) else { return nil }
        return XMLWriter.document(document.nodes)
    }
}

/// The choice of `force_single_dialog` among the dialogs of several documents, in
/// Kamailio's order of importance: early, confirmed, proceeding, trying, terminated (each
/// state only when no later state of the same dialog was published).
struct SingleDialogSelection {
    private var dialogID: String? = nil
    private var dialogIndex = -1
    private var terminated: XMLNode? = nil
    private var early: XMLNode? = nil
    private var confirmed: XMLNode? = nil
    private var proceeding: XMLNode? = nil
    private var trying: XMLNode? = nil
    private(set) var winner: XMLNode? = nil

    static let tryingFlag = 1
    static let proceedingFlag = 2
    static let earlyFlag = 4
    static let confirmedFlag = 8
    static let terminatedFlag = 16

    mutating func consider(_ node: XMLNode, index i: Int, documents: [XMLDocument]) {
        if node.localName.lowercased() == "dialog" {
            dialogID = node.attribute("id")
            if dialogID != nil { dialogIndex = i }
        }
        guard let state = DialogInfoSearch.content(of: "state", from: node) else { return }
        let id = dialogID
        let relevant = { DialogInfoSearch.relevantStates(of: id, in: documents) }
        switch state.lowercased() {
        case "terminated": terminated = node
        case "confirmed" where dialogIndex == i: if relevant() < Self.terminatedFlag { confirmed = node }
        case "early" where dialogIndex == i: if relevant() < Self.confirmedFlag { early = node }
        case "proceeding" where dialogIndex == i: if relevant() < Self.earlyFlag { proceeding = node }
        case "trying" where dialogIndex == i: if relevant() < Self.proceedingFlag { trying = node }
        default: break
        }
        winner = early ?? confirmed ?? proceeding ?? trying ?? terminated ?? node
    }
}

/// Kamailio's tree searches (presence_dialoginfo pidf.c and `check_relevant_state`).
enum DialogInfoSearch {
    /// `xmlNodeGetNodeByName`: `node`, its descendants, then its following siblings and
    /// theirs, for an element named `name` (case-insensitive, prefix ignored).
    static func find(_ name: String, from node: XMLNode?) -> XMLNode? {
        var current = node
        while let cur = current {
            if cur.kind == .element, cur.localName.lowercased() == name { return cur }
            if let match = find(name, from: cur.children.first) { return match }
            current = cur.nextSibling
        }
        return nil
    }

    /// `xmlNodeGetNodeContentByName`: the content of the first child of that element.
    static func content(of name: String, from node: XMLNode) -> String? {
        find(name, from: node)?.children.first?.textContent
    }

    /// `check_relevant_state`: the sum of the state flags (terminated 16, confirmed 8,
    /// early 4, proceeding 2, trying 1) published for `dialogID` across the documents.
    static func relevantStates(of dialogID: String?, in documents: [XMLDocument]) -> Int {
        guard let dialogID else { return 0 }
        var result = 0
        var currentID: String? = nil
        var currentIndex = -1
        for (i, document) in documents.enumerated() {
            guard let root = document.root else { continue }
            for node in root.children where node.kind == .element {
                if node.localName.lowercased() == "dialog" {
                    currentID = node.attribute("id")
                    if currentID != nil { currentIndex = i }
                }
                guard let id = currentID, let state = content(of: "state", from: node) else { continue }
                guard currentIndex == i, id.lowercased() == dialogID.lowercased() else { continue }
                switch state.lowercased() {
                case "terminated": result += SingleDialogSelection.terminatedFlag
                case "confirmed": result += SingleDialogSelection.confirmedFlag
                case "early": result += SingleDialogSelection.earlyFlag
                case "proceeding": result += SingleDialogSelection.proceedingFlag
                case "trying": result += SingleDialogSelection.tryingFlag
                default: break
                }
            }
        }
        return result
    }

    /// `check_if_dialog`: the `id` of the first `<dialog>` child of the root; nil when
    /// there is none or the body does not parse.
    static func firstDialogID(_ body: [UInt8]) -> String? {
        guard let document = XMLParser.parse(body), let root = document.nodes.first else { return nil }
        return root.children.first { $0.kind == .element && $0.localName.lowercased() == "dialog" }?.attribute("id")
    }

    /// `ps_match_dialog_state_from_body(body, "terminated") == 1`: the `<state>` of every
    /// `<dialog>` of the root (those with one) is `terminated`, and there is at least one.
    static func allDialogsTerminated(_ body: [UInt8]) -> Bool {
        guard let document = XMLParser.parse(body), let root = document.nodes.first else { return false }
        let dialogs = root.children.filter { $0.kind == .element && $0.localName.lowercased() == "dialog" }
        var matched = false
        for dialog in dialogs {
            let state = dialog.children.first { $0.kind == .element && $0.localName.lowercased() == "state" }
            guard let state else { continue }
            guard state.textContent == "terminated" else { return false }
            matched = true
        }
        return matched
    }
}

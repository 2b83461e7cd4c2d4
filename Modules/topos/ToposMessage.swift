import SwiftletSDK

/// The module parameters that shape the rewriting, fixed at start-up.
struct ToposSettings: Sendable {
    /// `contact_host`: the host of the generated Contacts (empty: our Record-Route's).
    var contactHost = ""
    /// `contact_mode`: 0 the key in the user part, 1 in the `cparam_name` URI param (the
    /// user from the message), 2 in the param (the user from the xavu fields).
    var contactMode = 0
    var cparamName = "tps"
    /// `xavu_cfg`: the root of the `xavu_field_*` values.
    var xavuCfg = ""
    /// `xavu_field_a_contact`: the user of the Contact sent to the callee (`contact_mode` 2).
    var xavuFieldAContact = ""
    /// `xavu_field_b_contact`: the user of the Contact sent to the caller (`contact_mode` 2).
    var xavuFieldBContact = ""
    /// `xavu_field_contact_host`: the host of the generated Contacts, before `contact_host`.
    var xavuFieldContactHost = ""
    /// `rr_update`: the Record-Route sets are updated from in-dialog requests and replies.
    var rrUpdate = false
    /// `header_mode`: 1 one Via per header, 2 one Record-Route per header, 4 one Route per header.
    var headerMode = 0
    /// `methods_nocontact`: requests of these methods get no Contact.
    var methodsNoContact: [SIPMethod] = [.cancel, .bye, .prack]
    /// `context`: stored as `x_context` and appended to new uids.
    var context = ""
}

/// Header texts topos adds and reads.
enum ToposHeader {
    /// Carries the dialog's `a_uuid` from a received in-dialog request to its sending.
    static let xuuid = "P-SR-XUID"
    /// Carries the branch of our Via from a received reply to its sending.
    static let xbranch = "P-SR-XBranch"
}

extension SIPMessage {
    /// The text of a range of the buffer.
    func text(_ r: Range<Int>) -> String { String(decoding: buffer[r], as: UTF8.self) }

    /// The first header named `name` (case-insensitive), if any.
    func header(named name: String) -> HeaderField? { firstHeader(named: name) }
}

/// Kamailio's `tps_pack_message`: what a message carries in its Via, Record-Route and
/// Contact, as text.
func toposPack(_ msg: SIPMessage, _ s: ToposSettings) -> TopologyRecord? {
    var td = TopologyRecord()
    let b = msg.buffer
    guard let vias = try? msg.vias() else { return nil }
    var rest: [String] = []
    for (i, via) in vias.enumerated() {
        let body = toposViaBody(b, via)
        if i == 0 {
            td.xVia1 = msg.text(body)
            if let br = via.branch?.value { td.xVBranch1 = msg.text(br) }
        } else {
            rest.append(msg.text(body))
        }
    }
    td.xVia2 = rest.joined(separator: ",")
    let isRequest = msg.isRequest
    let rrUpdate = s.rrUpdate && !(isRequest && (msg.toTag ?? "").isEmpty)
    let rrs = msg.firstHeader(.recordRoute) == nil ? [] : ((try? msg.nameAddrs(.recordRoute)) ?? [])
    let uris = rrs.map { msg.text($0.uri) }
    let entries = uris.map { "<\($0)>" }
    if isRequest || rrUpdate {
        var r2 = false
        if let first = uris.first {
            td.bsContact = first
            if first.contains(";r2=on") {
                r2 = true
                if uris.count > 1 { td.asContact = uris[1] }
            } else {
                td.asContact = first
            }
        }
        let own = r2 ? 2 : 1
        if isRequest || entries.count > own {
            td.sRR = entries.prefix(own).joined(separator: ",")
            td.aRR = entries.dropFirst(own).joined(separator: ",")
        } else {
            // A reply with rr_update and no entry past ours: Kamailio leaves s_rr empty.
            td.aRR = entries.joined(separator: ",")
        }
        if rrUpdate { td.bRR = entries.joined(separator: ",") }
    } else {
        td.bRR = entries.joined(separator: ",")
    }
    td.xRR = td.aRR
    if !isRequest, let code = msg.statusCode, code >= 180, code < 199 { td.yRR = td.bRR }
    td.xContext = s.context
    return td
}

/// The Via body from `SIP/2.0/...` to its end, trailing spaces and commas trimmed
/// (Kamailio's `tps_skip_rw`).
func toposViaBody(_ b: [UInt8], _ via: ViaHeader) -> Range<Int> {
    var end = via.range.upperBound
    while end > via.protocolName.lowerBound,
        [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"), UInt8(ascii: ",")]
            .contains(b[end - 1])
    {
        end -= 1
    }
    return via.protocolName.lowerBound..<end
}

/// Kamailio's `tps_dlg_detect_direction`: downstream when the From-tag is the stored
/// `a_tag`.
func toposDirection(_ msg: SIPMessage, _ sd: TopologyRecord) -> Int {
    (msg.fromTag ?? "") == sd.aTag ? TopologyRecord.downstream : TopologyRecord.upstream
}

/// Header additions and removals on a message being rewritten.
struct ToposRewrite {
    var ed: MessageEditor
    let settings: ToposSettings
    var changed = false

    init(_ msg: SIPMessage, _ settings: ToposSettings) {
        ed = MessageEditor(msg)
        self.settings = settings
    }

    var msg: SIPMessage { ed.message }

    /// Removes every header of a kind (Kamailio's `tps_remove_headers`).
    mutating func remove(_ name: HeaderName) {
        if ed.removeHeaders(name) > 0 { changed = true }
    }

    /// Removes the first header named `name` (Kamailio's `tps_remove_name_headers`).
    mutating func remove(named name: String) {
        guard let h = msg.header(named: name) else { return }
        ed.removeHeader(h)
        changed = true
    }

    /// `name: body` at the end (or, `first`, at the start) of the headers; nothing for an
    /// empty body (Kamailio's `tps_add_headers`).
    mutating func add(_ name: String, _ body: String, first: Bool = false) {
        guard !body.isEmpty else { return }
        if first { ed.prependHeader("\(name): \(body)") } else { ed.appendHeader("\(name): \(body)") }
        changed = true
    }

    /// `name: body`, split into one header per comma-separated value when `split`.
    mutating func add(_ name: String, _ body: String, split: Bool) {
        guard split else { return add(name, body) }
        for value in toposSplit(body) { add(name, value) }
    }

    /// The Via stack below ours, appended (`tps_reappend_via`).
    mutating func reappendVia(_ body: String) { add("Via", body, split: settings.headerMode & 1 != 0) }

    /// A Record-Route set, appended (`tps_reappend_rr`).
    mutating func reappendRR(_ body: String) { add("Record-Route", body, split: settings.headerMode & 2 != 0) }

    /// A Route set, appended; `reversed`: one header per entry, last entry first
    /// (`tps_reappend_route`).
    mutating func reappendRoute(_ body: String, reversed: Bool) {
        let values = toposSplit(body)
        guard !values.isEmpty else { return }
        if reversed && values.count > 1 {
            for v in values.reversed() { add("Route", v) }
        } else {
            add("Route", values.joined(separator: ","), split: settings.headerMode & 4 != 0)
        }
    }

    /// The generated Contact, unless the method never carries one (`tps_reinsert_contact`).
    mutating func reinsertContact(_ body: String) {
        guard let method = try? msg.cseq().method, !settings.methodsNoContact.contains(method) else { return }
        add("Contact", body)
    }

    func build() -> [UInt8]? { try? ed.build() }
}

/// The comma-separated values of a stored set, trimmed (of spaces, tabs, CR, LF and NUL),
/// empty ones left out.
func toposSplit(_ body: String) -> [String] {
    let bytes = body.utf8
    var out: [String] = []
    var start = bytes.startIndex
    while start < bytes.endIndex {
        let end = bytes[start...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.endIndex
        let part = toposTrimmed(body[start..<end], blanks: toposSetBlanks)
        if !part.isEmpty { out.append(part) }
        start = end < bytes.endIndex ? bytes.index(after: end) : end
    }
    return out
}

/// Spaces, tabs, CR, LF and NUL: what `toposSplit` trims.
let toposSetBlanks: [UInt8] = [32, 9, 13, 10, 0]

/// `text` without the `blanks` bytes at both ends.
func toposTrimmed(_ text: Substring, blanks: [UInt8]) -> String {
    let u = text.utf8
    guard let first = u.firstIndex(where: { !blanks.contains($0) }),
        let last = u.lastIndex(where: { !blanks.contains($0) })
    else { return "" }
    return String(text[first...last])
}

/// Spaces and tabs: what is trimmed of a Call-ID (`tps_storage_link_msg`).
let toposCallIDBlanks: [UInt8] = [32, 9]

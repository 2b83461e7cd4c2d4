import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Unique ids for new dialogs (Kamailio's `sruid` with prefix `tpsh` and `SRUID_INC`):
/// `tpsh-<hex start time>-<hex pid>-<counter in hex, least significant digit first>`.
final class ToposUIDGenerator: @unchecked Sendable {
    private let mutex = ToposMutex()
    private let base: String
    private var counter: UInt64 = 0

    init(now: Int) { base = "tpsh-\(String(now, radix: 16))-\(String(getpid(), radix: 16))-" }

    /// The next id, with `-<context>` appended when one is given.
    func next(context: String) -> String {
        let n = mutex.with {
            counter &+= 1
            return counter
        }
        let id = base + String(String(n, radix: 16).reversed())
        return context.isEmpty ? id : id + "-" + context
    }
}

extension ToposEngine {
    /// Kamailio's `tps_storage_fill_contact`: the Contact generated for one side from our
    /// Record-Route URI (`bs_contact` towards the callee, `as_contact` towards the
    /// caller), and the side's uuid. Nothing when there was no Record-Route.
    func fillContact(_ msg: SIPMessage, _ td: inout TopologyRecord, uid: String, direction: Int) -> Bool {
        let down = direction == TopologyRecord.downstream
        let source = down ? td.bsContact : td.asContact
        guard !source.isEmpty else { return true }
        let sb = Array(source.utf8)
        guard let uri = try? URIComponents.parse(sb, 0..<sb.count) else { return false }
        let side = down ? "b" : "a"
        let scheme = source.prefix { $0 != ":" }
        var host = settings.contactHost.isEmpty ? String(decoding: sb[uri.host], as: UTF8.self) : settings.contactHost
        // The xavu field of the host comes first.
        if !settings.xavuCfg.isEmpty, !settings.xavuFieldContactHost.isEmpty,
            let h = ScriptXAVU.string(settings.xavuCfg, settings.xavuFieldContactHost), !h.isEmpty
        {
            host = h
        }
        var tail = ""
        if let port = uri.portRange { tail += ":" + String(decoding: sb[port], as: UTF8.self) }
        if let t = uri.parameters(sb).first(where: { eqi(sb[$0.name], Array("transport".utf8)) }), let v = t.value,
            !v.isEmpty
        {
            tail += ";transport=" + String(decoding: sb[v], as: UTF8.self)
        }
        var contact = "<\(scheme):"
        if settings.contactMode == 1 || settings.contactMode == 2 {
            // The key in a URI param; the user of the caller's Contact (towards the callee)
            // or of the Request-URI (towards the caller) kept (1), or the one of the xavu
            // field a_contact (towards the callee) or b_contact (towards the caller) (2).
            var user = ""
            if settings.contactMode == 2 {
                let field = down ? settings.xavuFieldAContact : settings.xavuFieldBContact
                guard let u = ScriptXAVU.string(settings.xavuCfg, field), !u.isEmpty else {
                    Log.error("topos", "could not evaluate \(down ? "a" : "b")_contact xavu")
                    return false
                }
                user = u
            } else if down {
                guard let c = try? msg.contacts(), c.count == 1, let cu = try? URIComponents.parse(msg.buffer, c[0].uri)
                else { return false }
                user = cu.user.map { msg.text($0) } ?? ""
            } else {
                guard let ru = try? msg.requestURIComponents(), let u = ru.user, !u.isEmpty else { return false }
                user = msg.text(u)
            }
            contact += user.isEmpty && down && settings.contactMode == 1 ? "" : user + "@"
            host += tail + ";\(settings.cparamName)=\(side)\(uid)"
            contact += host
        } else {
            contact += "\(side)\(uid)@\(host)\(tail)"
        }
        contact += ">"
        if down {
            td.bUUID = side + uid
            td.bsContact = contact
        } else {
            td.aUUID = side + uid
            td.asContact = contact
        }
        return true
    }

    /// Kamailio's `tps_storage_link_msg`: the dialog identifiers, the Via stack below ours
    /// and the side's Contact of `msg` into `td`. False for an INVITE/SUBSCRIBE (or its 2xx/3xx)
    /// without exactly one Contact.
    func linkMessage(_ msg: SIPMessage, _ td: inout TopologyRecord, direction: Int) -> Bool {
        guard let callID = msg.callID, let cseq = try? msg.cseq() else { return false }
        td.aCallID = toposTrimmed(Substring(callID), blanks: toposCallIDBlanks)
        td.aTag = msg.fromTag ?? ""
        td.bTag = msg.toTag ?? ""
        td.xTag = direction == TopologyRecord.downstream ? td.aTag : td.bTag
        td.xVia = td.xVia2
        td.sMethod = msg.text(cseq.methodRange)
        td.sCSeq = String(cseq.number)
        guard msg.firstHeader(.contact) != nil else {
            if cseq.method != .invite && cseq.method != .subscribe { return true }
            if let code = msg.statusCode, code < 200 || code >= 400 { return true }
            Log.error("topos", "bad sip message or missing Contact hdr")
            return false
        }
        guard let contacts = try? msg.contacts(), contacts.count == 1 else {
            Log.error("topos", "bad Contact header")
            return false
        }
        let uri = msg.text(contacts[0].uri)
        if msg.isRequest == (direction == TopologyRecord.downstream) {
            td.aContact = uri
        } else {
            td.bContact = uri
        }
        if cseq.method == .subscribe, let e = try? msg.expires() { td.expires = e }
        return true
    }

    /// Kamailio's `tps_storage_record`: new Contacts and uuids (a new uid for an initial
    /// request, the dialog's for an in-dialog one), then the branch record and, for an
    /// initial request, the dialog record.
    func record(_ msg: SIPMessage, _ td: inout TopologyRecord, dialog: Bool, direction: Int) -> ToposRecordResult {
        let uid: String
        if !dialog {
            uid = uids.next(context: currentContext)
        } else if let u = [td.aUUID, td.bUUID].first(where: { !$0.isEmpty }) {
            uid = String(u.dropFirst())
        } else {
            return .invalid
        }
        guard fillContact(msg, &td, uid: uid, direction: TopologyRecord.downstream),
            fillContact(msg, &td, uid: uid, direction: TopologyRecord.upstream),
            linkMessage(msg, &td, direction: direction)
        else {
            Log.error("topos", "failed to store")
            return .invalid
        }
        guard storage.insertBranch(td) >= 0 else {
            Log.error("topos", "failed to store")
            return .storageFailed
        }
        if !dialog {
            if td.asContact.isEmpty && td.bsContact.isEmpty {
                Log.warning("topos", "no local address - do record routing for all initial requests")
            }
            guard storage.insertDialog(td) >= 0 else { return .storageFailed }
        }
        return .recorded
    }

    /// Kamailio's `tps_storage_update_branch`: only for INVITE and SUBSCRIBE, for replies
    /// only 18x.
    func updateBranch(_ msg: SIPMessage, _ md: inout TopologyRecord, _ sd: TopologyRecord, _ mode: TopologyUpdate)
        -> Bool
    {
        guard let method = try? msg.cseq().method, method == .invite || method == .subscribe else { return true }
        if let code = msg.statusCode, code < 180 || code >= 200 { return true }
        guard linkMessage(msg, &md, direction: md.direction) else { return false }
        return storage.updateBranch(msg, md, sd, mode: mode) >= 0
    }

    /// Kamailio's `tps_storage_update_dialog`: only for INVITE and SUBSCRIBE, for replies
    /// only 2xx.
    func updateDialog(_ msg: SIPMessage, _ md: inout TopologyRecord, _ sd: TopologyRecord, _ mode: TopologyUpdate)
        -> Bool
    {
        guard let method = try? msg.cseq().method, method == .invite || method == .subscribe else { return true }
        if let code = msg.statusCode, code < 200 || code >= 300 { return true }
        guard linkMessage(msg, &md, direction: md.direction) else { return false }
        return storage.updateDialog(msg, md, sd, mode: mode) >= 0
    }

    /// Kamailio's `tps_storage_end_dialog`: a BYE, or a SUBSCRIBE with Expires 0.
    func endDialog(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord) {
        guard let method = try? msg.cseq().method else { return }
        guard method == .bye || (method == .subscribe && md.expires == 0) else { return }
        _ = storage.endDialog(msg, md, sd)
    }
}

/// How `record` ended: `invalid` when the message lacks what the records need (it goes out
/// as it is, as in Kamailio), `storageFailed` when the storage refused the records.
enum ToposRecordResult {
    case recorded, invalid, storageFailed
}

/// ASCII case-insensitive equality.
func eqi(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    return zip(a, b).allSatisfy { x, y in
        (x >= 65 && x <= 90 ? x + 32 : x) == (y >= 65 && y <= 90 ? y + 32 : y)
    }
}

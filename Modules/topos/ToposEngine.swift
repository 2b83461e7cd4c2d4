import SwiftletSDK

/// What topos does to the raw bytes of a received or sent message (Kamailio's
/// `tps_msg_received`/`tps_msg_sent` with `tps_request_received`, `tps_response_received`,
/// `tps_request_sent`, `tps_response_sent`). Each returns the rewritten bytes, or nil when
/// the message is left as it is.
final class ToposEngine: @unchecked Sendable {
    let settings: ToposSettings
    let storage: any TopologyStorage
    /// The storage's batching, when it has one (topos_redis).
    let batching: (any TopologyStorageBatching)?
    let uids: ToposUIDGenerator
    /// Kamailio's lock set over the Call-ID (`tps_storage_lock_get`).
    let locks: [ToposMutex]
    /// This instance's slot of `ToposThreadContext` (`tps_set_context()`).
    let contextSlot = ToposThreadContext.newSlot()
    /// For the event routes (set in `mod_init`, read-only afterwards); nil in unit tests.
    var core: CoreContext?
    /// `event_mode`: 1 `topos:msg-outgoing`, 2 `topos:msg-sending`, 4 `topos:msg-incoming`,
    /// 8 `topos:msg-receiving`.
    var eventMode = 15
    /// The sanity module's checks for received requests (`sanity_checks`; set in `mod_init`).
    var sanity: (any SanityCheckAPI)?

    /// What `received`/`sending` return for a message that must not go on: the storage
    /// failed, and sending it would show the topology topos hides.
    static let drop: [UInt8] = []

    init(settings: ToposSettings, storage: any TopologyStorage, now: Int) {
        self.settings = settings
        self.storage = storage
        batching = storage as? any TopologyStorageBatching
        uids = ToposUIDGenerator(now: now)
        locks = (0..<64).map { _ in ToposMutex() }
    }

    /// Runs `body` under the lock of the message's Call-ID; the storage's queued writes are
    /// committed before the lock is released.
    func withLock<T>(_ msg: SIPMessage, _ body: () -> T) -> T {
        withCommittedLock(msg, body).0
    }

    /// `withLock`, with whether the queued writes could be committed.
    func withCommittedLock<T>(_ msg: SIPMessage, _ body: () -> T) -> (T, Bool) {
        var h: UInt32 = 0
        if let r = msg.callIDRange { for c in msg.buffer[r] { h = h &* 31 &+ UInt32(c) } }
        return locks[Int(h % UInt32(locks.count))].with {
            let result = body()
            return (result, (batching?.commit() ?? 0) >= 0)
        }
    }

    // MARK: received

    /// An in-dialog request (Kamailio's `tps_request_received`): the Request-URI becomes the
    /// stored Contact of the other side, the stored Route set is put back.
    func requestReceived(_ msg: SIPMessage) -> [UInt8]? {
        guard var mtsd = pack(msg), dialogUUID(msg, &mtsd) else { return nil }
        let method = (try? msg.cseq().method) ?? .ack
        var direction = TopologyRecord.downstream
        var useBranch = false
        let loaded: TopologyRecord? = withLock(msg) {
            var stsd: TopologyRecord
            switch storage.loadDialog(msg, mtsd) {
            case .failure: return nil
            case .notFound: stsd = TopologyRecord()
            case .found(let d): stsd = d
            }
            if [.bye, .info, .prack, .update].contains(method) && stsd.bContact.isEmpty {
                // No callee Contact yet (early dialog): the INVITE's branch has it.
                if method == .bye || method == .update { direction = toposDirection(msg, stsd) }
                guard linkMessage(msg, &mtsd, direction: direction) else { return nil }
                mtsd.direction = direction
                switch storage.loadBranch(msg, mtsd, mode: 1) {
                case .failure: return nil
                case .notFound: stsd = TopologyRecord()
                case .found(let b): stsd = b
                }
                useBranch = true
            } else {
                direction = toposDirection(msg, stsd)
                mtsd.direction = direction
            }
            return stsd
        }
        guard let stsd = loaded else { return nil }
        var rw = ToposRewrite(msg, settings)
        let up = direction == TopologyRecord.upstream
        let uri = up && !useBranch ? stsd.aContact : stsd.bContact
        if !uri.isEmpty {
            rw.ed.setRequestURI(uri)
            rw.changed = true
        }
        if useBranch && !up {
            rw.reappendRoute(stsd.sRR, reversed: true)
            rw.reappendRoute(stsd.yRR, reversed: true)
        } else {
            rw.reappendRoute(stsd.sRR, reversed: !up)
            if up {
                rw.reappendRoute(stsd.aRR, reversed: false)
            } else {
                rw.reappendRoute(stsd.bRR, reversed: true)
            }
        }
        rw.add(ToposHeader.xuuid, stsd.aUUID)
        if settings.rrUpdate {
            let (updated, committed) = withCommittedLock(msg) {
                updateDialog(msg, &mtsd, stsd, [.replyAttributes, .bRR])
            }
            guard updated, committed else { return nil }
        }
        if method == .subscribe {
            let (updated, committed) = withCommittedLock(msg) { updateDialog(msg, &mtsd, stsd, [.contact, .time]) }
            guard updated, committed else { return nil }
        }
        return rw.changed ? rw.build() : nil
    }

    /// The dialog's uuid from the Request-URI (Kamailio's `tps_dlg_message_update`): its
    /// user (`contact_mode` 0) or its `cparam_name` param (1 and 2), `atpsh-...` or `btpsh-...`.
    func dialogUUID(_ msg: SIPMessage, _ td: inout TopologyRecord) -> Bool {
        guard let ru = try? msg.requestURIComponents() else { return false }
        let b = msg.buffer
        var key: String
        if settings.contactMode == 1 || settings.contactMode == 2 {
            guard ru.parametersRange.count >= 10,
                let p = ru.parameters(b).first(where: { eqi(b[$0.name], Array(settings.cparamName.utf8)) })
            else { return false }
            key = p.value.map { msg.text($0) } ?? ""
        } else {
            guard let u = ru.user, u.count >= 10 else { return false }
            key = msg.text(u)
        }
        if key.hasPrefix("atpsh-") {
            td.aUUID = key
            return true
        }
        if key.hasPrefix("btpsh-") {
            td.aUUID = key
            td.bUUID = key
            return true
        }
        return false
    }

    /// A reply (Kamailio's `tps_response_received`): the Vias below ours and the
    /// Record-Route sets stored with the branch are put back, our branch noted in
    /// `P-SR-XBranch` for the sending.
    func responseReceived(_ msg: SIPMessage) -> [UInt8]? {
        guard var mtsd = pack(msg) else { return nil }
        var storageFailed = false
        let (loaded, committed) = withCommittedLock(msg) { () -> TopologyRecord? in
            let btsd: TopologyRecord
            switch storage.loadBranch(msg, mtsd, mode: 0) {
            case .failure:
                storageFailed = !mtsd.xVBranch1.isEmpty
                return nil
            case .notFound: btsd = TopologyRecord()
            case .found(let b): btsd = b
            }
            let stsd: TopologyRecord
            switch storage.loadDialog(msg, btsd) {
            case .failure: return nil
            case .notFound: stsd = TopologyRecord()
            case .found(let d): stsd = d
            }
            mtsd.direction = toposDirection(msg, stsd)
            guard updateBranch(msg, &mtsd, btsd, [.contact, .replyAttributes]),
                updateDialog(msg, &mtsd, stsd, settings.rrUpdate ? [.replyAttributes, .bRR, .aRR] : .replyAttributes)
            else { return nil }
            return btsd
        }
        // Its writes did not reach the storage: as if it had failed.
        if !committed { storageFailed = true }
        guard let btsd = loaded, committed else {
            guard storageFailed else { return nil }
            // Kamailio forwards it as it is, with the callee's Contact and Record-Routes.
            Log.error("topos", "storage failure: dropping the \(msg.statusCode ?? 0) reply (the sender retransmits)")
            return Self.drop
        }
        var rw = ToposRewrite(msg, settings)
        rw.reappendVia(btsd.xVia)
        rw.reappendRR(btsd.sRR)
        rw.reappendRR(btsd.xRR)
        rw.add(ToposHeader.xbranch, mtsd.xVBranch1)
        return rw.changed ? rw.build() : nil
    }

    // MARK: sent

    /// A request (Kamailio's `tps_request_sent`): recorded (a new dialog for an initial
    /// request), then every Via but ours, every Record-Route and the Contact are removed and
    /// the generated Contact of the side it goes to is put in. Requests generated here
    /// (`local`: one Via) are only recorded.
    func requestSent(_ msg: SIPMessage, dialog: Bool, local: Bool) -> [UInt8]? {
        guard var mtsd = pack(msg) else { return nil }
        var rw = ToposRewrite(msg, settings)
        if dialog {
            guard let h = msg.header(named: ToposHeader.xuuid) else { return nil }
            mtsd.aUUID = msg.text(h.valueRange)
            rw.remove(named: ToposHeader.xuuid)
        }
        var direction = TopologyRecord.downstream
        var storageFailed = false
        let (result, committed) = withCommittedLock(msg) { () -> (TopologyRecord, TopologyRecord)? in
            var ptsd: TopologyRecord?
            var stsd = TopologyRecord()
            if dialog {
                if case .found(let d) = storage.loadDialog(msg, mtsd) {
                    stsd = d
                    ptsd = d
                }
                direction = toposDirection(msg, stsd)
                mtsd.direction = direction
            }
            if case .found(let b) = storage.loadBranch(msg, mtsd, mode: 0) {
                if ptsd == nil { ptsd = b }
            } else {
                let recorded = record(msg, &mtsd, dialog: dialog, direction: direction)
                guard recorded == .recorded else {
                    storageFailed = recorded == .storageFailed
                    return nil
                }
            }
            let found = ptsd ?? mtsd
            if dialog && !local {
                // In the same lock (as Kamailio), so that one commit takes every write.
                endDialog(msg, mtsd, found)
                _ = updateDialog(msg, &mtsd, stsd, settings.rrUpdate ? [.contact, .aRR] : .contact)
            }
            return (found, stsd)
        }
        if !committed { storageFailed = true }
        guard let (ptsd, _) = result, committed else {
            // A request generated here (one Via) shows nothing; any other would go out with
            // every Via, Record-Route and Contact (Kamailio sends it so).
            if local || !storageFailed { return rw.changed ? rw.build() : nil }
            Log.error("topos", "storage failure: not sending the \(msg.methodText) (it would show the topology)")
            return Self.drop
        }
        if local { return rw.changed ? rw.build() : nil }
        rw.remove(.recordRoute)
        rw.remove(.contact)
        rw.remove(.via)
        rw.add("Via", mtsd.xVia1, first: true)
        rw.reinsertContact(direction == TopologyRecord.upstream ? ptsd.asContact : ptsd.bsContact)
        return rw.build()
    }

    /// A reply (Kamailio's `tps_response_sent`) to a request that came through here (it
    /// carries `P-SR-XBranch`): the Record-Route set of the side it goes to replaces the
    /// whole set and the generated Contact replaces the Contact (kept for 3xx, and for
    /// 1xx/4xx without one).
    func responseSent(_ msg: SIPMessage) -> [UInt8]? {
        guard let h = msg.header(named: ToposHeader.xbranch), var mtsd = pack(msg) else { return nil }
        mtsd.xVBranch1 = msg.text(h.valueRange)
        var rw = ToposRewrite(msg, settings)
        rw.remove(named: ToposHeader.xbranch)
        if (try? msg.cseq().method) == .message {
            rw.remove(.recordRoute)
            rw.remove(.contact)
            return rw.build()
        }
        var storageFailed = false
        let loaded: (TopologyRecord, TopologyRecord)? = withLock(msg) {
            let btsd: TopologyRecord
            switch storage.loadBranch(msg, mtsd, mode: 0) {
            case .failure:
                storageFailed = !mtsd.xVBranch1.isEmpty
                return nil
            case .notFound: btsd = TopologyRecord()
            case .found(let b): btsd = b
            }
            switch storage.loadDialog(msg, btsd) {
            case .failure:
                storageFailed = !btsd.aUUID.isEmpty || !btsd.bUUID.isEmpty
                return nil
            case .notFound: return (btsd, TopologyRecord())
            case .found(let d): return (btsd, d)
            }
        }
        guard let (btsd, stsd) = loaded else {
            guard storageFailed else { return rw.build() }
            Log.error("topos", "storage failure: dropping the \(msg.statusCode ?? 0) reply (the sender retransmits)")
            return Self.drop
        }
        let direction = toposDirection(msg, stsd)
        mtsd.direction = direction
        rw.remove(.recordRoute)
        let code = msg.statusCode ?? 0
        let hasContact = msg.firstHeader(.contact) != nil
        let keep =
            (code >= 300 && code < 400) || (code > 100 && code < 200 && !hasContact)
            || (code >= 400 && code < 500 && !hasContact)
        if !keep {
            rw.remove(.contact)
            rw.reinsertContact(direction == TopologyRecord.downstream ? stsd.asContact : stsd.bsContact)
        }
        rw.reappendRR(btsd.xRR)
        guard updateBranch(msg, &mtsd, btsd, .contact) else { return rw.build() }
        _ = updateDialog(msg, &mtsd, stsd, .contact)
        return rw.build()
    }
}

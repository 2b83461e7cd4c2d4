import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// A pthread mutex for state that every worker touches.
final class ToposMutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    func with<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// The `memory` storage (Swiftlet's own): dialog and branch records in this process'
/// memory, with the semantics of the `db` storage (rows of `topos_d` and `topos_t`, matched
/// on the same columns, deleted by the `clean_interval` timer).
final class ToposMemoryStorage: TopologyStorage, @unchecked Sendable {
    let storageName = "memory"
    private let mutex = ToposMutex()
    /// Dialogs by their uid (`a_uuid` without its `a`: `btpsh-...` selects the same one).
    private var dialogs: [Substring: TopologyRecord] = [:]
    /// Branches by their Via branch (`x_vbranch`).
    private var branches: [String: TopologyRecord] = [:]
    /// Branch keys by Call-ID, for the INVITE branch of an early dialog (load mode 1).
    private var branchesByCallID: [String: [String]] = [:]
    let dialogExpire: () -> Int
    let branchExpire: () -> Int
    let now: () -> Int

    init(dialogExpire: @escaping () -> Int, branchExpire: @escaping () -> Int, now: @escaping () -> Int) {
        self.dialogExpire = dialogExpire
        self.branchExpire = branchExpire
        self.now = now
    }

    /// How many dialog and branch records are kept (for tests).
    var counts: (dialogs: Int, branches: Int) { mutex.with { (dialogs.count, branches.count) } }

    private static func dialogKey(_ uuid: String) -> Substring? { uuid.count > 1 ? uuid.dropFirst() : nil }

    func insertDialog(_ td: TopologyRecord) -> Int {
        var r = td.dialogRecord
        r.rectime = now()
        // Without a uuid (no Record-Route) nothing could find it again.
        guard let key = Self.dialogKey(r.aUUID.isEmpty ? r.bUUID : r.aUUID) else { return 0 }
        mutex.with { dialogs[key] = r }
        return 0
    }

    func cleanDialogs() -> Int {
        let t = now()
        let (dexp, bexp) = (dialogExpire(), branchExpire())
        mutex.with {
            // As Kamailio: older than dialog_expire; not confirmed (iflags 0) and older
            // than branch_expire.
            dialogs = dialogs.filter { _, d in
                !(d.rectime <= t - dexp || (d.iflags == 0 && d.rectime <= t - bexp))
            }
        }
        return 0
    }

    func insertBranch(_ td: TopologyRecord) -> Int {
        var r = td.branchRecord
        r.rectime = now()
        mutex.with {
            if branches.updateValue(r, forKey: r.xVBranch1) == nil {
                branchesByCallID[r.aCallID, default: []].append(r.xVBranch1)
            }
        }
        return 0
    }

    func cleanBranches() -> Int {
        let limit = now() - branchExpire()
        mutex.with {
            for (key, b) in branches where b.rectime <= limit {
                branches[key] = nil
                if var keys = branchesByCallID[b.aCallID] {
                    keys.removeAll { $0 == key }
                    branchesByCallID[b.aCallID] = keys.isEmpty ? nil : keys
                }
            }
        }
        return 0
    }

    func loadBranch(_ msg: SIPMessage, _ md: TopologyRecord, mode: Int) -> TopologyLoad {
        if mode == 0 {
            guard !md.xVBranch1.isEmpty else { return .failure }
            return mutex.with {
                guard let b = branches[md.xVBranch1], contextMatches(msg, md, b) else { return .notFound }
                return .found(b)
            }
        }
        // The INVITE (SUBSCRIBE for a SUBSCRIBE or an event NOTIFY) branch of the dialog.
        let method = (try? msg.cseq().method) ?? .invite
        let subscription = method == .subscribe || (method == .notify && msg.firstHeader(.event) != nil)
        let sMethod = subscription ? "SUBSCRIBE" : "INVITE"
        let bTag = md.direction == TopologyRecord.downstream ? md.bTag : md.aTag
        let uuid = md.aUUID.isEmpty ? md.bUUID : md.aUUID
        return mutex.with {
            for key in (branchesByCallID[md.aCallID] ?? []).reversed() {
                guard let b = branches[key], b.bTag == bTag, b.sMethod == sMethod, contextMatches(msg, md, b) else {
                    continue
                }
                if uuid.hasPrefix("a"), b.aUUID != uuid { continue }
                if uuid.hasPrefix("b"), b.bUUID != uuid { continue }
                return .found(b)
            }
            return .notFound
        }
    }

    func loadDialog(_ msg: SIPMessage, _ md: TopologyRecord) -> TopologyLoad {
        guard let key = Self.dialogKey(md.aUUID.isEmpty ? md.bUUID : md.aUUID) else { return .failure }
        return mutex.with {
            guard let d = dialogs[key], md.xContext.isEmpty || d.xContext == md.xContext else { return .notFound }
            return .found(d)
        }
    }

    /// Kamailio's database storage matches a request's branch on its context too (when one
    /// is set).
    private func contextMatches(_ msg: SIPMessage, _ md: TopologyRecord, _ b: TopologyRecord) -> Bool {
        !msg.isRequest || md.xContext.isEmpty || b.xContext == md.xContext
    }

    func updateBranch(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord, mode: TopologyUpdate) -> Int {
        guard !sd.xVBranch1.isEmpty else { return -1 }
        let code = msg.statusCode
        mutex.with {
            guard var b = branches[sd.xVBranch1] else { return }
            if mode.contains(.contact) {
                if !md.aContact.isEmpty { b.aContact = md.aContact }
                if !md.bContact.isEmpty { b.bContact = md.bContact }
            }
            if mode.contains(.replyAttributes), let code, code >= 180, code < 200 {
                b.yRR = md.bRR
                if !md.bTag.isEmpty { b.bTag = md.bTag }
            }
            branches[sd.xVBranch1] = b
        }
        return 0
    }

    func updateDialog(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord, mode: TopologyUpdate) -> Int {
        guard let key = Self.dialogKey(sd.aUUID.hasPrefix("a") ? sd.aUUID : sd.bUUID) else { return -1 }
        let t = now()
        mutex.with {
            guard var d = dialogs[key] else { return }
            for (name, value) in TopologyRecord.dialogChanges(msg, md, sd, mode: mode, now: t) {
                switch name {
                case "iflags": d.iflags = Int(value) ?? d.iflags
                case "rectime": d.rectime = Int(value) ?? d.rectime
                default:
                    if let f = TopologyRecord.dialogFields.first(where: { $0.name == name })?.field {
                        d[keyPath: f] = value
                    }
                }
            }
            dialogs[key] = d
        }
        return 0
    }

    func endDialog(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord) -> Int {
        guard let key = Self.dialogKey(sd.aUUID.hasPrefix("a") ? sd.aUUID : sd.bUUID) else { return -1 }
        let t = now()
        mutex.with {
            dialogs[key]?.rectime = t
            dialogs[key]?.iflags = 0
        }
        return 0
    }
}

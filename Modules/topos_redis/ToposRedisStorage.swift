import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// topos' records in Redis hashes, with Kamailio's key layout (`topos_redis_storage.c`):
/// a dialog in `d:z:<a_uuid>` (a `btpsh-` uuid selects the same key: its first letter
/// becomes `a`) expiring after `dialog_expire` (a SUBSCRIBE's after its Expires), a branch
/// in `b:x:<x_vbranch>` expiring after `branch_expire`, and for the 18x of an INVITE (or
/// SUBSCRIBE) `b:x:<METHOD>:<callid>:<to-tag>:x<uid>` holding the branch key, so that an
/// early-dialog request finds the INVITE's branch. Empty values are not written; cleaning
/// is left to the expiries.
final class ToposRedisStorage: TopologyStorage, @unchecked Sendable {
    let storageName = "redis"
    let redis: any RedisAPI
    let server: String
    let topos: any TopologyStrippingAPI
    let now: () -> Int

    static let dialogPrefix = "d:z:"
    static let branchPrefix = "b:x:"

    init(redis: any RedisAPI, server: String, topos: any TopologyStrippingAPI, now: @escaping () -> Int) {
        self.redis = redis
        self.server = server
        self.topos = topos
        self.now = now
    }

    // MARK: commands

    /// Runs a command; nil (logged) when it got no reply or an error reply.
    @discardableResult
    func run(_ args: [String]) -> RedisReply? {
        switch redis.command(server: server, arguments: args.map { Array($0.utf8) }) {
        case .success(.error(let e)):
            Log.error("topos_redis", "redis error: \(e)")
            return nil
        case .success(let r):
            return r
        case .failure(let f):
            Log.error("topos_redis", "failed to execute redis command: \(f)")
            return nil
        }
    }

    /// `HMSET key f1 v1 ...` with the non-empty values, then `EXPIRE key seconds` (none for 0).
    func store(_ key: String, _ fields: [(String, String)], expire: Int?) -> Int {
        let pairs = fields.filter { !$0.1.isEmpty }
        guard !pairs.isEmpty else { return 0 }
        guard run(["HMSET", key] + pairs.flatMap { [$0.0, $0.1] }) != nil else { return -1 }
        if let expire, expire > 0, run(["EXPIRE", key, String(expire)]) == nil { return -1 }
        return 0
    }

    /// `HGETALL key` as a field map: nil on failure, empty when the key does not exist.
    func fetch(_ key: String) -> [String: String]? {
        guard case .array(let items)? = run(["HGETALL", key]), items.count % 2 == 0 else { return nil }
        var out: [String: String] = [:]
        var i = 0
        while i < items.count {
            guard let name = items[i].text else { return nil }
            if case .string(let v) = items[i + 1] { out[name] = String(decoding: v, as: UTF8.self) }
            i += 2
        }
        return out
    }

    /// The dialog key of a uuid (`d:z:a...`).
    static func dialogKey(_ uuid: String) -> String {
        dialogPrefix + (uuid.hasPrefix("b") ? "a" + uuid.dropFirst() : uuid)
    }

    static func uid(_ uuids: [String]) -> String {
        uuids.first { $0.count > 1 }.map { String($0.dropFirst()) } ?? ""
    }

    // MARK: TopologyStorage

    func insertDialog(_ td: TopologyRecord) -> Int {
        let uuid = td.aUUID.isEmpty ? td.bUUID : td.aUUID
        guard !uuid.isEmpty else {
            Log.info("topos_redis", "no uuid for this message")
            return -1
        }
        var fields = [("rectime", String(now()))]
        fields += TopologyRecord.dialogFields.map { ($0.name, td[keyPath: $0.field]) }
        fields.append(("iflags", String(td.iflags)))
        let expire = td.sMethod == "SUBSCRIBE" ? td.expires : topos.dialogExpire
        return store(Self.dialogKey(uuid), fields, expire: expire)
    }

    func cleanDialogs() -> Int { 0 }

    func insertBranch(_ td: TopologyRecord) -> Int {
        guard !td.xVBranch1.isEmpty else {
            Log.info("topos_redis", "no via branch for this message")
            return -1
        }
        var fields = [("rectime", String(now())), ("direction", String(td.direction))]
        fields += TopologyRecord.branchFields.map { ($0.name, td[keyPath: $0.field]) }
        return store(Self.branchPrefix + td.xVBranch1, fields, expire: topos.branchExpire)
    }

    func cleanBranches() -> Int { 0 }

    func loadBranch(_ msg: SIPMessage, _ md: TopologyRecord, mode: Int) -> TopologyLoad {
        var branch = md.xVBranch1
        if mode == 0 {
            guard !branch.isEmpty else { return .failure }
        } else {
            guard !md.aCallID.isEmpty, !md.bTag.isEmpty else { return .failure }
            let method = (try? msg.cseq().method) ?? .invite
            let sMethod = method == .subscribe || method == .notify ? "SUBSCRIBE" : "INVITE"
            let tag = md.direction == TopologyRecord.downstream ? md.bTag : md.aTag
            let key = "\(Self.branchPrefix)\(sMethod):\(md.aCallID):\(tag):x\(Self.uid([md.aUUID, md.bUUID]))"
            guard let initial = fetch(key) else { return .failure }
            branch = initial["x_vbranch"] ?? ""
        }
        guard !branch.isEmpty else { return .notFound }
        guard let fields = fetch(Self.branchPrefix + branch) else { return .failure }
        guard !fields.isEmpty else { return .notFound }
        var r = TopologyRecord()
        for (name, field) in TopologyRecord.branchFields { r[keyPath: field] = fields[name] ?? "" }
        return .found(r)
    }

    func loadDialog(_ msg: SIPMessage, _ md: TopologyRecord) -> TopologyLoad {
        let uuid = md.aUUID.isEmpty ? md.bUUID : md.aUUID
        guard !uuid.isEmpty else { return .failure }
        guard let fields = fetch(Self.dialogKey(uuid)) else { return .failure }
        guard !fields.isEmpty else { return .notFound }
        var r = TopologyRecord()
        for (name, field) in TopologyRecord.dialogFields { r[keyPath: field] = fields[name] ?? "" }
        r.iflags = fields["iflags"].flatMap { Int($0) } ?? 0
        return .found(r)
    }

    func updateBranch(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord, mode: TopologyUpdate) -> Int {
        guard !sd.aUUID.isEmpty || !sd.bUUID.isEmpty else {
            Log.info("topos_redis", "no uuid for this message")
            return -1
        }
        if let method = try? msg.cseq().method, method == .invite || method == .subscribe {
            // The initial-method key of this To-tag, for requests before the 2xx.
            guard !md.xVBranch1.isEmpty else { return -1 }
            let key =
                "\(Self.branchPrefix)\(md.sMethod):\(md.aCallID):\(md.bTag):x\(Self.uid([md.aUUID, md.bUUID, sd.aUUID, sd.bUUID]))"
            guard
                store(key, [("rectime", String(now())), ("x_vbranch", md.xVBranch1)], expire: topos.branchExpire) >= 0
            else { return -1 }
        }
        var fields: [(String, String)] = []
        if mode.contains(.contact) {
            fields += [("a_contact", md.aContact), ("b_contact", md.bContact)]
        }
        if mode.contains(.replyAttributes), let code = msg.statusCode, code >= 180, code < 200 {
            fields += [("y_rr", md.bRR), ("b_tag", md.bTag)]
        }
        return store(Self.branchPrefix + sd.xVBranch1, fields, expire: nil)
    }

    func updateDialog(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord, mode: TopologyUpdate) -> Int {
        let uuid = sd.aUUID.isEmpty ? sd.bUUID : sd.aUUID
        guard !uuid.isEmpty else {
            Log.info("topos_redis", "no uuid for this message")
            return -1
        }
        let t = now()
        var fields = TopologyRecord.dialogChanges(msg, md, sd, mode: mode.subtracting(.time), now: t)
        if mode.contains(.time) { fields.append(("rectime", String(t))) }
        let key = Self.dialogKey(uuid)
        guard store(key, fields, expire: nil) >= 0 else { return -1 }
        if mode.contains(.time), md.expires > 0, run(["EXPIRE", key, String(md.expires)]) == nil { return -1 }
        return 0
    }

    func endDialog(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord) -> Int {
        let uuid = sd.aUUID.isEmpty ? sd.bUUID : sd.aUUID
        guard !uuid.isEmpty else { return -1 }
        return store(
            Self.dialogKey(uuid), [("rectime", String(now())), ("iflags", "0")], expire: topos.branchExpire)
    }
}

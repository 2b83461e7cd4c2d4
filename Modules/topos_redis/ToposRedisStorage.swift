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
///
/// Writes (`HMSET`, `EXPIRE`) are queued and go out together, with the next read or at
/// `commit` (one round trip; topos commits before it releases its lock and before a
/// message goes out); error replies are only logged, as Kamailio only checks that a reply
/// came.
/// What one received message read (and then wrote) is kept on its thread until a message
/// goes out (`TopologyStorageBatching`), so the sending of a reply or request does not read
/// again what its reception just read.
final class ToposRedisStorage: TopologyStorage, TopologyStorageBatching, @unchecked Sendable {
    let storageName = "redis"
    let redis: any RedisBatchAPI
    let server: String
    let topos: any TopologyStrippingAPI
    let now: () -> Int
    /// This instance's slot in each thread's `ToposRedisThreadState`.
    let slot = ToposRedisThreadState.newSlot()

    static let dialogPrefix = "d:z:"
    static let branchPrefix = "b:x:"
    /// `TopologyRecord.dialogFields` and `branchFields`, made once (read-only).
    nonisolated(unsafe) static let dialogFields = TopologyRecord.dialogFields
    nonisolated(unsafe) static let branchFields = TopologyRecord.branchFields

    init(redis: any RedisBatchAPI, server: String, topos: any TopologyStrippingAPI, now: @escaping () -> Int) {
        self.redis = redis
        self.server = server
        self.topos = topos
        self.now = now
    }

    var state: ToposRedisThreadState.Records { ToposRedisThreadState.current.records(slot) }

    // MARK: commands

    /// Queues `HMSET key f1 v1 ...` with the non-empty values, then `EXPIRE key seconds` (none
    /// for nil or 0); a kept copy of the record gets the same values.
    func store(_ key: String, _ fields: [(String, String)], expire: Int?) -> Int {
        let count = fields.reduce(0) { $0 + ($1.1.isEmpty ? 0 : 1) }
        guard count > 0 else { return 0 }
        var commands = RedisCommands()
        commands.begin(arguments: 2 + 2 * count)
        commands.argument("HMSET")
        commands.argument(key)
        for (name, value) in fields where !value.isEmpty {
            commands.argument(name)
            commands.argument(value)
        }
        if let expire, expire > 0 {
            commands.begin(arguments: 3)
            commands.argument("EXPIRE")
            commands.argument(key)
            commands.argument(expire)
        }
        redis.enqueue(server: server, commands)
        let state = self.state
        if state.keeping, var kept = state.kept[key] {
            for (name, value) in fields where !value.isEmpty { ToposRedisFields.set(name, value, in: &kept.record) }
            kept.exists = true
            state.kept[key] = kept
        }
        return 0
    }

    /// The hash of `key` (`HGETALL`) as a record: nil on failure, `exists` false when there
    /// is no such key. Kept until the next message goes out when `beginMessage` was called.
    func fetch(_ key: String) -> ToposRedisThreadState.Kept? {
        let state = self.state
        if state.keeping, let kept = state.kept[key] { return kept }
        var record = TopologyRecord()
        let result = redis.hashes(server: server, keys: [key]) { _, name, value in
            ToposRedisFields.set(name, value, in: &record)
        }
        switch result {
        case .failure(let f):
            Log.error("topos_redis", "failed to execute redis command: \(f)")
            return nil
        case .success(let counts):
            guard let n = counts.first, n >= 0 else { return nil }
            let kept = ToposRedisThreadState.Kept(record: record, exists: n > 0)
            if state.keeping { state.kept[key] = kept }
            return kept
        }
    }

    // MARK: TopologyStorageBatching

    func beginMessage() {
        let state = self.state
        if !state.kept.isEmpty { state.kept.removeAll(keepingCapacity: true) }
        state.keeping = true
    }

    func endMessage() {
        let state = self.state
        if !state.kept.isEmpty { state.kept.removeAll(keepingCapacity: true) }
        state.keeping = false
    }

    func commit() -> Int {
        guard let failure = redis.flush(server: server) else { return 0 }
        Log.error("topos_redis", "failed to execute redis command: \(failure)")
        // What was kept may hold writes that did not reach Redis.
        state.kept.removeAll(keepingCapacity: true)
        return -1
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
        fields += Self.dialogFields.map { ($0.name, td[keyPath: $0.field]) }
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
        fields += Self.branchFields.map { ($0.name, td[keyPath: $0.field]) }
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
            branch = initial.record.xVBranch1
        }
        guard !branch.isEmpty else { return .notFound }
        guard let kept = fetch(Self.branchPrefix + branch) else { return .failure }
        guard kept.exists else { return .notFound }
        return .found(kept.record)
    }

    func loadDialog(_ msg: SIPMessage, _ md: TopologyRecord) -> TopologyLoad {
        let uuid = md.aUUID.isEmpty ? md.bUUID : md.aUUID
        guard !uuid.isEmpty else { return .failure }
        guard let kept = fetch(Self.dialogKey(uuid)) else { return .failure }
        guard kept.exists else { return .notFound }
        return .found(kept.record)
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
        if mode.contains(.time), md.expires > 0 {
            var expire = RedisCommands()
            expire.begin(arguments: 3)
            expire.argument("EXPIRE")
            expire.argument(key)
            expire.argument(md.expires)
            redis.enqueue(server: server, expire)
        }
        return 0
    }

    func endDialog(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord) -> Int {
        let uuid = sd.aUUID.isEmpty ? sd.bUUID : sd.aUUID
        guard !uuid.isEmpty else { return -1 }
        return store(
            Self.dialogKey(uuid), [("rectime", String(now())), ("iflags", "0")], expire: topos.branchExpire)
    }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `topos_redis` module (Kamailio's `modules/topos_redis`): topos' storage in Redis,
/// through ndb_redis' server `serverid`. Selected with `modparam("topos", "storage", "redis")`.
final class ToposRedisModule: @unchecked Sendable {
    var serverID = ""

    var exports: ModuleExports {
        let e = ModuleExports(name: "topos_redis")
        e.parameters = [
            ModuleParameter("serverid", .string { (v: String) throws(FixupError) in self.serverID = v })
        ]
        let storage = ToposRedisStorageBox()
        e.provide(storage, as: TopologyStorage.self)
        e.initialize = { context in
            guard !self.serverID.isEmpty else { throw FixupError("invalid serverid parameter") }
            let topos = try context.requireAPI(TopologyStrippingAPI.self, by: "topos_redis", from: "topos")
            let redis = try context.requireAPI(RedisAPI.self, by: "topos_redis", from: "ndb_redis")
            let batch = try context.requireAPI(RedisBatchAPI.self, by: "topos_redis", from: "ndb_redis")
            guard redis.hasServer(self.serverID) else {
                throw FixupError("cannot find redis server [\(self.serverID)]")
            }
            storage.storage = ToposRedisStorage(redis: batch, server: self.serverID, topos: topos) { time(nil) }
        }
        return e
    }
}

/// What the module offers before `mod_init` made the storage (APIs are published when
/// modules load): every call goes to it, and fails before it exists.
final class ToposRedisStorageBox: TopologyStorage, TopologyStorageBatching, @unchecked Sendable {
    /// Set once in `mod_init`, read-only afterwards.
    var storage: ToposRedisStorage?
    let storageName = "redis"

    func insertDialog(_ td: TopologyRecord) -> Int { storage?.insertDialog(td) ?? -1 }
    func cleanDialogs() -> Int { storage?.cleanDialogs() ?? -1 }
    func insertBranch(_ td: TopologyRecord) -> Int { storage?.insertBranch(td) ?? -1 }
    func cleanBranches() -> Int { storage?.cleanBranches() ?? -1 }
    func loadBranch(_ msg: SIPMessage, _ md: TopologyRecord, mode: Int) -> TopologyLoad {
        storage?.loadBranch(msg, md, mode: mode) ?? .failure
    }
    func loadDialog(_ msg: SIPMessage, _ md: TopologyRecord) -> TopologyLoad {
        storage?.loadDialog(msg, md) ?? .failure
    }
    func updateBranch(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord, mode: TopologyUpdate) -> Int {
        storage?.updateBranch(msg, md, sd, mode: mode) ?? -1
    }
    func updateDialog(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord, mode: TopologyUpdate) -> Int {
        storage?.updateDialog(msg, md, sd, mode: mode) ?? -1
    }
    func endDialog(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord) -> Int {
        storage?.endDialog(msg, md, sd) ?? -1
    }
    func beginMessage() { storage?.beginMessage() }
    func endMessage() { storage?.endMessage() }
    func commit() -> Int { storage?.commit() ?? -1 }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "topos_redis") { ToposRedisModule().exports }
}

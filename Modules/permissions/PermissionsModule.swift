import SwiftletSDK
import SwiftletSIP
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Kamailio's `permissions` module (5.6): IP address checks against the `address` table
/// (`allow_address`, `allow_source_address`, groups, subnets, names), trusted peers from the
/// `trusted` table (`allow_trusted`, cached or queried per message), and routing and
/// registration rules from `.allow`/`.deny` files (`allow_routing`, `allow_register`,
/// `allow_uri`), with the reload and dump RPCs.
final class PermissionsModule: @unchecked Sendable {
    var defaultAllowFile = "permissions.allow"
    var defaultDenyFile = "permissions.deny"
    var checkAllBranches = 1
    var allowSuffix = ".allow"
    var denySuffix = ".deny"
    var dbURL = ""
    var dbMode = 0
    var trustedTable = "trusted"
    var sourceColumn = "src_ip"
    var protoColumn = "proto"
    var fromColumn = "from_pattern"
    var ruriColumn = "ruri_pattern"
    var tagColumn = "tag"
    var priorityColumn = "priority"
    var peerTagAVP: PseudoVariable?
    var peerTagMode = 0
    var addressTable = "address"
    var addressFile = ""
    var groupColumn = "grp"
    var ipColumn = "ip_addr"
    var maskColumn = "mask"
    var portColumn = "port"
    var maxSubnets = 512
    var loadBackends = 0xFFFF
    var reloadDelta = 5
    var trustedCleanupInterval = 60

    /// `PERM_LOAD_*` bits of `load_backends`.
    static let loadAddressDB = 1
    static let loadTrustedDB = 2
    static let loadAllowFile = 4
    static let loadDenyFile = 8
    /// The `address` and `trusted` table versions (`TABLE_VERSION`).
    static let tableVersion = 6

    var db: Database?
    /// The configuration file's directory (`get_pathname` of relative rule files).
    var configDirectory = ""
    /// The allow/deny file pairs: 0 the default files, then those the functions name.
    var rulePairs: [RuleFilePair] = [RuleFilePair()]
    /// The address tables; nil when allow_address is disabled (no db_url nor address_file).
    let addresses = Mutex<AddressTables?>(nil)
    /// The trusted table (`db_mode` 1); nil otherwise.
    let trusted = Mutex<TrustedTable?>(nil)
    /// When the last RPC reload ran (`perm_rpc_reload_time`).
    let reloadTime = Mutex<Int>(0)

    var exports: ModuleExports {
        let e = ModuleExports(name: "permissions")
        func string(_ name: String, _ set: @escaping (String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(v) })
        }
        func int(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(v) })
        }
        e.parameters = [
            string("default_allow_file") { self.defaultAllowFile = $0 },
            string("default_deny_file") { self.defaultDenyFile = $0 },
            int("check_all_branches") { self.checkAllBranches = $0 },
            string("allow_suffix") { self.allowSuffix = $0 },
            string("deny_suffix") { self.denySuffix = $0 },
            string("db_url") { self.dbURL = $0 },
            int("db_mode") { self.dbMode = $0 },
            string("trusted_table") { self.trustedTable = $0 },
            string("source_col") { self.sourceColumn = $0 },
            string("proto_col") { self.protoColumn = $0 },
            string("from_col") { self.fromColumn = $0 },
            string("ruri_col") { self.ruriColumn = $0 },
            string("tag_col") { self.tagColumn = $0 },
            string("priority_col") { self.priorityColumn = $0 },
            ModuleParameter(
                "peer_tag_avp",
                .string { (v: String) throws(FixupError) in
                    guard !v.isEmpty else { return }
                    let pv = try? PseudoVariableRegistry.shared.compile(v)
                    guard let pv, v.hasPrefix("$avp("), pv.set != nil else {
                        throw FixupError("permissions: malformed or non AVP \(v) peer_tag_avp definition")
                    }
                    self.peerTagAVP = pv
                }),
            int("peer_tag_mode") { self.peerTagMode = $0 },
            string("address_table") { self.addressTable = $0 },
            string("address_file") { self.addressFile = $0 },
            string("grp_col") { self.groupColumn = $0 },
            string("ip_addr_col") { self.ipColumn = $0 },
            string("mask_col") { self.maskColumn = $0 },
            string("port_col") { self.portColumn = $0 },
            int("max_subnets") { self.maxSubnets = $0 },
            int("load_backends") { self.loadBackends = $0 },
            int("reload_delta") { self.reloadDelta = $0 },
            int("trusted_cleanup_interval") { self.trustedCleanupInterval = $0 },
        ]
        e.functions = functions
        e.rpcs = rpcs
        e.initialize = { (context: ModuleInitContext) in try self.initialize(context) }
        e.destroy = { self.db?.disconnect() }
        return e
    }

    /// `mod_init`: the default rule files, then the trusted and address tables.
    func initialize(_ context: ModuleInitContext) throws {
        guard loadBackends != 0 else { throw FixupError("permissions: failure - no backend to be loaded") }
        if reloadDelta < 0 { reloadDelta = 5 }
        loadDefaultRuleFiles()
        guard dbMode == 0 || dbMode == 1 else { throw FixupError("permissions: invalid db_mode value: \(dbMode)") }
        if !dbURL.isEmpty {
            do {
                db = try Database(url: dbURL, core: context.core)
            } catch {
                throw FixupError("permissions: load a database support module for \(dbURL): \(error)")
            }
        }
        defer { db?.disconnect() }
        if loadBackends & Self.loadTrustedDB != 0, let db {
            // Kamailio checks the version in mod_init with the cache, in child_init without.
            do {
                try db.checkTableVersion(trustedTable, version: Self.tableVersion)
            } catch {
                throw FixupError("permissions: \(error)")
            }
        }
        if loadBackends & Self.loadTrustedDB != 0, db != nil, dbMode == 1 {
            guard let t = loadTrusted() else {
                throw FixupError("permissions: failed to initialize the allow_trusted function")
            }
            trusted.withLock { $0 = t }
        }
        if loadBackends & Self.loadAddressDB != 0, db != nil || !addressFile.isEmpty {
            if addressFile.isEmpty, let db {
                do {
                    try db.checkTableVersion(addressTable, version: Self.tableVersion)
                } catch {
                    throw FixupError("permissions: \(error)")
                }
            }
            guard let a = loadAddresses() else {
                throw FixupError("permissions: failed to initialize the allow_address function")
            }
            addresses.withLock { $0 = a }
        }
    }

    /// Adds the tag of a matched entry to `peer_tag_avp` (when set and the entry has one).
    func addTag(_ ctx: MessageContext, _ tag: String?) {
        guard let tag, let pv = peerTagAVP else { return }
        _ = pv.set?(ctx, .string(tag))
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "permissions") { PermissionsModule().exports }
}

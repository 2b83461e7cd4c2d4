import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The module's parameters (Kamailio's `dispatcher.c` globals), set by `modparam` and read
/// only once workers run.
struct DispatcherSettings {
    var listFile = "/etc/kamailio/dispatcher.list"
    var dbURL = ""
    var table = "dispatcher"
    var setIDColumn = "setid"
    var destinationColumn = "destination"
    var flagsColumn = "flags"
    var priorityColumn = "priority"
    var attrsColumn = "attrs"
    var forceDst = 1
    var flags = 0
    var useDefault = 0
    var xavpDst = "_dsdst_"
    var xavpDstMode = 0
    var xavpCtx = "_dsctx_"
    var xavpCtxMode = 0
    var hashPvar = ""
    var setidPVName = ""
    var attrsPVName = ""
    var probingThreshold = 1
    var inactiveThreshold = 1
    var pingMethod = "OPTIONS"
    var pingFrom = "sip:dispatcher@localhost"
    var pingInterval = 0
    var pingLatencyStats = 0
    var latencyEstimatorAlpha = 900
    var pingReplyCodes = ""
    var probingMode = 0
    var hashSize = 0
    var hashExpire = 7200
    var hashInitExpire = 7200
    var hashCheckInterval = 30
    var outboundProxy = ""
    var defaultSocket = ""
    var defaultSockname = ""
    var timerMode = 0
    var eventCallback = ""
    var attrsNone = 0
    var dbExtraAttrs = ""
    var loadMode = 0
    var reloadDelta = 5
    var dnsMode = 1
    var dnsInterval = 600
    var dnsTTL = 0

    var failover: Bool { flags & 2 != 0 }
    var hashUserOnly: Bool { flags & 1 != 0 }
}

/// The `dispatcher` module (Kamailio's `modules/dispatcher`): destination sets from a list
/// file or a database table, selected by one of the 14 algorithms, failover through XAVPs,
/// probing with OPTIONS through tm, call-load accounting and the RPCs. See README.md.
final class DispatcherModule: @unchecked Sendable {
    var settings = DispatcherSettings()
    /// The destination sets; replaced whole on reload, changed in place for states, counters
    /// and loads.
    let list = Mutex<DSList>(DSList())
    /// `dispatcher.ping_active`.
    let pingActive = Atomic<Int>(1)
    /// When the last reload ran (seconds since the epoch; `reload_delta`).
    let reloadTime = Mutex<Int>(0)
    /// Call-load accounting by Call-ID (Kamailio's `_dsht_load`), nil unless `ds_hash_size`.
    var loads: DSLoadTable?
    /// The reply context of a running `event_route[dispatcher:*]`, by message (`$dsv`).
    let replyContexts = Mutex<[ObjectIdentifier: DSReplyContext]>([:])
    /// Parsed `ds_ping_reply_codes`: codes (3 digits) and classes (1 digit).
    var replyCodes: [Int] = []
    var hashFormat: StringFormat?
    var setidPV: PseudoVariable?
    var attrsPV: PseudoVariable?
    var defaultSocket: ListeningSocket?
    var extraAttributes: [(name: String, column: String)] = []
    var database: Database?
    var tableVersion = 1
    var core: CoreContext = .current
    var tmUAC: TransactionUACAPI?

    var exports: ModuleExports {
        let e = ModuleExports(name: "dispatcher")
        e.parameters = parameters
        e.functions = selectFunctions + stateFunctions
        e.pseudoVariables = [dsvClass]
        e.rpcs = rpcs
        e.initialize = { context in try self.start(context.core) }
        return e
    }

    var parameters: [ModuleParameter] {
        func s(_ name: String, _ set: @escaping (inout DispatcherSettings, String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(&self.settings, v) })
        }
        func i(_ name: String, _ set: @escaping (inout DispatcherSettings, Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(&self.settings, v) })
        }
        return [
            s("list_file") { $0.listFile = $1 }, s("db_url") { $0.dbURL = $1 }, s("table_name") { $0.table = $1 },
            s("setid_col") { $0.setIDColumn = $1 }, s("destination_col") { $0.destinationColumn = $1 },
            s("flags_col") { $0.flagsColumn = $1 }, s("priority_col") { $0.priorityColumn = $1 },
            s("attrs_col") { $0.attrsColumn = $1 }, i("force_dst") { $0.forceDst = $1 },
            i("flags") { $0.flags = $1 }, i("use_default") { $0.useDefault = $1 },
            s("xavp_dst") { $0.xavpDst = $1 }, i("xavp_dst_mode") { $0.xavpDstMode = $1 },
            s("xavp_ctx") { $0.xavpCtx = $1 }, i("xavp_ctx_mode") { $0.xavpCtxMode = $1 },
            s("hash_pvar") { $0.hashPvar = $1 }, s("setid_pvname") { $0.setidPVName = $1 },
            s("attrs_pvname") { $0.attrsPVName = $1 },
            i("ds_probing_threshold") { $0.probingThreshold = $1 },
            i("ds_inactive_threshold") { $0.inactiveThreshold = $1 },
            s("ds_ping_method") { $0.pingMethod = $1 }, s("ds_ping_from") { $0.pingFrom = $1 },
            i("ds_ping_interval") { $0.pingInterval = $1 },
            i("ds_ping_latency_stats") { $0.pingLatencyStats = $1 },
            i("ds_latency_estimator_alpha") { $0.latencyEstimatorAlpha = $1 },
            s("ds_ping_reply_codes") { $0.pingReplyCodes = $1 }, i("ds_probing_mode") { $0.probingMode = $1 },
            i("ds_hash_size") { $0.hashSize = $1 }, i("ds_hash_expire") { $0.hashExpire = $1 },
            i("ds_hash_initexpire") { $0.hashInitExpire = $1 },
            i("ds_hash_check_interval") { $0.hashCheckInterval = $1 },
            s("outbound_proxy") { $0.outboundProxy = $1 }, s("ds_default_socket") { $0.defaultSocket = $1 },
            s("ds_default_sockname") { $0.defaultSockname = $1 }, i("ds_timer_mode") { $0.timerMode = $1 },
            s("event_callback") { $0.eventCallback = $1 }, i("ds_attrs_none") { $0.attrsNone = $1 },
            s("ds_db_extra_attrs") { $0.dbExtraAttrs = $1 }, i("ds_load_mode") { $0.loadMode = $1 },
            i("reload_delta") { $0.reloadDelta = $1 }, i("ds_dns_mode") { $0.dnsMode = $1 },
            i("ds_dns_interval") { $0.dnsInterval = $1 }, i("ds_dns_ttl") { $0.dnsTTL = $1 },
        ]
    }

    /// mod_init: sockets, reply codes, PVs, the list (database or file), the load table and
    /// the probing timer, in Kamailio's order.
    func start(_ core: CoreContext) throws {
        self.core = core
        guard settings.eventCallback.isEmpty else {
            throw FixupError("dispatcher: event_callback needs a KEMI engine, which Swiftlet does not have")
        }
        replyCodes = Self.parseReplyCodes(settings.pingReplyCodes)
        if !settings.defaultSockname.isEmpty {
            guard let s = sockets.find(name: settings.defaultSockname) else {
                throw FixupError("non-local socket name <\(settings.defaultSockname)>")
            }
            defaultSocket = s
        } else if !settings.defaultSocket.isEmpty {
            guard let p = ProtoHostPort(settings.defaultSocket) else {
                throw FixupError("bad socket <\(settings.defaultSocket)>")
            }
            guard let s = sockets.find(host: p.host, port: p.port, proto: p.proto) else {
                throw FixupError("non-local socket <\(settings.defaultSocket)>")
            }
            defaultSocket = s
        }
        if !settings.dbURL.isEmpty {
            var extra = settings.dbExtraAttrs
            if extra.hasSuffix(";") { extra.removeLast() }
            if extra.count > 2 {
                extraAttributes = DSAttributes.parameters(extra).map { (name: $0.0, column: $0.1) }
                guard !extraAttributes.contains(where: { $0.column.isEmpty }) else {
                    throw FixupError("invalid db extra attrs parameter")
                }
            }
            do {
                let db = try Database(url: settings.dbURL, core: core)
                database = db
                tableVersion = try db.tableVersion(settings.table)
                guard (1...4).contains(tableVersion) else {
                    throw FixupError(
                        "invalid table version (found \(tableVersion) , required 1, 2, 3 or 4)\n(use kamdbctl reinit)")
                }
                _ = try loadDatabase()
                db.disconnect()
            } catch let e as FixupError {
                throw e
            } catch {
                throw FixupError("could not initiate a connect to the database: \(error)")
            }
        } else {
            do {
                try loadFile()
            } catch {
                throw FixupError("no dispatching list loaded from file: \(error)")
            }
        }
        if !settings.hashPvar.isEmpty {
            guard let f = try? StringFormat(parsing: settings.hashPvar) else {
                throw FixupError("malformed PV string: \(settings.hashPvar)")
            }
            hashFormat = f
        }
        if !settings.setidPVName.isEmpty {
            let pv = try PseudoVariableRegistry.shared.compile(settings.setidPVName)
            guard pv.set != nil else { throw FixupError("[\(settings.setidPVName)]- invalid setid_pvname") }
            setidPV = pv
        }
        if !settings.attrsPVName.isEmpty {
            let pv = try PseudoVariableRegistry.shared.compile(settings.attrsPVName)
            guard pv.set != nil else { throw FixupError("[\(settings.attrsPVName)]- invalid attrs_pvname") }
            attrsPV = pv
        }
        if settings.hashSize > 0 {
            let timers = core.timers
            let table = DSLoadTable(expire: settings.hashExpire, initExpire: settings.hashInitExpire) {
                Int(timers.ticks / UInt64(Timers.ticksPerSecond)) + 1
            }
            loads = table
            core.timers.every(milliseconds: max(settings.hashCheckInterval, 1) * 1000, name: "ds-ht") {
                self.expireLoads()
            }
        }
        if settings.pingInterval > 0 {
            guard let api = core.apis.lookup(TransactionUACAPI.self) else {
                throw FixupError(
                    "module 'dispatcher' needs the TransactionUACAPI API of module 'tm': add loadmodule \"tm.so\"")
            }
            tmUAC = api
            core.timers.every(milliseconds: settings.pingInterval * 1000, name: "ds-ping") { self.pingTimer() }
        }
        if settings.dnsMode & 4 != 0 && settings.dnsInterval > 0 {
            core.timers.every(milliseconds: settings.dnsInterval * 1000, name: "ds-dns") { self.dnsTimer() }
        }
        if !(1..<1000).contains(settings.latencyEstimatorAlpha) {
            Log.error(
                "dispatcher", "invalid ds_latency_estimator_alpha must be between 0 and 1000, using default[0.900]")
            settings.latencyEstimatorAlpha = 900
        }
    }

    /// This core's sockets.
    var sockets: DSSockets { DSSockets(core: core) }

    var alpha: Float { Float(settings.latencyEstimatorAlpha) / 1000 }

    var builderSettings: DSListBuilder.Settings {
        DSListBuilder.Settings(
            attrsNone: settings.attrsNone != 0, defaultSocket: defaultSocket, sockets: sockets,
            resolveAtLoad: settings.dnsMode & (1 | 4) != 0, srv: dnsSRV)
    }

    /// Kamailio's `ds_load_list`: a bad destination is skipped (with `ds_load_mode` 1 the
    /// whole load fails); the list replaces the current one.
    func loadFile() throws(DSLoadError) {
        guard !settings.listFile.isEmpty else { throw DSLoadError("bad list file") }
        guard let text = Self.readFile(settings.listFile) else {
            throw DSLoadError("can't open list file [\(settings.listFile)]")
        }
        var builder = DSListBuilder(builderSettings)
        for row in DSListBuilder.parseListFile(text) {
            do {
                try builder.add(set: row.set, uri: row.uri, flags: row.flags, priority: row.priority, attrs: row.attrs)
            } catch {
                Log.warning("dispatcher", "unable to add destination \(row.uri) to set \(row.set) -- skipping")
                if settings.loadMode == 1 { throw error }
            }
        }
        install(builder.build())
    }

    /// Replaces the list, keeping nothing of the old one (as Kamailio's reload).
    func install(_ new: DSList) {
        var new = new
        // The failover records' fields depend only on the destination, its set and the
        // modparams: built here once instead of per selection.
        for p in new.sets.indices {
            let id = new.sets[p].id
            for i in new.sets[p].destinations.indices {
                new.sets[p].destinations[i].failoverFields = Self.failoverFields(
                    new.sets[p].destinations[i], set: id, xavpDstMode: settings.xavpDstMode)
            }
        }
        list.withLock { $0 = new }
        Log.debug("dispatcher", "found [\(new.sets.count)] dest sets")
    }

    static func readFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Kamailio's `ds_parse_reply_codes`: `code=NNN;class=N;...`.
    static func parseReplyCodes(_ text: String) -> [Int] {
        var codes: [Int] = []
        for (name, value) in DSAttributes.parameters(text) {
            let v = DSAttributes.integer(value)
            switch name.lowercased() {
            case "code" where (100..<700).contains(v): codes.append(v)
            case "class" where (1..<7).contains(v): codes.append(v)
            default: break
            }
        }
        return codes
    }

    /// Kamailio's `ds_ping_check_rplcode`.
    func acceptsReplyCode(_ code: Int) -> Bool {
        replyCodes.contains { $0 / 10 != 0 ? $0 == code : $0 == code / 100 }
    }

    /// Kamailio's `ds_reload` / `dispatcher.reload`: refused within `reload_delta` seconds of
    /// the last one.
    func reload() -> Result<Void, RPCError> {
        let now = time(nil)
        let allowed = reloadTime.withLock { last -> Bool in
            if last != 0 && last > now - settings.reloadDelta { return false }
            last = now
            return true
        }
        guard allowed else {
            Log.error("dispatcher", "ongoing reload")
            return .failure(RPCError(500, "Ongoing reload"))
        }
        if settings.dbURL.isEmpty {
            do { try loadFile() } catch {
                Log.error("dispatcher", "Error reloading from list")
                return .failure(RPCError(500, "Reload Failed"))
            }
        } else {
            do {
                _ = try loadDatabase()
                database?.disconnect()
            } catch {
                Log.error("dispatcher", "Error reloading from db: \(error)")
                database?.disconnect()
                return .failure(RPCError(500, "Reload Failed"))
            }
        }
        return .success(())
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "dispatcher") { DispatcherModule().exports }
}

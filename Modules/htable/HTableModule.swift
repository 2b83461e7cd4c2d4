import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The `htable` module (Kamailio's `modules/htable`): named hash tables in shared memory
/// that every worker thread reads and writes (`$sht(t=>k)`, counters with `$shtinc`,
/// expiry with `autoexpire` and `event_route[htable:expired:<t>]`, iterators, regex
/// removal, RPCs). See README.md.
final class HTableModule: @unchecked Sendable {
    /// The definitions in `modparam` order.
    var definitions: [HashTableDefinition] = []
    /// The tables by name, created in `mod_init`; read-only afterwards.
    private(set) var tables: [String: HashTable] = [:]
    /// The tables in Kamailio's list order (the last defined first).
    private(set) var tableList: [HashTable] = []
    /// `timer_interval`: seconds between expiry sweeps.
    var timerInterval = 20
    var timerProcesses = 0
    /// `event_callback_mode`: 0 runs `event_route[htable:mod-init]` once before the workers
    /// start (PROC_INIT), 1 in the first SIP worker (PROC_SIPINIT).
    var eventCallbackMode = 0
    private var modInitDone = false
    var core: CoreContext?
    /// Seconds of the core's clock, from 1 (0 means "never" for an item's expiry).
    private(set) var clock: @Sendable () -> Int = { 1 }
    /// `db_url` and the column names.
    var db = HTableDatabaseSettings()
    /// The database of `db_url`, bound in `mod_init`.
    var database: Database?
    /// Tables loaded from the database (written back at shutdown with `dbmode` 1).
    let loadedTables = Mutex<Set<String>>([])

    var exports: ModuleExports {
        let e = ModuleExports(name: "htable")
        e.parameters = parameters
        e.functions = itemFunctions + matchFunctions + iteratorFunctions
        e.pseudoVariables = pseudoVariables
        e.rpcs = rpcs + databaseRPCs
        e.initialize = { context in try self.start(context.core) }
        e.childInitialize = { rank in try self.childInit(rank) }
        e.destroy = { self.syncDatabase() }
        return e
    }

    var parameters: [ModuleParameter] {
        [
            ModuleParameter(
                "htable",
                .function { (v: ModuleParameterSetting.Value) throws(FixupError) in
                    guard case .string(let s) = v else { throw FixupError("htable: the htable parameter is a string") }
                    try self.define(s)
                }),
            ModuleParameter("timer_interval", .int { (v: Int) throws(FixupError) in self.timerInterval = v }),
            ModuleParameter("timer_procs", .int { (v: Int) throws(FixupError) in self.timerProcesses = v }),
            ModuleParameter(
                "event_callback_mode", .int { (v: Int) throws(FixupError) in self.eventCallbackMode = v }),
        ] + databaseParameters
    }

    /// Adds a table definition; a second table of the same name is refused.
    func define(_ spec: String) throws(FixupError) {
        let d = try HashTableDefinition(parsing: spec)
        guard !definitions.contains(where: { $0.name == d.name }) else {
            throw FixupError("htable already configured [\(d.name)]")
        }
        guard d.dmqReplicate == 0 else {
            throw FixupError("htable [\(d.name)]: dmqreplicate needs the dmq module, which Swiftlet does not have")
        }
        definitions.append(d)
    }

    /// The table named `name`, nil when none is defined.
    @inline(__always) func table(_ name: String) -> HashTable? { tables[name] }

    /// mod_init: creates the tables and, when one expires its items, the expiry timer.
    func start(_ core: CoreContext) throws {
        self.core = core
        let timers = core.timers
        clock = { Int(timers.ticks / UInt64(Timers.ticksPerSecond)) + 1 }
        let clock = self.clock
        for d in definitions {
            let t = HashTable(d, memory: core.memory, clock: clock)
            tables[d.name] = t
            tableList.insert(t, at: 0)
        }
        try openDatabase(core)
        if tableList.contains(where: { $0.autoexpire > 0 }) {
            let interval = timerInterval > 0 ? timerInterval : 20
            timers.every(milliseconds: interval * 1000, name: "htable-expire") { self.expireItems() }
        }
    }

    /// child_init: runs `event_route[htable:mod-init]` once, in the first `child_init`
    /// (PROC_INIT in a server) or, with `event_callback_mode` 1, in the first SIP worker.
    /// A `drop` in it stops the start-up, as in Kamailio.
    func childInit(_ rank: Int) throws {
        if eventCallbackMode == 1 && rank != 1 { return }
        guard !modInitDone else { return }
        modInitDone = true
        guard let core, let routes = core.routes, routes.eventRouteNames.contains("htable:mod-init") else { return }
        let ctx = MessageContext.faked(core: core)
        if routes.runEventRoute("htable:mod-init", ctx, as: .request) == false {
            throw FixupError("exit due to 'drop' in event route")
        }
    }

    /// Kamailio's `ht_timer`: removes every expired item, running
    /// `event_route[htable:expired:<table>]` for each with `$shtrecord(key)`/`(value)`.
    func expireItems() {
        guard let core else { return }
        let state = HTableThreadState.current(ObjectIdentifier(self))
        for t in tableList where t.autoexpire > 0 {
            let expired = t.removeExpired()
            guard !expired.isEmpty else { continue }
            let route = "htable:expired:" + t.name
            guard let routes = core.routes, routes.eventRouteNames.contains(route) else { continue }
            for item in expired {
                state.expired = item
                _ = routes.runEventRoute(route, MessageContext.faked(core: core), as: .event)
            }
            state.expired = nil
        }
    }

    /// The calling thread's iterators and expired item.
    var threadState: HTableThreadState { HTableThreadState.current(ObjectIdentifier(self)) }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "htable") { HTableModule().exports }
}

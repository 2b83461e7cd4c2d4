import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `dialog` module (Kamailio's `modules/dialog`): tracks INVITE dialogs through tm's
/// callbacks and rr's Record-Route parameter, with profiles, variables, timeouts that end
/// calls with BYEs, keep-alives, database persistence, event routes, RPCs and statistics.
/// See README.md.
final class DialogModule: @unchecked Sendable {
    var settings = DialogSettings()
    private(set) var table = DialogTable(size: 4096)
    let profiles = DialogProfiles()
    var core: CoreContext?
    var tm: TransactionCallbacksAPI?
    var uac: TransactionUACAPI?
    var rr: RecordRouteAPI?
    var statistics: DialogStatistics?
    let timerList = DialogTimerList()
    var database: Database?
    /// Global dialog callbacks of other modules (`DialogAPI.registerCallback`).
    var callbacks: [(types: DialogCallbackTypes, callback: (DialogEvent) -> Void)] = []
    /// The timeout AVP (`timeout_avp`), compiled in mod_init.
    var timeoutVariable: PseudoVariable?
    /// Unix time at start-up and the timer tick then: the module's clock follows the timer
    /// ticks (a virtual clock in tests).
    /// `;did=` (`rr_param`), set in mod_init.
    private(set) var rrParameterPrefix = ";did="
    private var baseTime = 0
    private var baseTick: UInt64 = 0

    var exports: ModuleExports {
        let e = ModuleExports(name: "dialog")
        e.parameters = parameters
        e.functions = functions + profileTimeoutFunctions + databaseLoadFunctions + [remoteProfileFunction]
        e.pseudoVariables = pseudoVariables
        e.rpcs = rpcs + matchRPCs + [dumpFileRPC]
        e.provide(self, as: DialogAPI.self)
        e.initialize = { context in try self.start(context) }
        e.destroy = { self.shutdown() }
        return e
    }

    /// Seconds of the module's clock (Unix time).
    var now: Int {
        guard let core else { return Int(time(nil)) }
        return baseTime + Int((core.timers.ticks - baseTick) / UInt64(Timers.ticksPerSecond))
    }

    /// The current timer tick.
    var ticks: UInt64 { core?.timers.ticks ?? Timers.ticks }

    /// mod_init.
    func start(_ context: ModuleInitContext) throws {
        let core = context.core
        self.core = core
        baseTime = Int(time(nil))
        baseTick = core.timers.ticks
        table = DialogTable(size: settings.hashSize)
        rrParameterPrefix = ";" + settings.rrParam + "="
        guard settings.dialogFlag <= 31 else {
            throw FixupError("dialog: invalid dlg_flag \(settings.dialogFlag) (0..31)")
        }
        guard (0...3).contains(settings.dbMode) else {
            throw FixupError("dialog: unsupported db_mode \(settings.dbMode)")
        }
        if !settings.timeoutAVP.isEmpty {
            timeoutVariable = try PseudoVariableRegistry.shared.compile(settings.timeoutAVP)
        }
        tm = try context.requireAPI(TransactionCallbacksAPI.self, by: "dialog", from: "tm")
        uac = core.apis.lookup(TransactionUACAPI.self)
        rr = try context.requireAPI(RecordRouteAPI.self, by: "dialog", from: "rr")
        statistics = settings.enableStats ? try DialogStatistics() : nil
        rr?.registerLooseRouteCallback(priority: 0) { ctx, params in self.onRoute(ctx, routeParameters: params) }
        tm?.registerRequestIn { event in self.onRequestIn(event) }
        core.timers.every(milliseconds: 1000, name: "dialog-timer") { self.runTimer() }
        core.timers.every(milliseconds: 90_000, name: "dialog-clean") { self.cleanRun() }
        if settings.keepAliveTimer > 0 && settings.keepAliveInterval > 0 {
            core.timers.every(milliseconds: settings.keepAliveTimer * 1000, name: "dialog-ka") {
                self.keepAliveRun()
            }
        }
        try openDatabase(core)
    }

    /// mod_destroy: `db_mode` 2 and 3 write the dialogs back.
    func shutdown() {
        if settings.dbMode == 2 || settings.dbMode == 3 { storeAll() }
        database?.disconnect()
    }

    /// Runs the global callbacks of other modules for `type`.
    func runCallbacks(_ type: DialogCallbackTypes, _ dialog: Dialog, _ message: SIPMessage?) {
        guard callbacks.contains(where: { $0.types.contains(type) }) else { return }
        let event = DialogEvent(type: type, dialog: table.locked(dialog) { dialog.snapshot }, message: message)
        for c in callbacks where c.types.contains(type) { c.callback(event) }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "dialog") { DialogModule().exports }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `presence` module (Kamailio's `modules/presence`): PUBLISH and SUBSCRIBE handling
/// with NOTIFYs through tm, for the event packages that other modules add (presence_xml).
/// See README.md.
final class PresenceModule: PresenceAPI, @unchecked Sendable {
    var settings = PresenceSettings()
    /// The events, in the order they were added (`pres_evlist`).
    private(set) var events: [PresenceEvent] = []
    let subscriptions = SubscriptionTable()
    var core: CoreContext?
    var tm: TransactionAPI?
    var uac: TransactionUACAPI?
    var sl: StatelessReplyAPI?
    var database: Database?
    var presentities: PresentityDatabase?
    var watchers: WatcherDatabase?
    /// `pres_startup_time` and the counter of generated ETags (`pres_counter`).
    private(set) var startupTime = 0
    private let counterLock = PresenceLock()
    private var counter = 0
    private var baseTick: UInt64 = 0

    var exports: ModuleExports {
        let e = ModuleExports(name: "presence")
        e.parameters = PresenceSettings.parameters(self)
        e.functions = functions
        e.rpcs = rpcs
        e.provide(self, as: PresenceAPI.self)
        e.initialize = { context in try self.start(context) }
        e.destroy = { self.shutdown() }
        return e
    }

    /// Seconds of the module's clock (Unix time, following the timer ticks: virtual in tests).
    var now: Int {
        guard let core else { return Int(time(nil)) }
        return startupTime + Int((core.timers.ticks - baseTick) / UInt64(Timers.ticksPerSecond))
    }

    /// mod_init.
    func start(_ context: ModuleInitContext) throws {
        let core = context.core
        self.core = core
        try settings.validate()
        startupTime = Int(time(nil))
        baseTick = core.timers.ticks
        tm = core.apis.lookup(TransactionAPI.self)
        uac = try context.requireAPI(TransactionUACAPI.self, by: "presence", from: "tm")
        sl = try context.requireAPI(StatelessReplyAPI.self, by: "presence", from: "sl")
        do {
            let db = try Database(url: settings.dbURL, core: core)
            database = db
            try db.checkTableVersion(settings.presentityTable, version: 5)
            try db.checkTableVersion(settings.activeWatchersTable, version: 12)
            try db.checkTableVersion(settings.watchersTable, version: 3)
            presentities = PresentityDatabase(db: db, table: settings.presentityTable)
            let w = WatcherDatabase(
                db: db, activeTable: settings.activeWatchersTable, watchersTable: settings.watchersTable)
            watchers = w
            if settings.subsDBMode == 3 {
                subscriptions.keepInDatabase(w)
            } else if settings.subsDBMode != 0 {
                for s in try w.load() where s.expires >= now - settings.expiresOffset {
                    subscriptions.store(s, markDirty: false)
                }
            }
            db.disconnect()
        } catch {
            throw FixupError("presence: cannot use the database: \(error)")
        }
        core.timers.every(milliseconds: settings.cleanPeriod * 1000, name: "presence-clean") {
            self.cleanPresentities()
        }
        core.timers.every(milliseconds: settings.dbUpdatePeriod * 1000, name: "presence-subs") {
            self.subscriptionTimer()
        }
    }

    /// mod_destroy: write-back mode stores the subscriptions.
    func shutdown() {
        if settings.subsDBMode == 2 { writeBack() }
        database?.disconnect()
    }

    // MARK: events (PresenceAPI)

    func addEvent(_ event: PresenceEvent) throws(FixupError) {
        guard !events.contains(where: { $0.name == event.name }) else {
            throw FixupError("presence: event '\(event.name)' added twice")
        }
        events.append(event)
    }

    /// The event of an `Event` header value (its name before parameters), if served.
    func event(named name: String) -> PresenceEvent? { events.first { $0.name == name } }

    /// A new ETag: `a.<startup>.<pid>.<counter>.<publications>` (Kamailio's `generate_ETag`).
    func generateETag(publications: Int) -> String {
        let n = counterLock.locked { () -> Int in
            counter += 1
            return counter
        }
        return "a.\(startupTime).\(getpid()).\(n).\(publications)"
    }

    // MARK: replies

    /// Replies to the request with extra header lines (each ending in CRLF): through tm when
    /// it has a transaction (`t_newtran`), statelessly otherwise (sl's `freply`).
    @discardableResult
    func reply(_ ctx: MessageContext, _ code: Int, _ reason: String, headers: String = "") -> Bool {
        if !headers.isEmpty { ctx.replyLumps.appendHeader(Array(headers.utf8)) }
        if let tm, tm.hasTransaction(ctx) { return tm.reply(ctx, code: code, reason: reason) > 0 }
        return sl?.sendReply(ctx, code: code, reason: reason) ?? -1 > 0
    }

    /// The error replies (`send_error_reply`): 489 lists the events in `Allow-Events`, 423
    /// gives `Min-Expires`.
    func replyError(_ ctx: MessageContext, _ code: Int, _ reason: String) {
        var headers = ""
        // The newest event first, as Kamailio's list (`add_event` puts each at its head).
        if code == 489 { headers = "Allow-Events: " + events.reversed().map(\.name).joined(separator: ", ") + "\r\n" }
        if code == 423 { headers = "Min-Expires: \(settings.minExpires)\r\n" }
        reply(ctx, code, reason, headers: headers)
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "presence") { PresenceModule().exports }
}

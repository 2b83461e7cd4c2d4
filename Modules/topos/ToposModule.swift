import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `topos` module (Kamailio's `modules/topos`): topology stripping. Messages going out
/// lose the Vias, Record-Routes and Contacts of the other side, which are kept in a storage
/// and put back on the messages that come back (`SREV_NET_DATA_IN`/`SREV_NET_DATA_OUT`).
final class ToposModule: TopologyStrippingAPI, @unchecked Sendable {
    var storageParam = "db"
    /// Kamailio's `DEFAULT_DB_URL`.
    var dbURL = "mysql://kamailio:kamailiorw@localhost/kamailio"
    var maskCallID = 0
    var sanityChecks = 0
    var branchExpire = 180
    var dialogExpire = 10800
    var cleanInterval = 60
    /// Kamailio's code default: all four event routes (1 outgoing, 2 sending, 4 incoming,
    /// 8 receiving).
    var eventMode = 15
    var settings = ToposSettings()
    var methodsNoContact = ""

    var exports: ModuleExports {
        let e = ModuleExports(name: "topos")
        func str(_ name: String, _ set: @escaping (String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(v) })
        }
        func int(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(v) })
        }
        e.parameters = [
            str("storage") { self.storageParam = $0 },
            str("db_url") { self.dbURL = $0 },
            int("mask_callid") { self.maskCallID = $0 },
            int("sanity_checks") { self.sanityChecks = $0 },
            int("branch_expire") { self.branchExpire = $0 },
            int("dialog_expire") { self.dialogExpire = $0 },
            int("clean_interval") { self.cleanInterval = $0 },
            // A KEMI function name: without a KEMI engine Kamailio ignores it too.
            str("event_callback") { _ in },
            int("event_mode") { self.eventMode = $0 },
            str("contact_host") { self.settings.contactHost = $0 },
            int("contact_mode") { self.settings.contactMode = $0 },
            str("cparam_name") { self.settings.cparamName = $0 },
            str("xavu_cfg") { self.settings.xavuCfg = $0 },
            str("xavu_field_a_contact") { self.settings.xavuFieldAContact = $0 },
            str("xavu_field_b_contact") { self.settings.xavuFieldBContact = $0 },
            str("xavu_field_contact_host") { self.settings.xavuFieldContactHost = $0 },
            int("rr_update") { self.settings.rrUpdate = $0 != 0 },
            str("context") { self.settings.context = $0 },
            int("header_mode") { self.settings.headerMode = $0 },
            str("methods_nocontact") { self.methodsNoContact = $0 },
        ]
        e.functions = [
            // Kamailio's `tps_set_context(ctx)`: the context of what this thread records and
            // sends until the next message is received; "" goes back to the parameter.
            ScriptFunction("tps_set_context", parameters: 1, routes: .any) { args throws(FixupError) in
                let value = try args[0].stringFormat()
                return { ctx in
                    if let engine = self.engine { ToposThreadContext.set(engine.contextSlot, value.render(ctx)) }
                    return 1
                }
            }
        ]
        e.provide(self, as: TopologyStrippingAPI.self)
        e.initialize = { context in try self.start(context.core) }
        e.netDataIn = { data in
            guard let engine = self.engine, let out = engine.received(data) else { return .continue }
            if out.isEmpty { return .drop }
            data.bytes = out
            return .continue
        }
        e.netDataOut = { data in
            guard let engine = self.engine, let out = engine.sending(data) else { return .continue }
            if out.isEmpty { return .drop }
            data.bytes = out
            return .continue
        }
        return e
    }

    /// Set once in `mod_init`, read-only afterwards.
    nonisolated(unsafe) var engine: ToposEngine?
    nonisolated(unsafe) var cleaner: TimerHandle?

    func start(_ core: CoreContext) throws {
        var sanity: (any SanityCheckAPI)?
        if sanityChecks != 0 {
            guard let api = core.apis.lookup(SanityCheckAPI.self) else {
                throw FixupError("cannot bind to sanity module: add loadmodule \"sanity.so\"")
            }
            sanity = api
        }
        if settings.contactMode == 2
            && (settings.xavuCfg.isEmpty || settings.xavuFieldAContact.isEmpty || settings.xavuFieldBContact.isEmpty)
        {
            throw FixupError("contact_mode parameter is 2, but a_contact or b_contact xavu fields not defined")
        }
        if !methodsNoContact.isEmpty {
            settings.methodsNoContact = methodsNoContact.split(separator: ",").map {
                SIPMethod(String($0.filter { $0 != " " && $0 != "\t" }).uppercased())
            }
        }
        let storage: any TopologyStorage
        if storageParam == "redis" {
            guard let s = core.apis.lookup(TopologyStorage.self), s.storageName == "redis" else {
                throw FixupError("storage 'redis' needs the topos_redis module: add loadmodule \"topos_redis.so\"")
            }
            storage = s
        } else if storageParam == "db" {
            let db: Database
            do {
                db = try Database(url: dbURL, core: core)
            } catch {
                throw FixupError("unable to bind database module: \(error)")
            }
            storage = ToposDatabaseStorage(
                db: db, dialogExpire: { [unowned self] in self.dialogExpire },
                branchExpire: { [unowned self] in self.branchExpire }, now: { time(nil) })
        } else if storageParam == "memory" {
            // Swiftlet's own: the records in this process' memory.
            storage = ToposMemoryStorage(
                dialogExpire: { [unowned self] in self.dialogExpire },
                branchExpire: { [unowned self] in self.branchExpire }, now: { time(nil) })
        } else {
            throw FixupError("unknown storage type: \(storageParam)")
        }
        let engine = ToposEngine(settings: settings, storage: storage, now: time(nil))
        engine.sanity = sanity
        engine.core = core
        engine.eventMode = eventMode
        self.engine = engine
        cleaner = core.timers.every(milliseconds: max(1, cleanInterval) * 1000, name: "topos-clean") {
            _ = storage.cleanBranches()
            _ = storage.cleanDialogs()
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "topos") { ToposModule().exports }
}

import SwiftletSDK

/// The `presence_dialoginfo` module (Kamailio's `modules/presence_dialoginfo`): adds the
/// `dialog` event (application/dialog-info+xml, RFC 4235) to the presence module, with the
/// aggregation of a presentity's published dialog-info documents into one NOTIFY body and
/// the per-watcher `version`. See README.md.
final class PresenceDialogInfoModule: @unchecked Sendable {
    var forceSingleDialog = 0
    var forceDummyDialog = 0
    var defaultExpires = 3600

    var exports: ModuleExports {
        let e = ModuleExports(name: "presence_dialoginfo")
        func int(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(v) })
        }
        e.parameters = [
            int("force_single_dialog") { self.forceSingleDialog = $0 },
            int("force_dummy_dialog") { self.forceDummyDialog = $0 },
            int("default_expires") { self.defaultExpires = $0 },
        ]
        e.initialize = { context in try self.start(context) }
        return e
    }

    /// mod_init: `bind_presence` and `dlginfo_add_events`.
    func start(_ context: ModuleInitContext) throws {
        let presence = try context.requireAPI(PresenceAPI.self, by: "presence_dialoginfo", from: "presence")
        try presence.addEvent(dialogEvent())
    }

    /// The `dialog` event: published state, no authorization (`req_auth` 0), no check of
    /// PUBLISH bodies (`evs_publ_handl` 0).
    func dialogEvent() -> PresenceEvent {
        let single = forceSingleDialog != 0
        let dummy = forceDummyDialog != 0
        // `default_expires` is an unsigned int in Kamailio.
        var event = PresenceEvent(
            name: "dialog", contentType: "application/dialog-info+xml",
            defaultExpires: Int(UInt32(truncatingIfNeeded: defaultExpires)), isPublished: true,
            requiresAuthorization: false)
        event.aggregate = { user, domain, bodies in
            DialogInfoBody.aggregate(user: user, domain: domain, bodies: bodies, singleDialog: single, dummy: dummy)
        }
        event.perWatcherBody = { body, version in DialogInfoBody.settingVersion(body, version: version) }
        event.dialogID = { body in DialogInfoSearch.firstDialogID(body) }
        event.isTerminated = { body in DialogInfoSearch.allDialogsTerminated(body) }
        return event
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "presence_dialoginfo") { PresenceDialogInfoModule().exports }
}

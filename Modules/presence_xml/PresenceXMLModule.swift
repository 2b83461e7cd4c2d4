import SwiftletSDK

/// The `presence_xml` module (Kamailio's `modules/presence_xml`): adds the `presence`
/// (application/pidf+xml) event to the presence module, checks
/// PIDF bodies and aggregates them for NOTIFYs. Authorization is `force_active` only (no
/// XCAP). See README.md.
final class PresenceXMLModule: @unchecked Sendable {
    var dbURL = ""
    var forceActive = 0
    var disablePresence = 0
    var forceDummyPresence = 0
    var defaultExpires = 3600
    var disableWinfo = 0
    var disableBLA = 1
    var disableXCAPDiff = 0

    var exports: ModuleExports {
        let e = ModuleExports(name: "presence_xml")
        func int(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(v) })
        }
        e.parameters = [
            ModuleParameter("db_url", .string { (v: String) throws(FixupError) in self.dbURL = v }),
            int("force_active") { self.forceActive = $0 },
            int("disable_presence") { self.disablePresence = $0 },
            int("force_dummy_presence") { self.forceDummyPresence = $0 },
            int("default_expires") { self.defaultExpires = $0 },
            int("disable_winfo") { self.disableWinfo = $0 },
            int("disable_bla") { self.disableBLA = $0 },
            int("disable_xcapdiff") { self.disableXCAPDiff = $0 },
        ]
        e.initialize = { context in try self.start(context) }
        return e
    }

    /// mod_init: `bind_presence` and `xml_add_events`.
    func start(_ context: ModuleInitContext) throws {
        let presence = try context.requireAPI(PresenceAPI.self, by: "presence_xml", from: "presence")
        if forceActive == 0 {
            Log.warning(
                "presence_xml",
                "force_active=0 without XCAP support: new watchers stay pending until the watchers table says otherwise"
            )
        }
        let active = forceActive != 0
        let dummy = forceDummyPresence != 0
        if disablePresence == 0 {
            var event = PresenceEvent(
                name: "presence", contentType: "application/pidf+xml", defaultExpires: defaultExpires,
                isPublished: true, requiresAuthorization: true)
            event.checkBody = { body in
                PIDFDocument.isWellFormed(body) ? nil : (415, "Unsupported media type")
            }
            event.aggregate = { user, domain, bodies in
                if bodies.isEmpty { return dummy ? PIDFDocument.dummy(user: user, domain: domain) : nil }
                return PIDFDocument.aggregate(bodies)
            }
            event.authorize = { _, _ in active ? .active : .pending }
            try presence.addEvent(event)
        }
        if disableWinfo == 0 {
            // Watcher information (`WINFO_TYPE`): presence builds its bodies.
            try presence.addEvent(
                PresenceEvent(
                    name: "presence.winfo", contentType: "application/watcherinfo+xml",
                    defaultExpires: defaultExpires, isPublished: false))
        }
        if disableBLA == 0 {
            throw FixupError("presence_xml: disable_bla 0 (the dialog;sla event) is not supported yet")
        }
        if disableXCAPDiff == 0 {
            try presence.addEvent(
                PresenceEvent(
                    name: "xcap-diff", contentType: "application/xcap-diff+xml", defaultExpires: defaultExpires,
                    isPublished: true))
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "presence_xml") { PresenceXMLModule().exports }
}

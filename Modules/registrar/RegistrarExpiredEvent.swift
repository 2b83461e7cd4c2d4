import SwiftletSDK

/// `event_route[usrloc:contact-expired]` (Kamailio's `reg_ul_expired_contact`): when the
/// script defines it, registrar registers for usrloc's contact-expired callback and runs the
/// route, as a request route on the faked message, for each contact the expiry timer removes,
/// with the contact in the `$ulc(exp=>...)` profile (which stays until the next one).
extension RegistrarModule {
    static let expiredRoute = "usrloc:contact-expired"

    /// mod_init: registers the callback when the route exists.
    func registerExpiredEvent(_ core: CoreContext) {
        guard let routes = core.routes, routes.eventRouteNames.contains(Self.expiredRoute),
            let callbacks = core.apis.lookup(UsrlocContactCallbacks.self)
        else { return }
        nonisolated(unsafe) let api = core.apis.lookup(UsrlocAPI.self)
        // The profiles are per thread: the timer thread's are written and read here only.
        nonisolated(unsafe) let module = self
        callbacks.onContactExpired { table, aor, contact in
            module.profiles.store(
                "exp",
                FetchedContacts(aor: aor, domain: table, aorHash: api?.aorHash(aor) ?? 0, contacts: [contact]))
            _ = core.routes?.runEventRoute(Self.expiredRoute, MessageContext.faked(core: core), as: .request)
        }
    }
}

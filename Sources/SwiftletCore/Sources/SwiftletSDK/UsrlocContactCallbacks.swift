/// usrloc's contact callbacks (Kamailio's `register_ulcb`), provided by usrloc beside
/// `UsrlocAPI`: for now the expiry callback (`UL_CONTACT_EXPIRE`), which registrar uses for
/// `event_route[usrloc:contact-expired]`.
public protocol UsrlocContactCallbacks: AnyObject {
    /// Registers `callback` (at start-up, before workers run). The expiry timer calls it on its
    /// own thread, once for each contact it removes because the contact expired, after the
    /// contact left the table: with the table name, the AoR and the contact. With `db_mode` 3
    /// these are the rows the timer is about to delete (past `rm_expired_delay`).
    func onContactExpired(
        _ callback: @escaping @Sendable (_ table: String, _ aor: String, _ contact: UsrlocContact) -> Void)
}

/// The state of a presence subscription (Kamailio's `ACTIVE_STATUS` ... `WAITING_STATUS`,
/// the `status` column of `active_watchers` and `watchers`).
public enum PresenceSubscriptionStatus: Int, Sendable {
    case active = 1
    case pending = 2
    case terminated = 3
    case waiting = 4

    /// The `Subscription-State` value.
    public var text: String {
        switch self {
        case .active: "active"
        case .pending: "pending"
        case .terminated: "terminated"
        case .waiting: "waiting"
        }
    }
}

/// An event package that the presence module serves, as a module such as presence_xml adds
/// it (Kamailio's `pres_ev_t` given to `add_event`).
public struct PresenceEvent: Sendable {
    /// The event name (`presence`, `presence.winfo`, ...).
    public var name: String
    /// The Content-Type of its NOTIFY bodies.
    public var contentType: String
    /// The expiry of a PUBLISH or SUBSCRIBE without Expires.
    public var defaultExpires: Int
    /// True for events with published state (`PUBL_TYPE`); false for watcher-info events
    /// (`WINFO_TYPE`).
    public var isPublished: Bool
    /// New subscriptions need authorization (`req_auth`): `authorize` decides their status.
    public var requiresAuthorization: Bool
    /// A refreshing PUBLISH keeps its ETag (`etag_not_new`).
    public var etagNotNew: Bool
    /// Checks a PUBLISH body (`evs_publ_handl`): nil accepts it; otherwise the reply code
    /// and reason to refuse it with.
    public var checkBody: (@Sendable ([UInt8]) -> (code: Int, reason: String)?)?
    /// Makes one NOTIFY body of the published bodies of a presentity, oldest first
    /// (`agg_nbody`); nil: the NOTIFY has no body. Without it the last body is sent.
    public var aggregate: (@Sendable (_ user: String, _ domain: String, _ bodies: [[UInt8]]) -> [UInt8]?)?
    /// The status of a new watcher without a row in `watchers` (`get_auth_status`).
    public var authorize: (@Sendable (_ watcherURI: String, _ presentityURI: String) -> PresenceSubscriptionStatus)?
    /// Rewrites the NOTIFY body for one watcher (`aux_body_processing`), given the
    /// subscription's version after the increment of this NOTIFY; nil keeps the body.
    public var perWatcherBody: (@Sendable (_ body: [UInt8], _ version: Int) -> [UInt8]?)?
    /// For the `dialog` event (Kamailio's `EVENT_DIALOG` handling in presence): the `id` of
    /// the first `<dialog>` of a published body (`check_if_dialog`). A new publication
    /// replaces the stored ones of the presentity with the same id.
    public var dialogID: (@Sendable (_ body: [UInt8]) -> String?)?
    /// For the `dialog` event: true when every dialog of a stored body is `terminated`
    /// (`ps_match_dialog_state`); a refresh of such a publication changes nothing.
    public var isTerminated: (@Sendable (_ body: [UInt8]) -> Bool)?

    public init(
        name: String, contentType: String, defaultExpires: Int = 3600, isPublished: Bool = true,
        requiresAuthorization: Bool = false, etagNotNew: Bool = false
    ) {
        self.name = name
        self.contentType = contentType
        self.defaultExpires = defaultExpires
        self.isPublished = isPublished
        self.requiresAuthorization = requiresAuthorization
        self.etagNotNew = etagNotNew
    }
}

/// The presence module's API for event modules (Kamailio's `bind_presence`/`add_event`):
/// look it up with `core.apis.lookup(PresenceAPI.self)` in `mod_init`.
public protocol PresenceAPI: AnyObject {
    /// Adds an event package; a second event with the same name is refused.
    func addEvent(_ event: PresenceEvent) throws(FixupError)
}

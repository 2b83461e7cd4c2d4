/// What a branch keeps of the registered contact it was built from (the fields Kamailio's
/// `branch_t` and `sip_msg_t` carry besides the URI: `instance`, `reg_id`, `ruid`,
/// `location_ua`, `path`). The registrar's `lookup()` fills them from the location records; tm keeps
/// them on each branch of a transaction (`t_next_contact_flow()`, `t_reuse_branch()`,
/// `$T_reply_ruid`, `$T_branch(ruid)`). Empty for a branch not built from a location record.
public struct ContactBinding: Sendable, Equatable {
    /// The Contact's `+sip.instance` value (RFC 5626), as registered (quotes and `<>` kept).
    public var instance: String
    /// The Contact's `reg-id` (RFC 5626), 0 when none.
    public var regID: Int
    /// The location record's unique id (usrloc's `ruid`).
    public var ruid: String
    /// The User-Agent the contact registered with (Kamailio's `location_ua`).
    public var userAgent: String
    /// The contact's Path vector (`<uri>,<uri>`, Kamailio's `path_vec`): a request sent on
    /// the branch carries it as a Route header, before the other Route headers.
    public var path: String

    public init(
        instance: String = "", regID: Int = 0, ruid: String = "", userAgent: String = "", path: String = ""
    ) {
        self.instance = instance
        self.regID = regID
        self.ruid = ruid
        self.userAgent = userAgent
        self.path = path
    }

    /// No field is set.
    public var isEmpty: Bool {
        instance.isEmpty && regID == 0 && ruid.isEmpty && userAgent.isEmpty && path.isEmpty
    }
}

/// One binding of an address of record (Kamailio's `ucontact_t`): what registrar saves from
/// a REGISTER and what `lookup()` turns into the Request-URI and branches.
public struct UsrlocContact: Sendable, Equatable {
    /// The Contact URI (`c`).
    public var address: String
    /// The unique record id (`ruid`), kept across refreshes of the binding.
    public var ruid: String
    /// Absolute expiry in Unix seconds; 0 for a permanent binding.
    public var expires: Int
    /// q-value in thousandths, or `UsrlocContact.qUnspecified` (-1).
    public var q: Int
    public var callID: String
    public var cseq: Int
    /// usrloc's own flags (`FL_MEM` = 1: never written to the database).
    public var flags: UInt32
    /// The branch flags saved with the binding (`cflags`).
    public var cflags: UInt32
    /// The Path header values, comma separated ("" when none).
    public var path: String
    /// The `received` URI (source of the REGISTER behind NAT), "" when none.
    public var received: String
    /// The socket the REGISTER arrived on, as `proto:ip:port` ("" when none).
    public var socket: String
    /// Methods the contact accepts (Kamailio's `METHOD_*` bit mask; all bits = any).
    public var methods: UInt32
    public var userAgent: String
    /// `+sip.instance` (RFC 5626), "" when none.
    public var instance: String
    public var regID: Int
    public var serverID: Int
    /// The TCP connection the REGISTER came on, -1 for none.
    public var connectionID: Int
    public var keepalive: Int
    /// Unix seconds of the last change.
    public var lastModified: Int

    /// Kamailio's `Q_UNSPECIFIED`.
    public static let qUnspecified = -1
    /// Kamailio's `ALL_METHODS`.
    public static let allMethods: UInt32 = 0xFFFF_FFFF
    /// Kamailio's `FL_MEM`: kept in memory only.
    public static let memoryOnlyFlag: UInt32 = 1

    public init(
        address: String, ruid: String = "", expires: Int = 0, q: Int = UsrlocContact.qUnspecified,
        callID: String = "", cseq: Int = 0, flags: UInt32 = 0, cflags: UInt32 = 0, path: String = "",
        received: String = "", socket: String = "", methods: UInt32 = UsrlocContact.allMethods,
        userAgent: String = "", instance: String = "", regID: Int = 0, serverID: Int = 0, connectionID: Int = -1,
        keepalive: Int = 0, lastModified: Int = 0
    ) {
        self.address = address
        self.ruid = ruid
        self.expires = expires
        self.q = q
        self.callID = callID
        self.cseq = cseq
        self.flags = flags
        self.cflags = cflags
        self.path = path
        self.received = received
        self.socket = socket
        self.methods = methods
        self.userAgent = userAgent
        self.instance = instance
        self.regID = regID
        self.serverID = serverID
        self.connectionID = connectionID
        self.keepalive = keepalive
        self.lastModified = lastModified
    }

    /// Kamailio's `VALID_CONTACT`: permanent, or expiring after `now`.
    public func isValid(at now: Int) -> Bool { expires == 0 || expires > now }
}

/// An address of record with its contacts, highest q first.
public struct UsrlocRecord: Sendable, Equatable {
    public var aor: String
    /// Kamailio's `core_hash` of the AoR (`ul.dump`'s `HashID`, temp-GRUUs).
    public var aorHash: UInt32
    public var contacts: [UsrlocContact]

    public init(aor: String, aorHash: UInt32, contacts: [UsrlocContact]) {
        self.aor = aor
        self.aorHash = aorHash
        self.contacts = contacts
    }
}

/// A usrloc operation that could not be completed (a storage write, a full table).
public struct UsrlocError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One location table (Kamailio's `udomain_t`, e.g. `location`).
public protocol UsrlocDomain: AnyObject, Sendable {
    /// The table name.
    var name: String { get }
    /// A copy of the record of `aor`, nil when it has no contacts.
    func record(_ aor: String) -> UsrlocRecord?
    /// Changes the contacts of `aor` in one step, with the record locked (Kamailio's
    /// `lock_udomain` + `get_urecord` ... `unlock_udomain`). `body` gets the current contacts
    /// (empty for a new record) and edits them: contacts with a new ruid are inserted, missing
    /// ones deleted, changed ones updated; the list is then ordered by q (highest first, equal
    /// q in insertion order) and an empty record removed. Storage errors (database modes) are
    /// reported after `body` ran; the memory table is changed in any case.
    func update<R>(_ aor: String, _ body: (inout [UsrlocContact]) -> R) -> Result<R, UsrlocError>
    /// Removes `aor` with all its contacts; false when it did not exist.
    @discardableResult func removeRecord(_ aor: String) -> Bool
    /// Copies of every record (RPC dumps).
    func records() -> [UsrlocRecord]
    /// The contact with `ruid` and its AoR (Kamailio's `get_urecord_by_ruid`); `aorHash`
    /// narrows the search when known.
    func contact(ruid: String, aorHash: UInt32?) -> (aor: String, contact: UsrlocContact)?
}

/// usrloc's API for registrar and other modules (Kamailio's `ul_bind_usrloc`).
public protocol UsrlocAPI: AnyObject {
    /// The table `name`, created on first use (Kamailio's `register_udomain`, called from
    /// fixups; tables are created before workers start).
    func registerDomain(_ name: String) throws(FixupError) -> UsrlocDomain
    /// A table already registered, or nil.
    func domain(named name: String) -> UsrlocDomain?
    /// usrloc's `use_domain`: AoRs are `user@domain` instead of `user`.
    var useDomain: Bool { get }
    /// usrloc's `nat_bflag` as a branch-flag mask (0 when unset).
    var natFlagMask: UInt64 { get }
    /// usrloc's `matching_mode`: 0 contact, 1 contact and Call-ID, 2 contact and path,
    /// 3 Call-ID only.
    var matchingMode: Int { get }
    /// usrloc's `cseq_delay`: seconds within which a request with the same CSeq is a
    /// retransmission.
    var cseqDelay: Int { get }
    /// The current time in Unix seconds, as usrloc counts it (follows the core's clock, so a
    /// virtual clock in tests moves it).
    func now() -> Int
    /// A new unique record id (Kamailio's `sruid_next`).
    func newRUID() -> String
    /// Kamailio's `ul_get_aorhash` (`core_hash`).
    func aorHash(_ aor: String) -> UInt32
}

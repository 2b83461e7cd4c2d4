/// usrloc's list of its tables, for modules that walk every contact (nathelper's NAT
/// pinger; Kamailio's `get_all_ucontacts` walks all domains). Offered by usrloc next to
/// `UsrlocAPI`.
public protocol UsrlocTableListing: AnyObject {
    /// The tables registered so far, in registration order (read after start-up).
    func tableNames() -> [String]
}

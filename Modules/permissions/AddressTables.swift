import SwiftletSDK

/// The `address` table in memory (Kamailio's address hash table, subnet table and domain
/// name table), replaced as a whole by a reload.
struct AddressTables: Sendable {
    struct Address: Sendable {
        var group: Int
        var ip: IPAddress
        var port: Int
        var tag: String?
    }

    struct Subnet: Sendable {
        var group: Int
        var ip: IPAddress
        var mask: Int
        var port: Int
        var tag: String?
    }

    struct DomainName: Sendable {
        var group: Int
        var name: String
        var port: Int
        var tag: String?
    }

    /// Single addresses by `PermHash` bucket, the last inserted first.
    var addresses: [[Address]] = Array(repeating: [], count: PermHash.size)
    /// Subnets ordered by group (insertion order within a group), at most `maxSubnets`.
    var subnets: [Subnet] = []
    /// Names that are not addresses, by bucket, the last inserted first.
    var domains: [[DomainName]] = Array(repeating: [], count: PermHash.size)
    var maxSubnets = 512

    /// `reload_address_insert`: an address with the full mask (0 counts as full) goes to the
    /// address table, other masks to the subnet table, a name to the domain table. False for a
    /// mask out of range (the load fails).
    mutating func insert(group: Int, address: String, mask: Int, port: Int, tag: String?) -> Bool {
        guard let ip = IPAddress(address) else {
            domains[PermHash.bucket(address)].insert(
                DomainName(group: group, name: address, port: port, tag: tag), at: 0)
            return true
        }
        let full = ip.isIPv6 ? 128 : 32
        guard mask >= 0, mask <= full else { return false }
        let m = mask == 0 ? full : mask
        if m == full {
            addresses[PermHash.bucket(ip)].insert(Address(group: group, ip: ip, port: port, tag: tag), at: 0)
        } else if subnets.count < maxSubnets {
            // After the subnets of the same or a lower group.
            let at = subnets.lastIndex { $0.group <= group }.map { $0 + 1 } ?? 0
            subnets.insert(Subnet(group: group, ip: ip, mask: m, port: port, tag: tag), at: at)
        } else {
            Log.error("permissions", "subnet table is full")
        }
        return true
    }

    /// `match_addr_hash_table` then `match_subnet_table` (or `match_domain_name_table` for a
    /// name): the tag of the entry that matched (`.some(nil)` when it has none), nil when none.
    func match(group: Int, address: String, port: Int) -> String?? {
        if let ip = IPAddress(address) { return match(group: group, ip: ip, port: port) }
        for d in domains[PermHash.bucket(address)]
        where d.group == group && (d.port == 0 || d.port == port) && d.name == address {
            return .some(d.tag)
        }
        return nil
    }

    func match(group: Int, ip: IPAddress, port: Int) -> String?? {
        for a in addresses[PermHash.bucket(ip)] where a.group == group && (a.port == 0 || a.port == port) && a.ip == ip
        {
            return .some(a.tag)
        }
        for s in subnets where s.group == group && (s.port == port || s.port == 0) && ip.inNetwork(s.ip, mask: s.mask) {
            return .some(s.tag)
        }
        return nil
    }

    /// `find_group_in_addr_hash_table` then `find_group_in_subnet_table` (or the domain name
    /// table): the group of the first entry that matches and its tag.
    func findGroup(address: String, port: Int) -> (group: Int, tag: String?)? {
        if let ip = IPAddress(address) { return findGroup(ip: ip, port: port) }
        for d in domains[PermHash.bucket(address)] where (d.port == 0 || d.port == port) && d.name == address {
            // Kamailio sets no tag for a domain name found here.
            return (d.group, nil)
        }
        return nil
    }

    func findGroup(ip: IPAddress, port: Int) -> (group: Int, tag: String?)? {
        for a in addresses[PermHash.bucket(ip)] where (a.port == 0 || a.port == port) && a.ip == ip {
            return (a.group, a.tag)
        }
        for s in subnets where (s.port == port || s.port == 0) && ip.inNetwork(s.ip, mask: s.mask) {
            return (s.group, s.tag)
        }
        return nil
    }
}

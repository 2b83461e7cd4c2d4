import SwiftletSDK

/// The domains and attributes loaded from the tables (Kamailio's `domain_list` hash table:
/// 128 buckets by `core_case_hash` of the domain, and the attribute lists by did in an
/// extra bucket).
struct DomainSet: Sendable {
    /// A `domain_attrs` value: type 0 an integer, type 2 a string.
    enum Value: Sendable, Equatable {
        case int(Int)
        case string(String)
    }

    struct Attribute: Sendable, Equatable {
        var name: String
        var value: Value
    }

    /// One domain: its did and the did's attributes (newest row first, as Kamailio prepends).
    struct Entry: Sendable {
        var domain: String
        var did: String
        var attributes: [Attribute]
    }

    /// `DOM_HASH_SIZE`.
    static let bucketCount = 128

    /// Each bucket's domains, the last installed first.
    var buckets: [[Entry]] = Array(repeating: [], count: bucketCount)
    /// Attribute lists by did, the last did seen first (the extra bucket).
    var attributeLists: [(did: String, attributes: [Attribute])] = []

    /// `hash_table_attr_install`: the attribute goes in front of its did's list.
    mutating func addAttribute(did: String, _ attribute: Attribute) {
        if let i = attributeLists.firstIndex(where: { $0.did.lowercased() == did.lowercased() }) {
            attributeLists[i].attributes.insert(attribute, at: 0)
        } else {
            attributeLists.insert((did, [attribute]), at: 0)
        }
    }

    /// `hash_table_install`: the domain with the attributes of its did (as loaded so far).
    mutating func addDomain(_ domain: String, did: String) {
        let attrs = attributeLists.first { $0.did.lowercased() == did.lowercased() }?.attributes ?? []
        buckets[Self.bucket(domain)].insert(Entry(domain: domain, did: did, attributes: attrs), at: 0)
    }

    func find(_ host: String) -> Entry? {
        let lower = host.lowercased()
        return buckets[Self.bucket(host)].first {
            $0.domain.utf8.count == host.utf8.count && $0.domain.lowercased() == lower
        }
    }

    /// Every domain in bucket order (what `domain.dump` lists).
    var entries: [Entry] { buckets.flatMap { $0 } }

    /// Kamailio's `core_case_hash(s, 0, DOM_HASH_SIZE)`.
    static func bucket(_ text: String) -> Int {
        let b = Array(text.utf8)
        // `char` is signed on x86; ASCII letters are lowered.
        func ch(_ i: Int) -> UInt32 {
            var c = b[i]
            if c >= 65 && c <= 90 { c |= 0x20 }
            return UInt32(bitPattern: Int32(Int8(bitPattern: c)))
        }
        var h: UInt32 = 0
        var p = 0
        while p + 4 <= b.count {
            let v = (ch(p) << 24) &+ (ch(p + 1) << 16) &+ (ch(p + 2) << 8) &+ ch(p + 3)
            h = h &+ (v ^ (v >> 3))
            p += 4
        }
        var v: UInt32 = 0
        while p < b.count {
            v = (v << 8) &+ ch(p)
            p += 1
        }
        h = h &+ (v ^ (v >> 3))
        h = (h &+ (h >> 11)) &+ ((h >> 13) &+ (h >> 23))
        return Int(h & UInt32(bucketCount - 1))
    }
}

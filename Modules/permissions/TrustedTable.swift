import SwiftletSDK

/// Kamailio's protocol numbers (`PROTO_NONE` .. `PROTO_WSS`) as the trusted table keeps them.
enum TrustedProto {
    /// The number of a `proto` column value or an `allow_trusted` argument ("any" is 0),
    /// nil when unknown; "none" (rows that are skipped) is -1.
    static func number(_ text: String) -> Int? {
        switch text.lowercased() {
        case "any": 0
        case "udp": 1
        case "tcp": 2
        case "tls": 3
        case "sctp": 4
        case "ws": 5
        case "wss": 6
        case "none": -1
        default: nil
        }
    }

    /// The number of the transport a message came over.
    static func number(_ proto: TransportProtocol) -> Int {
        number(proto.rawValue) ?? 0
    }
}

/// A `trusted` row: source IP, protocol, From and Request-URI patterns, tag, priority.
struct TrustedPeer: Sendable {
    var sourceIP: String
    var proto: Int
    var fromPattern: String?
    var ruriPattern: String?
    var tag: String?
    var priority: Int

    /// Kamailio's `regcomp(REG_NOSUB)` + `regexec`: a basic (not extended), case-sensitive
    /// regular expression found anywhere in the text. nil when the pattern does not compile.
    static func matches(_ pattern: String, _ text: String) -> Bool? {
        guard let r = try? POSIXRegex(pattern, flags: 0) else { return nil }
        return r.matches(text)
    }

    /// `match_hash_table`/`match_res` for one row: both patterns (when set) match the From
    /// URI and the Request-URI. A pattern that does not compile does not match.
    func accepts(from: String, ruri: String) -> Bool {
        if let p = fromPattern {
            guard Self.matches(p, from) == true else { return false }
        }
        if let p = ruriPattern {
            guard Self.matches(p, ruri) == true else { return false }
        }
        return true
    }
}

/// The `trusted` table in memory (`db_mode` 1): rows by `PermHash` bucket of `src_ip`, each
/// bucket by priority, highest first (a row goes after those of the same priority).
struct TrustedTable: Sendable {
    var buckets: [[TrustedPeer]] = Array(repeating: [], count: PermHash.size)

    mutating func insert(_ p: TrustedPeer) {
        let b = PermHash.bucket(p.sourceIP)
        let at = buckets[b].firstIndex { $0.priority < p.priority } ?? buckets[b].count
        buckets[b].insert(p, at: at)
    }

    func candidates(_ sourceIP: String, proto: Int) -> [TrustedPeer] {
        buckets[PermHash.bucket(sourceIP)].filter {
            $0.sourceIP == sourceIP && ($0.proto == 0 || proto == 0 || $0.proto == proto)
        }
    }
}

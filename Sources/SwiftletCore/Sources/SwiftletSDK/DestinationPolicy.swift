import Synchronization

/// The core's destination blocklist (Kamailio's `dst_blocklist`, on with `use_dst_blocklist`):
/// destinations that failed (a send error, a transaction timeout, a 503 with tm's
/// `blst_503`) are skipped until their entry expires (`dst_blocklist_expire` seconds unless
/// the caller gives a time). Entries are by protocol and address; time is the core's timer
/// ticks, so that tests run it on a virtual clock.
public final class DestinationBlocklist: Sendable {
    /// `dst_blocklist_expire`: how long an entry stays, in seconds.
    public let defaultSeconds: Int
    private let ticks: @Sendable () -> UInt64
    private let entries = Mutex<[String: UInt64]>([:])
    /// Bound of the list: when full, expired entries go, then the oldest half.
    private static let maxEntries = 8192

    /// A list whose entries last `defaultSeconds`, timed by `ticks` (1/16 s).
    public init(defaultSeconds: Int, ticks: @escaping @Sendable () -> UInt64) {
        self.defaultSeconds = defaultSeconds
        self.ticks = ticks
    }

    private static func key(_ proto: TransportProtocol, _ address: SocketAddress) -> String {
        "\(proto.name):\(address)"
    }

    /// Adds (or renews) `proto:address` for `seconds` (nil: `dst_blocklist_expire`).
    public func add(_ proto: TransportProtocol, _ address: SocketAddress, seconds: Int? = nil) {
        let s = seconds ?? defaultSeconds
        guard s > 0 else { return }
        let now = ticks()
        let until = now + UInt64(s) * UInt64(Timers.ticksPerSecond)
        entries.withLock { e in
            if e.count >= Self.maxEntries {
                e = e.filter { $0.value > now }
                if e.count >= Self.maxEntries {
                    e = Dictionary(
                        uniqueKeysWithValues: e.sorted { $0.value > $1.value }.prefix(Self.maxEntries / 2).map { $0 })
                }
            }
            let k = Self.key(proto, address)
            e[k] = max(e[k] ?? 0, until)
        }
    }

    /// Whether `proto:address` is blocklisted now.
    public func contains(_ proto: TransportProtocol, _ address: SocketAddress) -> Bool {
        let now = ticks()
        return entries.withLock { e in
            let k = Self.key(proto, address)
            guard let until = e[k] else { return false }
            if until > now { return true }
            e[k] = nil
            return false
        }
    }

    /// Removes every entry (RPC `dst_blocklist.flush`-like uses, tests).
    public func removeAll() { entries.withLock { $0.removeAll() } }

    /// The entries that have not expired, as `proto:address`.
    public var current: [String] {
        let now = ticks()
        return entries.withLock { e in e.filter { $0.value > now }.map(\.key).sorted() }
    }
}

/// What the core decided about failing destinations, for modules that send (tm): whether
/// DNS failover is on (`use_dns_failover`) and the destination blocklist (nil without
/// `use_dst_blocklist`). The runtime provides it (`CoreContext.destinationPolicy`).
public protocol DestinationPolicy: AnyObject, Sendable {
    /// `use_dns_failover`: a failed branch is retried on the next address of its next hop.
    var useDNSFailover: Bool { get }
    /// The destination blocklist, or nil when `use_dst_blocklist` is off.
    var blocklist: DestinationBlocklist? { get }
}

/// A resolver that gives every address of a next hop in the order RFC 3263 tries them (SRV
/// records by priority and weight, each target's addresses, or the A/AAAA records of a
/// name): what DNS failover walks through (Kamailio's `dns_srv_handle`).
public protocol SIPNameListResolver: SIPNameResolver {
    /// All targets of `host`, the first being what `resolve(host:port:proto:)` returns; empty
    /// when the name does not resolve.
    func resolveAll(host: String, port: Int?, proto: TransportProtocol?) -> [ResolvedTarget]
}

extension CoreContext {
    /// The core's DNS failover switch and destination blocklist, when the runtime provides
    /// them (nil in a bare context: no failover, no blocklist).
    public var destinationPolicy: (any DestinationPolicy)? { apis.lookup(DestinationPolicy.self) }
}

internal import CResolv
import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// DNS lookups through the system resolver library (libresolv), with a TTL cache
/// (Kamailio's `get_record` and its DNS cache). The SIP rules on top of it (NAPTR, SRV,
/// A/AAAA, RFC 3263) are in `SIPResolver`.
public final class DNSResolver: Sendable {
    /// The process's resolver.
    public static let shared = DNSResolver()

    /// Settings from the configuration; written by the runtime before workers start.
    /// Reads return `taskSettings` when the current task has set it.
    public static var settings: DNSSettings {
        get { taskSettings ?? configuredSettings }
        set { configuredSettings = newValue }
    }

    /// Settings that override `settings` for one task and what it calls synchronously, so
    /// that a test can point the resolver at its own DNS server while other tests in the
    /// same process load configurations (which write `settings`).
    @TaskLocal public static var taskSettings: DNSSettings?

    nonisolated(unsafe) private static var configuredSettings = DNSSettings()

    private struct Key: Hashable {
        let name: String
        let kind: Int32
    }

    private struct Entry {
        let records: [DNSRecord]
        let expires: UInt64
    }

    private let cache = Mutex<[Key: Entry]>([:])
    /// Bound of the cache; when full, expired entries go, then everything.
    private static let maxEntries = 4096

    public init() {}

    /// The records of `kind` for `name` (empty when there are none or the query failed):
    /// from `/etc/hosts` for A/AAAA when the name is there, else from the cache, else by a query.
    public func lookup(_ name: String, _ kind: DNSRecord.Kind) -> [DNSRecord] {
        let settings = DNSResolver.settings
        if kind == .a || kind == .aaaa, let hosts = HostsFile.shared.addresses(name, ipv6: kind == .aaaa) {
            return hosts.map { bytes in
                var r = DNSRecord(kind: kind)
                r.address = bytes
                return r
            }
        }
        let key = Key(name: name.lowercased(), kind: kind.rawValue)
        let now = DNSResolver.nowSeconds()
        if settings.useCache, let hit = cache.withLock({ $0[key] }), hit.expires > now {
            return hit.records
        }
        let records = query(name, kind, settings)
        if settings.useCache {
            let ttl =
                records.isEmpty
                ? settings.negativeTTL
                : min(settings.maxTTL, max(settings.minTTL, records.map(\.ttl).min() ?? 0))
            if ttl > 0 {
                cache.withLock { c in
                    if c.count >= DNSResolver.maxEntries {
                        c = c.filter { $0.value.expires > now }
                        if c.count >= DNSResolver.maxEntries { c.removeAll() }
                    }
                    c[key] = Entry(records: records, expires: now + UInt64(ttl))
                }
            }
        }
        return records
    }

    /// Forgets every cached answer (tests; `dns.cache_flush`-like uses).
    public func flush() { cache.withLock { $0.removeAll() } }

    /// One query to the name server, uncached.
    func query(_ name: String, _ kind: DNSRecord.Kind, _ settings: DNSSettings) -> [DNSRecord] {
        guard DNSResolver.isDomainName(name) else { return [] }
        var options = swiftlet_dns_options()
        options.server_port = Int32(settings.server?.port ?? 0)
        options.retrans = Int32(settings.retransmitSeconds ?? 0)
        options.retry = Int32(settings.retransmissions ?? 0)
        options.servers_no = Int32(settings.serverCount ?? 0)
        options.use_search = settings.useSearchList ? 1 : 0
        let maxRecords = 64
        var raw = [swiftlet_dns_rr](repeating: swiftlet_dns_rr(), count: maxRecords)
        let n: Int32 = raw.withUnsafeMutableBufferPointer { buf in
            if let server = settings.server {
                return server.ip.withCString { ip in
                    options.server_ip = ip
                    return swiftlet_dns_query(name, kind.rawValue, &options, buf.baseAddress, Int32(maxRecords))
                }
            }
            return swiftlet_dns_query(name, kind.rawValue, &options, buf.baseAddress, Int32(maxRecords))
        }
        guard n > 0 else {
            Log.debug("core", "DNS \(kind) \(name): \(n == SWIFTLET_DNS_NOT_FOUND ? "not found" : "no answer")")
            return []
        }
        return raw[0..<Int(n)].map(DNSResolver.record)
    }

    private static func record(_ r: swiftlet_dns_rr) -> DNSRecord {
        var d = DNSRecord(kind: DNSRecord.Kind(rawValue: r.type) ?? .a, ttl: Int(r.ttl))
        switch d.kind {
        case .a: d.address = withUnsafeBytes(of: r.addr) { Array($0[0..<4]) }
        case .aaaa: d.address = withUnsafeBytes(of: r.addr) { Array($0[0..<16]) }
        default: break
        }
        d.priority = Int(r.priority)
        d.weight = Int(r.weight)
        d.port = Int(r.port)
        d.target = text(r.target)
        d.flags = text(r.flags)
        d.services = text(r.services)
        d.regexp = text(r.regexp)
        return d
    }

    /// A NUL-terminated C char array (imported as a tuple) as a String.
    private static func text<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            let end = raw.firstIndex(of: 0) ?? raw.count
            return String(decoding: raw[0..<end], as: UTF8.self)
        }
    }

    /// Kamailio's check before a query: letters, digits, `.`, `-`, `_` only.
    static func isDomainName(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { c in
                (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x2e
                    || c == 0x2d || c == 0x5f
            }
    }

    static func nowSeconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec)
    }
}

/// `/etc/hosts`, read once: name -> addresses (what getaddrinfo would find there first).
final class HostsFile: Sendable {
    static let shared = HostsFile(path: "/etc/hosts")

    private let v4: [String: [[UInt8]]]
    private let v6: [String: [[UInt8]]]

    init(path: String) {
        var v4: [String: [[UInt8]]] = [:]
        var v6: [String: [[UInt8]]] = [:]
        if let f = fopen(path, "r") {
            defer { fclose(f) }
            var line: UnsafeMutablePointer<CChar>? = nil
            var cap = 0
            while getline(&line, &cap, f) > 0, let line {
                var text = String(cString: line)
                if let hash = text.firstIndex(of: "#") { text = String(text[..<hash]) }
                let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
                guard fields.count >= 2, let bytes = IPAddressText.bytes(String(fields[0])) else { continue }
                for name in fields.dropFirst() {
                    let n = name.lowercased()
                    if bytes.count == 4 { v4[n, default: []].append(bytes) } else { v6[n, default: []].append(bytes) }
                }
            }
            free(line)
        }
        self.v4 = v4
        self.v6 = v6
    }

    /// The addresses of `name` of one family, or nil when the name is not in the file at all
    /// (a name listed only with IPv4 addresses has no IPv6 ones, as with getaddrinfo).
    func addresses(_ name: String, ipv6: Bool) -> [[UInt8]]? {
        let n = name.lowercased()
        guard v4[n] != nil || v6[n] != nil else { return nil }
        return (ipv6 ? v6[n] : v4[n]) ?? []
    }
}

import SwiftletSDK

/// kex's `stats.*` RPC commands (Kamailio's `core_stats.c`) over the core's counters. Each
/// parameter names what to show: `all`, `group:` (every counter of a group) or a counter
/// name (the first counter with that name in any group). Values print as unsigned, as
/// Kamailio's `%lu`.
enum KexStatsRPC {
    static let commands: [RPCCommand] = [
        RPCCommand("stats.get_statistics", "get core and modules stats", handler: getStatistics),
        RPCCommand("stats.fetch", "fetch core and modules stats as string values", handler: fetchStrings),
        RPCCommand("stats.fetchn", "fetch core and modules stats as number values", handler: fetchNumbers),
        RPCCommand("stats.reset_statistics", "reset core and modules stats (silent operation)", handler: reset),
        RPCCommand("stats.clear_statistics", "clear core and modules stats (verbose operation)", handler: clear),
    ]

    /// The counters a parameter names: `all`, `group:` or a counter name.
    static func select(_ what: String) -> [CounterHandle] {
        let c = Counters.shared
        if what == "all" { return c.groups.flatMap { c.counters(inGroup: $0) } }
        if what.hasSuffix(":") { return c.counters(inGroup: String(what.dropLast())) }
        return c.lookup(group: nil, name: what).map { [$0] } ?? []
    }

    /// The parameters as strings; at least one is required.
    static func names(_ r: RPCRequest, missing: String) throws(RPCError) -> [String] {
        guard !r.params.isEmpty else { throw RPCError(400, missing) }
        var out: [String] = []
        for i in r.params.indices { out.append(try r.string(i)) }
        return out
    }

    static func unsigned(_ v: Int) -> String { String(UInt(bitPattern: v)) }

    static func line(_ h: CounterHandle, _ value: String) -> String {
        "\(Counters.shared.group(h)):\(Counters.shared.name(h)) = \(value)"
    }

    /// `["core:rcv_requests = 3", ...]`
    @Sendable static func getStatistics(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        let lines = try names(r, missing: "Please provide which stats to retrieve").flatMap(select).map {
            RPCValue.string(line($0, unsigned(Counters.shared.value($0))))
        }
        return .array(lines)
    }

    @Sendable static func fetchStrings(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        try fetch(r) { .string(unsigned($0)) }
    }

    @Sendable static func fetchNumbers(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        try fetch(r) { .int($0) }
    }

    /// `{"core.rcv_requests": value, ...}`; a name may also be written `group.name` or `group:name`.
    static func fetch(_ r: RPCRequest, _ value: (Int) -> RPCValue) throws(RPCError) -> RPCValue {
        let c = Counters.shared
        var members: [(String, RPCValue)] = []
        for what in try names(r, missing: "Please provide which stats to retrieve") {
            var handles = select(what)
            if handles.isEmpty, let sep = what.firstIndex(where: { $0 == "." || $0 == ":" }),
                let h = c.lookup(group: nil, name: String(what[what.index(after: sep)...])),
                c.group(h) == what[..<sep]
            {
                handles = [h]
            }
            for h in handles { members.append(("\(c.group(h)).\(c.name(h))", value(c.value(h)))) }
        }
        return .object(members)
    }

    /// Resets the named counters; prints nothing.
    @Sendable static func reset(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        for h in try names(r, missing: "Please provide stats name").flatMap(select) { Counters.shared.reset(h) }
        return .object([])
    }

    /// Resets the named counters and prints `group:name = new (old)` (`= new` when unchanged).
    /// As jsonrpcs prints a command that adds several values without being declared as
    /// returning an array, the result is the last line (or `{}` when nothing matched).
    @Sendable static func clear(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        let c = Counters.shared
        var last: RPCValue = .object([])
        for h in try names(r, missing: "Please provide stats name").flatMap(select) {
            let old = c.value(h)
            c.reset(h)
            let new = c.value(h)
            last = .string(line(h, old == new ? unsigned(new) : "\(unsigned(new)) (\(unsigned(old)))"))
        }
        return last
    }
}

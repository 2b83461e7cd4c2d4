import SwiftletSDK

/// Destination state bits (Kamailio's `DS_*_DST`).
enum DSState {
    static let inactive = 1
    static let trying = 2
    static let disabled = 4
    static let probing = 8
    static let noDNSResolve = 16
    static let all = 31

    /// `ds_skip_dst`: inactive or disabled.
    @inline(__always) static func skipped(_ flags: Int) -> Bool { flags & (inactive | disabled) != 0 }

    /// Kamailio's `ds_parse_flags` (`ds_mark_dst("ip")`): a, i, d, t, p in any case; -1 for
    /// anything else.
    static func parse(_ text: String) -> Int {
        var flags = 0
        for c in text.lowercased() {
            switch c {
            case "a": flags &= ~all
            case "i": flags |= inactive
            case "d": flags |= disabled
            case "t": flags |= trying
            case "p": flags |= probing
            default: return -1
            }
        }
        return flags
    }

    /// The two letters of `dispatcher.list`'s `FLAGS` (`AX`, `IP`, `DX`, `TP`, ...).
    static func letters(_ flags: Int) -> String {
        let first =
            flags & inactive != 0 ? "I" : flags & disabled != 0 ? "D" : flags & trying != 0 ? "T" : "A"
        return first + (flags & probing != 0 ? "P" : "X")
    }
}

/// A destination's attributes (Kamailio's `ds_attrs_t`), parsed from `name=value;...`.
struct DSAttributes: Sendable, Equatable {
    var body = ""
    var duid = ""
    var socket = ""
    var sockname = ""
    var maxload = 0
    var weight = 0
    var rweight = 0
    var congestionControl = 0
    var pingFrom = ""
    var obproxy = ""
    var latency: Int?

    /// Kamailio's `ds_set_attrs`: a trailing `;` is dropped; unknown names are kept in the
    /// body only; `weight`/`rweight` outside 1-100 become 0.
    init(parsing text: String, attrsNone: Bool = false) {
        var s = text
        if s.isEmpty {
            guard attrsNone else { return }
            s = "none=yes"
        }
        if s.hasSuffix(";") { s.removeLast() }
        body = s
        for (name, value) in DSAttributes.parameters(s) {
            switch name.lowercased() {
            case "duid": duid = value
            case "cc": congestionControl = DSAttributes.integer(value)
            case "weight":
                let w = DSAttributes.integer(value)
                weight = (1...100).contains(w) ? w : 0
                if weight == 0 {
                    Log.error("dispatcher", "weight \(w) not in 1-100 range - ignoring destination")
                }
            case "latency": if let l = Int(value) { latency = l }
            case "maxload": maxload = DSAttributes.integer(value)
            case "socket": socket = value
            case "sockname": sockname = value
            case "rweight":
                let w = DSAttributes.integer(value)
                rweight = (1...100).contains(w) ? w : 0
                if rweight == 0 { Log.warning("dispatcher", "rweight \(w) not in 1-100 range - ignoring") }
            case "ping_from": pingFrom = value
            case "obproxy": obproxy = value
            default: break
            }
        }
    }

    init() {}

    /// `name=value` pairs separated by `;` (Kamailio's `parse_params`; quotes around a value
    /// are removed).
    static func parameters(_ s: String) -> [(String, String)] {
        s.split(separator: ";", omittingEmptySubsequences: true).map { part in
            let p = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(p[0]).trimmingCharacters()
            var value = p.count > 1 ? String(p[1]).trimmingCharacters() : ""
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            return (name, value)
        }
    }

    /// Kamailio's `str2sint`: the number, 0 when it is not one.
    static func integer(_ s: String) -> Int { Int(s) ?? 0 }
}

/// Latency statistics of a probed destination (Kamailio's `ds_latency_stats_t`).
struct DSLatency: Sendable, Equatable {
    var min = 0
    var max = 0
    var average: Float = 0
    var stdev: Float = 0
    var estimate: Float = 0
    var m2: Double = 0
    var count = 0
    var timeout = 0
    /// When the last probe was sent (milliseconds of the core's clock).
    var start: UInt64 = 0

    init() {}

    init(initial latency: Int, count: Int) {
        min = latency
        max = latency
        average = Float(latency)
        estimate = Float(latency)
        self.count = count
    }

    /// Kamailio's `latency_stats_update` (Welford's online variance; an exponentially
    /// weighted estimate from the 10th sample on).
    mutating func update(_ latency: Int, alpha: Float) {
        if count < 2_097_152 {
            count += 1
        } else {
            m2 -= m2 / Double(Swift.max(count, 1))
        }
        if count == 1 { self = DSLatency(initial: latency, count: 1) }
        if count > 10 && count < 10_000 && stdev < 0.5 { count = 10_000 }
        if min > latency { min = latency }
        if max < latency { max = latency }
        if count > 1 {
            let delta = Float(latency) - average
            average += delta / Float(Swift.max(count, 1))
            let delta2 = Float(latency) - average
            m2 += Double(delta) * Double(delta2)
            stdev = Float((m2 / Double(Swift.max(count - 1, 1))).squareRoot())
        }
        if count < 10 {
            estimate = average
        } else {
            estimate = estimate * alpha + Float(latency) * (1 - alpha)
        }
    }
}

/// One destination of a set (Kamailio's `ds_dest_t`).
struct DSDestination: Sendable {
    var uri: String
    var host: String
    /// The URI's port, 0 when it names none (matches any port in `ds_is_from_list`).
    var port: Int
    /// The URI's `transport`, nil when it names none (Kamailio's PROTO_NONE).
    var proto: TransportProtocol?
    var flags: Int
    var priority: Int
    var attrs: DSAttributes
    /// Calls in progress (call-load dispatching).
    var dload = 0
    /// Probes failed (or answered while inactive) in a row.
    var messageCount = 0
    var socket: ListeningSocket?
    /// The address the host resolved to (port 0); nil when not resolved.
    var address: SocketAddress?
    /// When the DNS timer last resolved it (seconds, microseconds; 0 before).
    var dnsTime = (sec: 0, usec: 0)
    var latency = DSLatency()
    /// Runtime priority of algorithm 13.
    var runtimePriority = 0
    /// The fields of its failover record (`xavp_dst`), newest first and without `dstid`;
    /// built once when the list is installed (`DispatcherModule.install`).
    var failoverFields: [XAVP] = []
}

/// A destination set (Kamailio's `ds_set_t`).
struct DSSet: Sendable {
    let id: Int
    var destinations: [DSDestination]
    var last = 0
    var wlast = 0
    var rwlast = 0
    var wlist: [Int] = []
    var rwlist: [Int] = []

    var count: Int { destinations.count }

    /// Kamailio's `dp_init_weights`: 100 slots holding destination indexes in proportion to
    /// `weight` (the rest to the last destination), shuffled. Only when the first has a weight.
    mutating func initWeights() {
        guard !destinations.isEmpty, destinations[0].attrs.weight != 0 else {
            wlist = []
            return
        }
        var list: [Int] = []
        outer: for (j, d) in destinations.enumerated() {
            for _ in 0..<d.attrs.weight {
                if list.count >= 100 { break outer }
                list.append(j)
            }
        }
        if list.count < 100 {
            Log.info("dispatcher", "extra weight \(100 - list.count) for last destination in group \(id)")
            while list.count < 100 { list.append(destinations.count - 1) }
        }
        list.shuffle()
        wlist = list
    }

    /// Kamailio's `dp_init_relative_weights`: as `initWeights` over the active destinations'
    /// `rweight`, recomputed when one changes state.
    mutating func initRelativeWeights() {
        guard destinations.count >= 2 else { return }
        let sum = destinations.reduce(0) { DSState.skipped($1.flags) ? $0 : $0 + $1.attrs.rweight }
        guard sum != 0 else { return }
        var list: [Int] = []
        for (j, d) in destinations.enumerated() where !DSState.skipped(d.flags) {
            let slice = d.attrs.rweight * 100 / sum
            for _ in 0..<slice { list.append(j) }
        }
        let last = list.last ?? destinations.count - 1
        if list.count < 100 {
            Log.info("dispatcher", "extra rweight \(100 - list.count) for last active destination in group \(id)")
        }
        while list.count < 100 { list.append(last) }
        list.shuffle()
        rwlist = list
    }

    /// The destination with `uri` (any case), as Kamailio compares addresses.
    func index(of uri: String) -> Int? {
        let lower = uri.lowercased()
        return destinations.firstIndex { $0.uri.lowercased() == lower }
    }

    /// The destination with `duid` (any case).
    func index(duid: String) -> Int? {
        let lower = duid.lowercased()
        return destinations.firstIndex { $0.attrs.duid.lowercased() == lower }
    }
}

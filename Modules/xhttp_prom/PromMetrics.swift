import Foundation
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The user-defined metrics of `prom_counter`, `prom_gauge` and `prom_histogram` (Kamailio's
/// `prom_metric.c`): each has a name, up to three label names, and one value per set of
/// label values, printed in Prometheus' text format.
final class PromMetrics: @unchecked Sendable {
    enum Kind { case counter, gauge, histogram }

    /// Kamailio's default buckets.
    static let defaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Series {
        var labels: [String]
        var counter: UInt64 = 0
        var gauge: Double = 0
        var buckets: [UInt64] = []
        var count: UInt64 = 0
        var sum: Double = 0
        /// Seconds since the epoch of the last change (`xhttp_prom_timeout`).
        var touched = 0
    }

    final class Metric {
        let name: String
        let kind: Kind
        let labelNames: [String]
        let upperBounds: [Double]
        var series: [Series] = []

        init(name: String, kind: Kind, labelNames: [String], upperBounds: [Double]) {
            self.name = name
            self.kind = kind
            self.labelNames = labelNames
            self.upperBounds = upperBounds
        }
    }

    private var lock = pthread_mutex_t()
    private var metrics: [Metric] = []
    /// Minutes after which a label set not changed is removed (`xhttp_prom_timeout`, 60; 0 never).
    var timeoutMinutes = 60

    init() { pthread_mutex_init(&lock, nil) }

    private func locked<T>(_ body: () throws(PromError) -> T) throws(PromError) -> T {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return try body()
    }

    struct PromError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// A `prom_counter`/`prom_gauge`/`prom_histogram` parameter: `name=n; label=a:b:c;
    /// buckets=0.1:1:10`.
    func define(_ kind: Kind, _ text: String) throws(PromError) {
        var name: String?
        var labels: [String] = []
        var buckets: [Double]?
        for part in text.split(separator: ";") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, !kv[1].isEmpty else { throw PromError("bad metric definition: \(text)") }
            switch kv[0] {
            case "name": name = kv[1]
            case "label": labels = kv[1].split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            case "buckets" where kind == .histogram:
                var b: [Double] = []
                for v in kv[1].split(separator: ":") {
                    guard let d = Double(v.trimmingCharacters(in: .whitespaces)), d > (b.last ?? -.infinity) else {
                        throw PromError("bad buckets: \(kv[1])")
                    }
                    b.append(d)
                }
                buckets = b
            default: throw PromError("unknown metric property '\(kv[0])' in: \(text)")
            }
        }
        guard let name, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }) else {
            throw PromError("a metric needs a valid name: \(text)")
        }
        guard labels.count <= 3 else { throw PromError("at most three labels: \(text)") }
        try locked { () throws(PromError) in
            if metrics.contains(where: { $0.name == name }) { throw PromError("metric \(name) defined twice") }
            metrics.append(
                Metric(name: name, kind: kind, labelNames: labels, upperBounds: buckets ?? Self.defaultBuckets))
        }
    }

    func kind(of name: String) -> Kind? {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return metrics.first { $0.name == name }?.kind
    }

    /// Changes the series of `name` with `labels` (created at zero when new).
    func update(_ name: String, _ kind: Kind, labels: [String], _ change: (inout Series, Metric) -> Void)
        throws(PromError)
    {
        try locked { () throws(PromError) in
            guard let m = metrics.first(where: { $0.name == name && $0.kind == kind }) else {
                throw PromError("metric not found: \(name)")
            }
            guard labels.count == m.labelNames.count else {
                throw PromError("metric \(name) has \(m.labelNames.count) labels, not \(labels.count)")
            }
            let now = Int(time(nil))
            if let i = m.series.firstIndex(where: { $0.labels == labels }) {
                change(&m.series[i], m)
                m.series[i].touched = now
            } else {
                var s = Series(labels: labels, buckets: Array(repeating: 0, count: m.upperBounds.count), touched: now)
                change(&s, m)
                m.series.append(s)
            }
        }
    }

    func counterInc(_ name: String, _ n: UInt64, labels: [String]) throws(PromError) {
        try update(name, .counter, labels: labels) { s, _ in s.counter &+= n }
    }

    func reset(_ name: String, _ kind: Kind, labels: [String]) throws(PromError) {
        try update(name, kind, labels: labels) { s, _ in
            s.counter = 0
            s.gauge = 0
        }
    }

    func gaugeSet(_ name: String, _ v: Double, labels: [String]) throws(PromError) {
        try update(name, .gauge, labels: labels) { s, _ in s.gauge = v }
    }

    func observe(_ name: String, _ v: Double, labels: [String]) throws(PromError) {
        try update(name, .histogram, labels: labels) { s, m in
            for (i, upper) in m.upperBounds.enumerated() where v <= upper { s.buckets[i] &+= 1 }
            s.count &+= 1
            s.sum += v
        }
    }

    /// The user-defined part of the page (Kamailio's `prom_metric_list_print`).
    func print(prefix: String, timestamp ts: UInt64) -> String {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        guard !metrics.isEmpty else { return "# NO User defined metrics\n" }
        var out = "# User defined metrics\n"
        let oldest = Int(time(nil)) - timeoutMinutes * 60
        for m in metrics {
            if timeoutMinutes > 0 { m.series.removeAll { $0.touched < oldest } }
            for s in m.series {
                let full = prefix + m.name
                switch m.kind {
                case .counter: out += "\(full)\(labels(m, s)) \(s.counter) \(ts)\n"
                case .gauge: out += "\(full)\(labels(m, s)) \(String(format: "%f", s.gauge)) \(ts)\n"
                case .histogram:
                    for (i, upper) in m.upperBounds.enumerated() {
                        out += "\(full)_bucket\(labels(m, s, le: String(format: "%f", upper))) \(s.buckets[i]) \(ts)\n"
                    }
                    out += "\(full)_bucket\(labels(m, s, le: "+Inf")) \(s.count) \(ts)\n"
                    out += "\(full)_sum\(labels(m, s)) \(String(format: "%f", s.sum)) \(ts)\n"
                    out += "\(full)_count\(labels(m, s)) \(s.count) \(ts)\n"
                }
            }
        }
        return out
    }

    /// `{a="x", b="y"}` (with `le` last for buckets); empty without labels.
    private func labels(_ m: Metric, _ s: Series, le: String? = nil) -> String {
        var parts = zip(m.labelNames, s.labels).map { "\($0)=\"\($1)\"" }
        if let le { parts.append("le=\"\(le)\"") }
        return parts.isEmpty ? "" : "{" + parts.joined(separator: ", ") + "}"
    }
}

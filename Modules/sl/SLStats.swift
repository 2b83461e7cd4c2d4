import SwiftletSDK
import Synchronization

/// Counters of the stateless replies sent, by class, as Kamailio's `sl.stats` RPC shows
/// them. Updated by every worker thread (under a mutex: one increment per reply), read by the RPC.
final class SLStats: Sendable {
    /// The keys in Kamailio's order; each reply counts under exactly one of them.
    static let keys = [
        "200", "202", "2xx", "300", "301", "302", "3xx", "400", "401", "403", "404", "407", "408", "483", "4xx", "500",
        "5xx", "6xx", "xxx",
    ]
    private let counters = Mutex([Int](repeating: 0, count: 19))
    /// `sent_err_replies`, `failures` (a reply could not be sent), `received_ACKs` (ACKs to
    /// this module's negative replies, filtered).
    private let others = Mutex((errReplies: 0, failures: 0, filteredACKs: 0))

    func countErrorReply() { others.withLock { $0.errReplies += 1 } }
    func countFailure() { others.withLock { $0.failures += 1 } }
    func countFilteredACK() { others.withLock { $0.filteredACKs += 1 } }

    /// Kamailio's `sl` statistics (kex `stats.*`, `$stat(...)`): `1xx_replies` ... `xxx_replies`
    /// (1xx replies count under xxx, as in Kamailio), `sent_replies`, `sent_err_replies`,
    /// `failures`, `received_ACKs`.
    func register(in registry: Counters) {
        let names = ["1xx"] + SLStats.keys
        for name in names {
            let i = SLStats.keys.firstIndex(of: name)
            _ = try? registry.register(group: "sl", name: "\(name)_replies", existingIsFine: true) { [self] in
                i.map { index in counters.withLock { $0[index] } } ?? 0
            }
        }
        _ = try? registry.register(group: "sl", name: "sent_replies", existingIsFine: true) { [self] in
            counters.withLock { $0.reduce(0, +) }
        }
        _ = try? registry.register(group: "sl", name: "sent_err_replies", existingIsFine: true) { [self] in
            others.withLock { $0.errReplies }
        }
        _ = try? registry.register(group: "sl", name: "failures", existingIsFine: true) { [self] in
            others.withLock { $0.failures }
        }
        _ = try? registry.register(group: "sl", name: "received_ACKs", existingIsFine: true) { [self] in
            others.withLock { $0.filteredACKs }
        }
    }

    /// The counter a reply code belongs to (Kamailio's `update_sl_stats`).
    static func index(for code: Int) -> Int {
        switch code {
        case 200: 0
        case 202: 1
        case 200..<300: 2
        case 300: 3
        case 301: 4
        case 302: 5
        case 300..<400: 6
        case 400: 7
        case 401: 8
        case 403: 9
        case 404: 10
        case 407: 11
        case 408: 12
        case 483: 13
        case 400..<500: 14
        case 500: 15
        case 500..<600: 16
        case 600..<700: 17
        default: 18
        }
    }

    func count(_ code: Int) {
        let i = SLStats.index(for: code)
        counters.withLock { $0[i] += 1 }
    }

    /// The `sl.stats` result.
    var rpcValue: RPCValue {
        let values = counters.withLock { $0 }
        return .object(zip(SLStats.keys, values).map { ($0.0, .int($0.1)) })
    }
}

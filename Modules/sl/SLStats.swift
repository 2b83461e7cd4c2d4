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

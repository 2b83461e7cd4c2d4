import SwiftletSDK

/// tmx's statistics (Kamailio's `mod_stats` of tmx, group `tmx`): tm's transaction counters
/// as kex's `stats.*` RPCs, `$stat(...)` and the counters module show them.
final class TMXStatistics: @unchecked Sendable {
    /// Read only, from any thread (tm's implementation takes its own locks).
    let api: TransactionInspectionAPI

    init(_ api: TransactionInspectionAPI) { self.api = api }

    /// The statistics in Kamailio's order, each computed from tm's counters when read.
    static let readers: [(String, @Sendable (TransactionStatistics) -> Int)] = [
        ("UAS_transactions", { $0.serverTransactions }),
        ("UAC_transactions", { $0.clientTransactions }),
        ("2xx_transactions", { $0.completed[0] }),
        ("3xx_transactions", { $0.completed[1] }),
        ("4xx_transactions", { $0.completed[2] }),
        ("5xx_transactions", { $0.completed[3] }),
        ("6xx_transactions", { $0.completed[4] }),
        ("inuse_transactions", { $0.inUse }),
        ("active_transactions", { $0.active }),
        ("rpl_received", { $0.repliesReceived }),
        ("rpl_absorbed", { $0.repliesReceived - ($0.repliesSent - $0.repliesGenerated) }),
        ("rpl_generated", { $0.repliesGenerated }),
        ("rpl_relayed", { $0.repliesSent - $0.repliesGenerated }),
        ("rpl_sent", { $0.repliesSent }),
    ]

    /// Registers the statistics (a configuration loaded again keeps the first registration's
    /// counters, which read through the API object given then).
    func register(in registry: Counters) {
        for (name, read) in Self.readers {
            _ = try? registry.register(group: "tmx", name: name, flags: .noReset, existingIsFine: true) { [self] in
                read(api.statistics)
            }
        }
    }
}

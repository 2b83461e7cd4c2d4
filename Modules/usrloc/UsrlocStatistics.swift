import SwiftletSDK

/// usrloc's statistics (Kamailio's group `usrloc`): `registered_users`, the AoRs of every
/// table, and per table `<table>_users` (AoRs), `<table>_contacts` (contacts) and
/// `<table>_expires` (contacts the timer removed because they expired). The first two of a
/// table are not reset by `stats.reset_statistics`.
extension UsrlocModule {
    func registerStatistics() {
        // The tables are all registered before the workers start.
        nonisolated(unsafe) let module = self
        _ = try? Counters.shared.register(group: "usrloc", name: "registered_users", existingIsFine: true) {
            module.allTables.reduce(0) { $0 + $1.userCount.load(ordering: .relaxed) }
        }
    }

    func registerStatistics(of table: LocationTable) throws(FixupError) {
        let counters = Counters.shared
        try counters.register(group: "usrloc", name: table.name + "_users", flags: .noReset, existingIsFine: true) {
            table.userCount.load(ordering: .relaxed)
        }
        try counters.register(group: "usrloc", name: table.name + "_contacts", flags: .noReset, existingIsFine: true) {
            table.contactCount.load(ordering: .relaxed)
        }
        table.expiredCounter = try counters.register(
            group: "usrloc", name: table.name + "_expires", existingIsFine: true)
    }
}

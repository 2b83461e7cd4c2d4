import SwiftletSDK

/// registrar's statistics (Kamailio's `mod_stats`, group `registrar`): `accepted_regs` and
/// `rejected_regs` count REGISTER requests; `max_expires`, `max_contacts`, `default_expire`,
/// `default_expires_range` and `expires_range` show those settings (not reset by
/// `stats.reset_statistics`).
extension RegistrarModule {
    func registerStatistics() {
        let counters = Counters.shared
        // The settings are read from the RPC thread, as the cfg group reads them.
        nonisolated(unsafe) let module = self
        func setting(_ name: String, _ get: @escaping @Sendable (RegistrarSettings) -> Int) {
            _ = try? counters.register(group: "registrar", name: name, flags: .noReset) { get(module.settings) }
        }
        setting("max_expires") { $0.maxExpires }
        setting("max_contacts") { $0.maxContacts }
        setting("default_expire") { $0.defaultExpires }
        setting("default_expires_range") { $0.defaultExpiresRange }
        setting("expires_range") { $0.expiresRange }
        accepted = try? counters.register(
            group: "registrar", name: "accepted_regs", description: "Accepted registrations")
        rejected = try? counters.register(
            group: "registrar", name: "rejected_regs", description: "Rejected registrations")
    }
}

import SwiftletSDK

extension TCPTransport {
    /// Kamailio's `tcp` statistics group, as far as Swiftlet keeps them:
    /// `tcp:current_opened_connections` (TCP and WebSocket connections open now).
    func registerStatistics() {
        let table = self.table
        _ = try? Counters.shared.register(
            group: "tcp", name: "current_opened_connections", description: "current number of open TCP connections",
            flags: .noReset, existingIsFine: true
        ) { table.count }
    }
}

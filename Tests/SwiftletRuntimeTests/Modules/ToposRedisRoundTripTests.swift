import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// topos_redis' round trips: Kamailio's writes (the same `HMSET`s and `EXPIRE`s), but a
/// relayed message does not read again what its reception read, counted by redis-server.
@Suite(
    .serialized,
    .enabled(
        if: redisServerPath != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-cli"),
        "redis-server/redis-cli are not installed (apt-get install redis-server)"))
struct ToposRedisRoundTripTests {
    /// Calls per command since the last `CONFIG RESETSTAT` (`INFO commandstats`).
    static func commandCounts(_ port: Int) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for line in try RedisCLI.cli(port, 3, ["INFO", "commandstats"]) where line.hasPrefix("cmdstat_") {
            // cmdstat_hgetall:calls=5,usec=...
            let parts = line.dropFirst("cmdstat_".count).split(separator: ":")
            guard parts.count == 2, let calls = parts[1].split(separator: ",").first?.split(separator: "=").last
            else { continue }
            out[String(parts[0])] = Int(calls.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return out
    }

    @Test func aRelayedReplyDoesNotReadAgainWhatItsReceptionRead() throws {
        let redis = try RedisTestServer()
        _ = try ToposRedisModuleTests.cli(redis.port, ["CONFIG", "RESETSTAT"])
        let (core, _, uid) = try ToposModuleTests().establish(config: ToposRedisModuleTests.config(port: redis.port))
        let setUp = try Self.commandCounts(redis.port)
        // The INVITE: its branch (not there: no retransmission); the 180 and the 200: the
        // branch and the dialog once each, on reception (Kamailio reads them again to send).
        #expect(setUp["hgetall"] == 5)
        // Kamailio's writes: the INVITE's branch and dialog; for the 180 received and sent
        // the initial-method key and the branch; for the 200 received and sent the dialog.
        #expect(setUp["hmset"] == 8)
        #expect(setUp["expire"] == 4)

        _ = try ToposRedisModuleTests.cli(redis.port, ["CONFIG", "RESETSTAT"])
        try ToposModuleTests().ackAndCalleeBye(core, uid)
        let ended = try Self.commandCounts(redis.port)
        // ACK and BYE: the dialog on reception, the new branch before sending; the BYE's
        // 200 its branch and dialog on reception.
        #expect(ended["hgetall"] == 6)
        // Their branches, and the BYE ends the dialog.
        #expect(ended["hmset"] == 3)
        #expect(ended["expire"] == 3)
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// topos_redis: the call of `ToposModuleTests` with the records in a real redis-server,
/// checked there with redis-cli (Kamailio's keys, fields and expiries).
@Suite(
    .serialized,
    .enabled(
        if: redisServerPath != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-cli"),
        "redis-server/redis-cli are not installed (apt-get install redis-server)"))
struct ToposRedisModuleTests {
    /// `ToposModuleTests.config` without its memory storage.
    static let baseConfig = ToposModuleTests.config.replacingOccurrences(
        of: "modparam(\"topos\", \"storage\", \"memory\")\n", with: "")

    static func config(port: Int) -> String {
        baseConfig.replacingOccurrences(
            of: "loadmodule \"topos.so\"",
            with: """
                loadmodule "ndb_redis.so"
                loadmodule "topos.so"
                loadmodule "topos_redis.so"
                modparam("ndb_redis", "server", "name=srv;addr=127.0.0.1;port=\(port);db=3")
                modparam("topos", "storage", "redis")
                modparam("topos_redis", "serverid", "srv")
                """)
    }

    /// redis-cli's output lines for one command on database 3.
    static func cli(_ port: Int, _ args: [String]) throws -> [String] {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        p.arguments = ["-p", String(port), "-n", "3", "--raw"] + args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(
            String.init
        ).dropLast()
    }

    static func hash(_ port: Int, _ key: String) throws -> [String: String] {
        let lines = try cli(port, ["HGETALL", key])
        var out: [String: String] = [:]
        var i = 0
        while i + 1 < lines.count {
            out[lines[i]] = lines[i + 1]
            i += 2
        }
        return out
    }

    @Test func aCallKeepsItsRecordsInRedisWithKamailiosKeys() throws {
        let redis = try RedisTestServer()
        let port = redis.port
        let (core, invite, uid) = try ToposModuleTests().establish(config: Self.config(port: port))
        let ourBranch = try #require(
            ToposModuleTests.headers(invite, "Via").first?.components(separatedBy: ";branch=").last)

        let dialog = try Self.hash(port, "d:z:a" + uid)
        #expect(dialog["a_callid"] == "topos-1@127.0.0.1")
        #expect(dialog["a_uuid"] == "a" + uid)
        #expect(dialog["b_uuid"] == "b" + uid)
        #expect(dialog["a_contact"] == "sip:alice@127.0.0.1:35070")
        #expect(dialog["b_contact"] == "sip:bob@127.0.0.1:35080")
        #expect(dialog["as_contact"] == "<sip:a\(uid)@127.0.0.1:35060>")
        #expect(dialog["bs_contact"] == "<sip:b\(uid)@127.0.0.1:35060>")
        #expect(dialog["a_tag"] == "a1")
        #expect(dialog["b_tag"] == "b1")
        #expect(dialog["s_rr"] == "<sip:127.0.0.1:35060;lr;ftag=a1>")
        #expect(dialog["a_rr"] == "<sip:127.0.0.3:35090;lr>")
        #expect(dialog["b_rr"] == "<sip:127.0.0.4:35095;lr>")
        #expect(dialog["iflags"] == "2")
        #expect(dialog["s_method"] == "INVITE")
        #expect(dialog["s_cseq"] == "1")
        #expect(dialog["rectime"].flatMap { Int($0) } != nil)
        let dialogTTL = try #require(Int(try Self.cli(port, ["TTL", "d:z:a" + uid]).first ?? ""))
        #expect(dialogTTL > 10000 && dialogTTL <= 10800)

        let branch = try Self.hash(port, "b:x:" + ourBranch)
        #expect(branch["x_vbranch"] == ourBranch)
        #expect(
            branch["x_via"]
                == "SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p1,SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport")
        #expect(branch["x_rr"] == "<sip:127.0.0.3:35090;lr>")
        #expect(branch["y_rr"] == "<sip:127.0.0.4:35095;lr>")
        #expect(branch["direction"] == "0")
        #expect(branch["x_tag"] == "a1")
        #expect(branch["b_tag"] == "b1")
        let branchTTL = try #require(Int(try Self.cli(port, ["TTL", "b:x:" + ourBranch]).first ?? ""))
        #expect(branchTTL > 100 && branchTTL <= 180)
        // The 18x's initial-method key points at the INVITE's branch.
        let initial = try Self.hash(port, "b:x:INVITE:topos-1@127.0.0.1:b1:x" + uid)
        #expect(initial["x_vbranch"] == ourBranch)

        // The in-dialog requests are routed from the records in Redis.
        try ToposModuleTests().ackAndCalleeBye(core, uid)
        // The BYE ended the dialog: it now expires with the branches.
        #expect(try Self.hash(port, "d:z:a" + uid)["iflags"] == "0")
        let endedTTL = try #require(Int(try Self.cli(port, ["TTL", "d:z:a" + uid]).first ?? ""))
        #expect(endedTTL > 100 && endedTTL <= 180)
    }

    /// The early-dialog UPDATE finds the INVITE's branch through the initial-method key.
    @Test func anUpdateInTheEarlyDialogUsesTheInviteBranch() throws {
        let redis = try RedisTestServer()
        try ToposModuleTests().earlyUpdate(config: Self.config(port: redis.port))
    }

    /// `tps_set_context()`'s value is written as `x_context` of both records.
    @Test func theContextIsStoredWithTheRecords() throws {
        let redis = try RedisTestServer()
        let config = Self.config(port: redis.port).replacingOccurrences(
            of: "record_route();", with: "tps_set_context(\"blue\"); record_route();")
        let (_, invite, uid) = try ToposModuleTests().establish(config: config)
        #expect(uid.hasSuffix("-blue"))
        #expect(try Self.hash(redis.port, "d:z:a" + uid)["x_context"] == "blue")
        let branch = try #require(
            ToposModuleTests.headers(invite, "Via").first?.components(separatedBy: ";branch=").last)
        #expect(try Self.hash(redis.port, "b:x:" + branch)["x_context"] == "blue")
    }

    @Test func redisStorageWithoutTheModuleStopsStartUp() {
        let config = Self.baseConfig.replacingOccurrences(
            of: "loadmodule \"topos.so\"", with: "loadmodule \"topos.so\"\nmodparam(\"topos\", \"storage\", \"redis\")")
        #expect(throws: (any Error).self) { _ = try EmbeddedCore(config: config, modulePath: productsDirectory) }
    }
}

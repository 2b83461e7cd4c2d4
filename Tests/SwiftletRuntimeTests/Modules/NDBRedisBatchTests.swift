import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// ndb_redis' `RedisBatchAPI` (what topos_redis uses) against a real redis-server: queued
/// writes go out with the next command or a flush, in order, and their replies never reach
/// another command; hashes are read in one round trip.
@Suite(
    .serialized, .enabled(if: redisServerPath != nil, "redis-server is not installed (apt-get install redis-server)"))
struct NDBRedisBatchTests {
    static func core(port: Int, route: String = "") throws -> EmbeddedCore {
        try EmbeddedCore(
            config: NDBRedisModuleTests.config(port: port, route: route), modulePath: productsDirectory)
    }

    static func hmset(_ key: String, _ fields: [(String, String)], expire: Int? = nil) -> RedisCommands {
        var c = RedisCommands()
        c.begin(arguments: 2 + 2 * fields.count)
        c.argument("HMSET")
        c.argument(key)
        for (name, value) in fields {
            c.argument(name)
            c.argument(value)
        }
        if let expire {
            c.begin(arguments: 3)
            c.argument("EXPIRE")
            c.argument(key)
            c.argument(expire)
        }
        return c
    }

    /// The fields of each key, as `hashes` hands them over.
    static func read(_ api: any RedisBatchAPI, _ keys: [String]) -> ([[String: String]], [Int])? {
        var out = [[String: String]](repeating: [:], count: keys.count)
        let result = api.hashes(server: "srv", keys: keys) { k, name, value in
            out[k][String(decoding: name, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
        }
        guard case .success(let counts) = result else { return nil }
        return (out, counts)
    }

    @Test func theCommandsAreFormattedAsHiredisFormatsThem() {
        var c = RedisCommands()
        c.add([Array("SET".utf8), Array("k".utf8), Array("a b".utf8)])
        c.begin(arguments: 3)
        c.argument("EXPIRE")
        c.argument("k")
        c.argument(180)
        c.begin(arguments: 12)
        for a in ["HMSET", "key:é", "0", "-7", "", String(repeating: "x", count: 10), "y"] { c.argument(a) }
        c.argument(-10)
        c.argument(1_000_000)
        c.argument(9)
        c.argument(10)
        c.argument(Int.max)
        #expect(c.count == 3)
        #expect(
            String(decoding: c.bytes, as: UTF8.self)
                == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na b\r\n*3\r\n$6\r\nEXPIRE\r\n$1\r\nk\r\n$3\r\n180\r\n"
                + "*12\r\n$5\r\nHMSET\r\n$6\r\nkey:é\r\n$1\r\n0\r\n$2\r\n-7\r\n$0\r\n\r\n$10\r\nxxxxxxxxxx\r\n"
                + "$1\r\ny\r\n$3\r\n-10\r\n$7\r\n1000000\r\n$1\r\n9\r\n$2\r\n10\r\n$19\r\n9223372036854775807\r\n")
    }

    @Test func queuedWritesGoOutBeforeTheNextCommandAndTheirRepliesAreDropped() throws {
        let redis = try RedisTestServer()
        let core = try Self.core(port: redis.port)
        let batch = try #require(core.context.apis.lookup(RedisBatchAPI.self))
        let api = try #require(core.context.apis.lookup(RedisAPI.self))

        batch.enqueue(server: "srv", Self.hmset("h1", [("a", "1"), ("b", "two")], expire: 100))
        // Nothing is written before a command or a flush.
        #expect(try RedisCLI.cli(redis.port, 2, ["EXISTS", "h1"]) == ["0"])
        // The next command sees the write, and gets its own reply, not the HMSET's or EXPIRE's.
        #expect(
            try api.command(server: "srv", arguments: [Array("HGET".utf8), Array("h1".utf8), Array("b".utf8)]).get()
                == .string(Array("two".utf8)))
        #expect(
            try api.command(server: "srv", arguments: [Array("TTL".utf8), Array("h1".utf8)]).get() == .integer(100))

        // flush returns once Redis answered: another connection sees the write.
        batch.enqueue(server: "srv", Self.hmset("h2", [("x", "y")]))
        #expect(batch.flush(server: "srv") == nil)
        #expect(batch.flush(server: "srv") == nil)  // nothing left
        #expect(try RedisCLI.cli(redis.port, 2, ["HGET", "h2", "x"]) == ["y"])

        // An error reply of a queued command is dropped (logged), the next reply is the right one.
        batch.enqueue(server: "srv", Self.hmset("h1", [("a", "3")]))
        var wrong = RedisCommands()
        wrong.add([Array("INCR".utf8), Array("h1".utf8)])  // WRONGTYPE
        batch.enqueue(server: "srv", wrong)
        let (fields, counts) = try #require(Self.read(batch, ["h1", "nosuch", "h2"]))
        #expect(counts == [2, 0, 1])
        #expect(fields[0] == ["a": "3", "b": "two"])
        #expect(fields[1].isEmpty)
        #expect(fields[2] == ["x": "y"])
        // A key of another type: -1.
        _ = try api.command(server: "srv", arguments: [Array("SET".utf8), Array("s".utf8), Array("v".utf8)]).get()
        #expect(Self.read(batch, ["s", "h2"])?.1 == [-1, 1])
    }

    @Test func whatIsQueuedWhenRedisIsDownFailsTheFlushAndNothingStaysBehind() throws {
        let redis = try RedisTestServer()
        let core = try Self.core(port: redis.port)
        let batch = try #require(core.context.apis.lookup(RedisBatchAPI.self))
        let api = try #require(core.context.apis.lookup(RedisAPI.self))
        redis.stop()
        // (A write to a connection whose peer just closed may still succeed: the command
        // that reads notices it.)
        #expect((try? api.command(server: "srv", arguments: [Array("PING".utf8)]).get()) == nil)
        batch.enqueue(server: "srv", Self.hmset("h1", [("a", "1")]))
        #expect(batch.flush(server: "srv") != nil)
        try redis.start()
        // What was lost stays lost; the next commands work.
        batch.enqueue(server: "srv", Self.hmset("h3", [("c", "d")]))
        let (fields, counts) = try #require(Self.read(batch, ["h1", "h3"]))
        #expect(counts == [0, 1])
        #expect(fields[1] == ["c": "d"])
    }
}

/// redis-cli on a database of a test's redis-server: its output lines (`--raw`).
enum RedisCLI {
    static func cli(_ port: Int, _ db: Int, _ args: [String]) throws -> [String] {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        p.arguments = ["-p", String(port), "-n", String(db), "--raw"] + args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        // Split at the scalars: CRLF (INFO's lines) is one Character.
        var lines = String(decoding: data, as: UTF8.self).components(separatedBy: .newlines)
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }
}

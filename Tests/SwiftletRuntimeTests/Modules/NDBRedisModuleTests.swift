import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// ndb_redis on the embedded core against a real redis-server on loopback: each test's
/// script runs commands for an OPTIONS request and puts what it read into the reply's
/// headers, which the test compares.
@Suite(
    .serialized, .enabled(if: redisServerPath != nil, "redis-server is not installed (apt-get install redis-server)"))
struct NDBRedisModuleTests {
    static func config(port: Int, extra: String = "", route: String) -> String {
        """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"
        loadmodule "textops.so"
        loadmodule "ndb_redis.so"
        modparam("ndb_redis", "server", "name=srv;addr=127.0.0.1;port=\(port);db=2")
        \(extra)
        request_route {
        \(route)
            sl_send_reply("200", "OK");
        }
        """
    }

    static let options =
        [
            "OPTIONS sip:redis@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-r1",
            "From: <sip:a@127.0.0.1>;tag=a1", "To: <sip:redis@127.0.0.1>", "Call-ID: redis-1", "CSeq: 1 OPTIONS",
            "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"

    /// The `X-...` headers of the reply to one OPTIONS.
    func headers(_ core: EmbeddedCore) -> [String] {
        core.receive(Self.options, from: "127.0.0.1:5070")
        let sent = core.takeSent()
        return sent.last?.text.components(separatedBy: "\r\n").filter { $0.hasPrefix("X-") } ?? []
    }

    @Test func commandsStoreTheirRepliesAndPVsReadThem() throws {
        let redis = try RedisTestServer()
        let core = try EmbeddedCore(
            config: Self.config(
                port: redis.port,
                route: """
                    $var(k) = "key with space";
                    if (redis_cmd("srv", "SET %s %s", $var(k), "v1", "r")) { append_to_reply("X-Set: $redis(r=>type) $redis(r=>info)\\r\\n"); }
                    redis_cmd("srv", "GET %s", $var(k), "r");
                    append_to_reply("X-Get: $redis(r=>value) type=$redis(r=>type) str=$redisd(rpl_str)\\r\\n");
                    redis_cmd("srv", "DEL cnt", "d");
                    redis_cmd("srv", "INCRBY cnt 41", "i");
                    redis_cmd("srv", "INCR cnt", "i");
                    append_to_reply("X-Incr: $redis(i=>value) type=$redis(i=>type)\\r\\n");
                    redis_cmd("srv", "DEL l", "d");
                    redis_cmd("srv", "RPUSH l a b 7", "p");
                    redis_cmd("srv", "LRANGE l 0 -1", "a");
                    $var(i) = 1;
                    append_to_reply("X-Arr: size=$redis(a=>size) [0]=$redis(a=>value[0]) [i]=$redis(a=>value[$var(i)]) t=$redis(a=>type[2]) v=$redis(a=>value)\\r\\n");
                    redis_cmd("srv", "MULTI", "m");
                    redis_cmd("srv", "LRANGE l 0 1", "m");
                    redis_cmd("srv", "EXEC", "e");
                    append_to_reply("X-Nested: $redis(e=>value[0]=>size) $redis(e=>value[0]=>value[1]) $redis(e=>value[0]=>type[0])\\r\\n");
                    if (!redis_cmd("srv", "NOSUCHCMD", "x") && $redis(x=>info) =~ "^ERR unknown command") { append_to_reply("X-Err: $redis(x=>type)\\r\\n"); }
                    redis_cmd("srv", "GET missing", "n");
                    append_to_reply("X-Nil: $redis(n=>type) $redis(n=>value)\\r\\n");
                    redis_free("n");
                    append_to_reply("X-Freed: $redis(n=>type)\\r\\n");
                    """),
            modulePath: productsDirectory)
        defer { core.shutdown() }
        #expect(
            headers(core) == [
                "X-Set: 5 OK", "X-Get: v1 type=1 str=1", "X-Incr: 42 type=3",
                "X-Arr: size=3 [0]=a [i]=b t=1 v=<null>", "X-Nested: 2 b 1",
                "X-Err: 6", "X-Nil: 4 <null>",
                "X-Freed: <null>",
            ])
    }

    @Test func pipelinedCommandsGoInOneExecute() throws {
        let redis = try RedisTestServer()
        let core = try EmbeddedCore(
            config: Self.config(
                port: redis.port,
                route: """
                    redis_pipe_cmd("srv", "SET p1 one", "r1");
                    redis_pipe_cmd("srv", "SET p2 $rm", "r2");
                    redis_pipe_cmd("srv", "MGET p1 p2", "r3");
                    append_to_reply("X-Before: $redis(r3=>type)\\r\\n");
                    if (redis_execute("srv")) { append_to_reply("X-After: $redis(r1=>info) $redis(r3=>value[0]) $redis(r3=>value[1])\\r\\n"); }
                    if (!redis_execute("srv")) { append_to_reply("X-Empty: -1\\r\\n"); }
                    redis_pipe_cmd("srv", "SET p3 three", "r4");
                    redis_cmd("srv", "GET p3", "r5");
                    append_to_reply("X-Auto: $redis(r4=>info) $redis(r5=>value)\\r\\n");
                    """),
            modulePath: productsDirectory)
        defer { core.shutdown() }
        #expect(
            headers(core) == [
                "X-Before: <null>", "X-After: OK one OPTIONS", "X-Empty: -1", "X-Auto: OK three",
            ])
    }

    @Test func aRedisThatGoesDownFailsCleanlyAndIsUsedAgainWhenBack() throws {
        let redis = try RedisTestServer()
        let core = try EmbeddedCore(
            config: Self.config(
                port: redis.port, extra: "modparam(\"ndb_redis\", \"cmd_timeout\", 300)",
                route: """
                    if (redis_cmd("srv", "INCR c", "r")) { append_to_reply("X-R: $redis(r=>value)\\r\\n"); }
                    else { append_to_reply("X-R: failed\\r\\n"); }
                    """),
            modulePath: productsDirectory)
        defer { core.shutdown() }
        #expect(headers(core) == ["X-R: 1"])
        redis.stop()
        #expect(headers(core) == ["X-R: failed"])
        try redis.start()
        // A restarted Redis without persistence starts empty: the reconnect is what counts.
        #expect(headers(core) == ["X-R: 1"])
        #expect(headers(core) == ["X-R: 2"])
    }

    @Test func passwordAndDatabaseAreUsedAndAServerDownAtStartUpIsRefused() throws {
        let redis = try RedisTestServer(password: "s3cret")
        let route = """
            redis_cmd("srv2", "SET where db5", "r");
            redis_cmd("srv2", "CLIENT INFO", "c");
            if ($redis(c=>value) =~ " db=5 ") { append_to_reply("X-Db: 5\\r\\n"); }
            """
        let good =
            "modparam(\"ndb_redis\", \"server\", \"name=srv2;addr=127.0.0.1;port=\(redis.port);db=5;pass=s3cret\")"
        let core = try EmbeddedCore(
            config: Self.config(port: redis.port, extra: good, route: route)
                .replacingOccurrences(of: "modparam(\"ndb_redis\", \"server\", \"name=srv;", with: "#"),
            modulePath: productsDirectory)
        #expect(headers(core) == ["X-Db: 5"])
        core.shutdown()

        let down = freeUDPPort()
        #expect(throws: (any Error).self) {
            try EmbeddedCore(config: Self.config(port: down, route: ""), modulePath: productsDirectory)
        }
        let tolerant = try EmbeddedCore(
            config: Self.config(
                port: down, extra: "modparam(\"ndb_redis\", \"init_without_redis\", 1)",
                route: "if (!redis_cmd(\"srv\", \"PING\", \"r\")) { append_to_reply(\"X-Down: yes\\r\\n\"); }"),
            modulePath: productsDirectory)
        defer { tolerant.shutdown() }
        #expect(headers(tolerant) == ["X-Down: yes"])
    }

    @Test func badArgumentsAreRefusedAtStartUp() throws {
        let cases = [
            "$var(x) = $redis(r=>nosuch);", "$var(x) = $redis(=>value);", "$var(x) = $redisd(rpl_foo);",
        ]
        for route in cases {
            #expect(throws: (any Error).self) {
                try EmbeddedCore(
                    config: Self.config(
                        port: 1, extra: "modparam(\"ndb_redis\", \"init_without_redis\", 1)", route: route),
                    modulePath: productsDirectory)
            }
        }
    }

    @Test func theCommandFormatSplitsWordsAndKeepsParametersWhole() throws {
        let redis = try RedisTestServer()
        let core = try EmbeddedCore(
            config: Self.config(
                port: redis.port,
                route: """
                    redis_cmd("srv", "SET  k:%s %s", "x y", "", "r");
                    redis_cmd("srv", "STRLEN %s", "k:x y", "s");
                    redis_cmd("srv", "SET pct 100%%", "r");
                    redis_cmd("srv", "GET pct", "g");
                    append_to_reply("X-F: $redis(s=>type) $redis(s=>value) $redis(g=>value)\\r\\n");
                    if (!redis_cmd("srv", "GET %s", "r")) { append_to_reply("X-NoParams: -1\\r\\n"); }
                    if (!redis_cmd("srv", "MGET %s %s", "a", "r")) { append_to_reply("X-Missing: -1\\r\\n"); }
                    if (!redis_cmd("nosuch", "PING", "r")) { append_to_reply("X-Unknown: -1\\r\\n"); }
                    """),
            modulePath: productsDirectory)
        defer { core.shutdown() }
        #expect(headers(core) == ["X-F: 3 0 100%", "X-NoParams: -1", "X-Missing: -1", "X-Unknown: -1"])
    }

    /// hiredis and OpenSSL are linked by their modules only (ndb_redis, tls): the server
    /// and the core library load neither.
    @Test func onlyTheModulesLinkHiredisAndOpenSSL() throws {
        func ldd(_ path: String) throws -> String {
            let p = SpawnedProcess()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
            p.arguments = [path]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return text
        }
        #expect(!(try ldd(swiftletBinary)).contains("hiredis"))
        #expect(!(try ldd(productsDirectory + "/libSwiftletCore.so")).contains("hiredis"))
        #expect(try ldd(productsDirectory + "/libndb_redis.so").contains("libhiredis"))
        #expect(!(try ldd(swiftletBinary)).contains("libssl"))
        #expect(!(try ldd(productsDirectory + "/libSwiftletCore.so")).contains("libssl"))
        #expect(try ldd(productsDirectory + "/libtls.so").contains("libssl.so"))
    }
}

import SwiftletSDK

/// The `ndb_redis` module: Redis from the script (`redis_cmd`, `redis_pipe_cmd`,
/// `redis_execute`, `redis_free`, `$redis(...)`, `$redisd(...)`) and for other modules
/// (`RedisAPI`, Kamailio's `bind_ndb_redis`), on hiredis.
final class NDBRedisModule: RedisAPI, RedisBatchAPI {
    let client = RedisClient()
    var initWithoutRedis = false
    /// Kamailio's MAXIMUM_PIPELINED_COMMANDS.
    static let maximumPipelined = 1000

    var exports: ModuleExports {
        let e = ModuleExports(name: "ndb_redis")
        e.parameters = parameters
        e.functions = functions
        e.pseudoVariables = [redisPV, redisdPV]
        e.provide(self, as: RedisAPI.self)
        e.provide(self, as: RedisBatchAPI.self)
        e.initialize = { _ in
            guard !self.client.servers.isEmpty else { throw FixupError("ndb_redis: no redis servers defined") }
            try self.connectOrFail()
        }
        e.childInitialize = { _ in try self.connectOrFail() }
        e.destroy = { RedisThreadState.current.remove(self.client.slot) }
        return e
    }

    /// Connects the calling thread to every server; a failure stops start-up unless
    /// `init_without_redis` (then the first command connects).
    func connectOrFail() throws {
        for (name, failure) in client.connectAll() {
            let text = "ndb_redis: cannot connect to redis server \(name): \(failure)"
            if initWithoutRedis {
                Log.warning("ndb_redis", text + " (init_without_redis: going on)")
            } else {
                throw FixupError(text)
            }
        }
    }

    var parameters: [ModuleParameter] {
        [
            ModuleParameter(
                "server",
                .function { (v: ModuleParameterSetting.Value) throws(FixupError) in
                    guard case .string(let s) = v else { throw FixupError("ndb_redis: server takes a string") }
                    self.client.add(try RedisServerSpec(parsing: s))
                }),
            ModuleParameter(
                "init_without_redis", .int { (v: Int) throws(FixupError) in self.initWithoutRedis = v != 0 }),
            ModuleParameter(
                "connect_timeout", .int { (v: Int) throws(FixupError) in self.client.settings.connectTimeoutMs = v }),
            ModuleParameter(
                "cmd_timeout", .int { (v: Int) throws(FixupError) in self.client.settings.commandTimeoutMs = v }),
            ModuleParameter("cluster", .int { (v: Int) throws(FixupError) in self.client.settings.cluster = v != 0 }),
            ModuleParameter(
                "disable_time", .int { (v: Int) throws(FixupError) in self.client.settings.disableTimeSeconds = v }),
            ModuleParameter(
                "allowed_timeouts", .int { (v: Int) throws(FixupError) in self.client.settings.allowedTimeouts = v }),
            ModuleParameter(
                "flush_on_reconnect",
                .int { (v: Int) throws(FixupError) in self.client.settings.flushOnReconnect = v != 0 }),
            ModuleParameter(
                "allow_dynamic_nodes",
                .int { (v: Int) throws(FixupError) in self.client.settings.allowDynamicNodes = v != 0 }),
            ModuleParameter(
                "debug",
                .int { (v: Int) throws(FixupError) in self.client.settings.debugLevel = LogLevel(rawValue: v) ?? .debug
                }),
            ModuleParameter(
                "ca_path",
                .string { (v: String) throws(FixupError) in
                    if !v.isEmpty {
                        Log.warning("ndb_redis", "CA path parameter is set, but TLS to Redis is not supported")
                    }
                }),
        ]
    }

    // MARK: RedisAPI

    func hasServer(_ name: String) -> Bool { client.hasServer(name) }

    func command(server: String, arguments: [[UInt8]]) -> Result<RedisReply, RedisFailure> {
        client.command(server, arguments)
    }

    func pipeline(server: String, commands: [[[UInt8]]]) -> Result<[RedisReply], RedisFailure> {
        client.pipeline(server, commands)
    }

    // MARK: RedisBatchAPI

    func enqueue(server: String, _ commands: RedisCommands) { client.enqueue(server, commands) }

    func flush(server: String) -> RedisFailure? { client.flush(server) }

    func hashes(
        server: String, keys: [String], _ field: (Int, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
    ) -> Result<[Int], RedisFailure> {
        client.hashes(server, keys, field)
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "ndb_redis") { NDBRedisModule().exports }
}

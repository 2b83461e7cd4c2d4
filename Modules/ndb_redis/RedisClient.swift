import CHiredis
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The servers of one ndb_redis instance and each thread's connections to them. As each
/// Kamailio process has its own connections, replies and pipeline, each Swiftlet worker
/// thread has its own (`RedisThreadState`): nothing here is shared between threads but the
/// configuration, which is fixed after start-up (dynamic cluster nodes are per thread too).
final class RedisClient: @unchecked Sendable {
    struct Settings {
        var connectTimeoutMs = 1000
        var commandTimeoutMs = 1000
        var cluster = false
        var allowDynamicNodes = false
        var allowedTimeouts = -1
        var disableTimeSeconds = 0
        var flushOnReconnect = false
        var debugLevel = LogLevel.debug
    }

    private(set) var servers: [String: RedisServerSpec] = [:]
    var settings = Settings()
    /// This instance's slot in every thread's state.
    let slot: Int

    init() { slot = RedisThreadState.newSlot() }

    /// Adds a `server` definition (start-up only).
    func add(_ spec: RedisServerSpec) { servers[spec.name] = spec }

    func hasServer(_ name: String) -> Bool { servers[name] != nil || state.dynamic[name] != nil }

    var state: RedisThreadState.Instance { RedisThreadState.current.instance(slot) }

    /// Connects this thread to every server (Kamailio's `child_init`); returns the failures.
    @discardableResult
    func connectAll() -> [String: RedisFailure] {
        var failures: [String: RedisFailure] = [:]
        for name in servers.keys.sorted() {
            do throws(RedisFailure) {
                _ = try connection(name, state: state)
            } catch {
                failures[name] = error
            }
        }
        return failures
    }

    private func spec(_ name: String, state: RedisThreadState.Instance) -> RedisServerSpec? {
        servers[name] ?? state.dynamic[name]
    }

    /// The thread's connection to `name`, connecting when there is none.
    private func connection(_ name: String, state: RedisThreadState.Instance) throws(RedisFailure) -> RedisConnection {
        if let c = state.connections[name], !c.isBroken { return c }
        return try reconnect(name, state: state)
    }

    private func reconnect(_ name: String, state: RedisThreadState.Instance) throws(RedisFailure) -> RedisConnection {
        state.connections[name] = nil
        guard let spec = spec(name, state: state) else { throw .unknownServer(name) }
        let c = try RedisConnection.open(
            spec, connectTimeoutMs: settings.connectTimeoutMs, commandTimeoutMs: settings.commandTimeoutMs)
        if settings.flushOnReconnect { _ = try? c.run([Array("FLUSHALL".utf8)]) }
        state.connections[name] = c
        Log.log(settings.debugLevel, "ndb_redis", "connected to redis server \(name)")
        return c
    }

    /// Runs one command on `server`: one reconnect and retry when the connection broke, a
    /// cluster `MOVED` followed (`cluster`), the server disabled after too many consecutive
    /// failures (`allowed_timeouts`, `disable_time`).
    func command(_ server: String, _ arguments: [[UInt8]]) -> Result<RedisReply, RedisFailure> {
        let state = self.state
        guard spec(server, state: state) != nil else { return .failure(.unknownServer(server)) }
        if isDisabled(server, state: state) { return .failure(.disabled(server)) }
        var target = server
        var result = attempt(target, arguments, state: state)
        if settings.cluster, case .success(.error(let text)) = result, let moved = movedTarget(text, state: state) {
            target = moved
            result = attempt(target, arguments, state: state)
        }
        switch result {
        case .success: state.consecutiveErrors[server] = 0
        case .failure: countFailure(server, state: state)
        }
        return result
    }

    private func attempt(_ server: String, _ arguments: [[UInt8]], state: RedisThreadState.Instance) -> Result<
        RedisReply, RedisFailure
    > {
        var command = RedisCommands()
        command.add(arguments)
        return exchange(server, command, state: state) { c, out, unwanted throws(RedisFailure) in
            try c.pipeline(out, unwanted: unwanted)[0]
        }
    }

    /// Runs `body` on the thread's connection to `server` (connecting when there is none)
    /// with `commands` after what is queued for the server: `body` gets the connection,
    /// the commands to write and how many of them (the queued ones, first) have replies
    /// nobody waits for. One reconnect and retry when the connection broke; the queued
    /// commands are lost when the retry fails too.
    private func exchange<T>(
        _ server: String, _ commands: RedisCommands, state: RedisThreadState.Instance,
        _ body: (RedisConnection, RedisCommands, Int) throws(RedisFailure) -> T
    ) -> Result<T, RedisFailure> {
        var out = commands
        var unwanted = 0
        if let queued = state.queued.removeValue(forKey: server), !queued.isEmpty {
            out = queued
            out.append(commands)
            unwanted = queued.count
        }
        do throws(RedisFailure) {
            let c = try connection(server, state: state)
            do throws(RedisFailure) {
                return .success(try body(c, out, unwanted))
            } catch {
                Log.log(settings.debugLevel, "ndb_redis", "redis server \(server): \(error), reconnecting")
                return .success(try body(try reconnect(server, state: state), out, unwanted))
            }
        } catch {
            state.connections[server] = nil
            if unwanted > 0 {
                Log.error("ndb_redis", "redis server \(server): \(unwanted) queued commands lost: \(error)")
            }
            return .failure(error)
        }
    }

    /// Sends the commands to `server` in one write (pipelining).
    func pipeline(_ server: String, _ commands: [[[UInt8]]]) -> Result<[RedisReply], RedisFailure> {
        var formatted = RedisCommands()
        for c in commands { formatted.add(c) }
        return batch(server) { state throws(RedisFailure) in
            try exchange(server, formatted, state: state) { c, out, unwanted throws(RedisFailure) in
                try c.pipeline(out, unwanted: unwanted)
            }.get()
        }
    }

    /// Queues commands whose replies nobody waits for (`RedisBatchAPI.enqueue`).
    func enqueue(_ server: String, _ commands: RedisCommands) {
        let state = self.state
        if state.queued[server] == nil {
            state.queued[server] = commands
        } else {
            state.queued[server]!.append(commands)
        }
    }

    /// Writes what is queued for `server` and reads (drops) the replies.
    func flush(_ server: String) -> RedisFailure? {
        guard let queued = state.queued[server], !queued.isEmpty else { return nil }
        let result = batch(server) { state throws(RedisFailure) in
            try exchange(server, RedisCommands(), state: state) { c, out, unwanted throws(RedisFailure) in
                _ = try c.exchange(out, unwanted: unwanted)
            }.get()
        }
        if case .failure(let f) = result { return f }
        return nil
    }

    /// `HGETALL` of each key in one round trip after what is queued (`RedisBatchAPI.hashes`).
    func hashes(
        _ server: String, _ keys: [String], _ field: (Int, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
    ) -> Result<[Int], RedisFailure> {
        var commands = RedisCommands()
        for key in keys {
            commands.begin(arguments: 2)
            commands.argument("HGETALL")
            commands.argument(key)
        }
        let replies = batch(server) { state throws(RedisFailure) in
            try exchange(server, commands, state: state) { c, out, unwanted throws(RedisFailure) in
                try c.exchange(out, unwanted: unwanted)
            }.get()
        }
        let raw: [UnsafeMutableRawPointer]
        switch replies {
        case .success(let r): raw = r
        case .failure(let f): return .failure(f)
        }
        defer { raw.forEach { freeReplyObject($0) } }
        var counts: [Int] = []
        counts.reserveCapacity(keys.count)
        for (k, p) in raw.enumerated() {
            let r = p.assumingMemoryBound(to: redisReply.self).pointee
            guard r.type == REDIS_REPLY_ARRAY, r.elements % 2 == 0 else {
                Log.error("ndb_redis", "HGETALL \(keys[k]): \(RedisConnection.text(r))")
                counts.append(-1)
                continue
            }
            var i = 0
            while i < r.elements {
                if let name = r.element[i], let value = r.element[i + 1] {
                    field(k, RedisConnection.view(name.pointee), RedisConnection.view(value.pointee))
                }
                i += 2
            }
            counts.append(r.elements / 2)
        }
        return .success(counts)
    }

    /// Runs `body` unless `server` is unknown or disabled, counting its failure.
    private func batch<T>(_ server: String, _ body: (RedisThreadState.Instance) throws(RedisFailure) -> T) -> Result<
        T, RedisFailure
    > {
        let state = self.state
        guard spec(server, state: state) != nil else { return .failure(.unknownServer(server)) }
        if isDisabled(server, state: state) { return .failure(.disabled(server)) }
        do throws(RedisFailure) {
            let result = try body(state)
            state.consecutiveErrors[server] = 0
            return .success(result)
        } catch {
            countFailure(server, state: state)
            return .failure(error)
        }
    }

    private func isDisabled(_ server: String, state: RedisThreadState.Instance) -> Bool {
        guard let until = state.disabledUntil[server] else { return false }
        if RedisThreadState.nowSeconds() > until {
            Log.notice("ndb_redis", "REDIS server \(server) re-enabled")
            state.disabledUntil[server] = nil
            state.consecutiveErrors[server] = 0
            return false
        }
        return true
    }

    private func countFailure(_ server: String, state: RedisThreadState.Instance) {
        guard settings.allowedTimeouts >= 0 else { return }
        let n = (state.consecutiveErrors[server] ?? 0) + 1
        state.consecutiveErrors[server] = n
        if n > settings.allowedTimeouts {
            state.disabledUntil[server] = RedisThreadState.nowSeconds() + settings.disableTimeSeconds
            Log.warning("ndb_redis", "REDIS server \(server) disabled for \(settings.disableTimeSeconds) seconds")
        }
    }

    /// The server named `ip:port` of a `MOVED <slot> <ip>:<port>` error, added on the fly
    /// with `allow_dynamic_nodes`; nil when it is not a redirection or the node is unknown.
    private func movedTarget(_ text: String, state: RedisThreadState.Instance) -> String? {
        let parts = text.split(separator: " ")
        guard parts.count == 3, parts[0] == "MOVED", let colon = parts[2].lastIndex(of: ":") else { return nil }
        let host = String(parts[2][..<colon])
        let port = Int(parts[2][parts[2].index(after: colon)...]) ?? 6379
        let name = "\(host):\(port)"
        if spec(name, state: state) != nil { return name }
        guard settings.allowDynamicNodes else {
            Log.error("ndb_redis", "No Connection with name (\(name))")
            return nil
        }
        state.dynamic[name] = RedisServerSpec(name: name, address: host, port: port)
        return name
    }
}

import SwiftletSDK

extension NDBRedisModule {
    var functions: [ScriptFunction] {
        [
            ScriptFunction("redis_cmd", parameters: 3...6, routes: .any) { args throws(FixupError) in
                let call = try CommandCall(args)
                return { ctx in self.runCommand(call, ctx) }
            },
            ScriptFunction("redis_pipe_cmd", parameters: 3...6, routes: .any) { args throws(FixupError) in
                let call = try CommandCall(args)
                return { ctx in self.appendCommand(call, ctx) }
            },
            ScriptFunction("redis_execute", parameters: 1, routes: .any) { args throws(FixupError) in
                let server = try args[0].stringFormat()
                return { ctx in self.execute(server.render(ctx)) }
            },
            ScriptFunction("redis_free", parameters: 1, routes: .any) { args throws(FixupError) in
                let reply = try args[0].stringFormat()
                return { ctx in
                    self.client.state.replies[reply.render(ctx)] = nil
                    return 1
                }
            },
        ]
    }

    /// The compiled arguments of `redis_cmd`/`redis_pipe_cmd`: server, command, up to three
    /// `%s` parameters, reply name; all may hold PVs.
    struct CommandCall {
        let server: StringFormat
        let command: StringFormat
        let parameters: [StringFormat]
        let reply: StringFormat

        init(_ args: [ScriptArgument]) throws(FixupError) {
            server = try args[0].stringFormat()
            command = try args[1].stringFormat()
            var p: [StringFormat] = []
            for a in args[2..<(args.count - 1)] { p.append(try a.stringFormat()) }
            parameters = p
            reply = try args[args.count - 1].stringFormat()
        }

        /// The server, arguments and reply name for this message; nil (logged) when they
        /// cannot be made.
        func evaluate(_ ctx: MessageContext) -> (server: String, arguments: [[UInt8]], reply: String)? {
            let server = self.server.render(ctx)
            let command = self.command.render(ctx)
            let reply = self.reply.render(ctx)
            guard !server.isEmpty, !command.isEmpty, !reply.isEmpty else {
                Log.error("ndb_redis", "invalid parameters")
                return nil
            }
            if parameters.isEmpty, RedisCommandFormat.hasSpecifier(command) {
                Log.error("ndb_redis", "command argument specifier found, but no params")
                return nil
            }
            do throws(RedisCommandFormat.Failure) {
                let arguments = try RedisCommandFormat.arguments(command, parameters.map { $0.render(ctx) })
                guard !arguments.isEmpty else { return nil }
                return (server, arguments, reply)
            } catch {
                Log.error("ndb_redis", "invalid redis command: \(command) (\(error))")
                return nil
            }
        }
    }

    /// `redis_cmd`: 1 with the reply stored; -1 when no reply could be had or Redis answered an
    /// error (that reply is stored too, for `$redis(r=>info)`), as Kamailio.
    func runCommand(_ call: CommandCall, _ ctx: MessageContext) -> Int {
        guard let (server, arguments, replyName) = call.evaluate(ctx) else { return -1 }
        let state = client.state
        if let pending = state.pipelines[server], !pending.isEmpty {
            Log.notice(
                "ndb_redis", "Calling redis_cmd with pipelined commands in the buffer. Automatically call redis_execute"
            )
            _ = execute(server)
        }
        state.replies[replyName] = nil
        switch client.command(server, arguments) {
        case .success(let reply):
            state.replies[replyName] = reply
            if case .error(let text) = reply {
                Log.error("ndb_redis", "Redis error:\(text)")
                return -1
            }
            return 1
        case .failure(let failure):
            logFailure(failure)
            return -1
        }
    }

    /// `redis_pipe_cmd`: keeps the command for `redis_execute`; -1 with `cluster` (as Kamailio),
    /// beyond 1000 pending commands, or when the server is unknown.
    func appendCommand(_ call: CommandCall, _ ctx: MessageContext) -> Int {
        guard !client.settings.cluster else {
            Log.error("ndb_redis", "Pipelining is not supported if cluster parameter is enabled")
            return -1
        }
        guard let (server, arguments, replyName) = call.evaluate(ctx) else { return -1 }
        guard client.hasServer(server) else {
            Log.error("ndb_redis", "no redis server found: \(server)")
            return -1
        }
        let state = client.state
        var pending = state.pipelines[server] ?? []
        guard pending.count < Self.maximumPipelined else {
            Log.error("ndb_redis", "Too many pipelined commands, maximum is \(Self.maximumPipelined)")
            return -1
        }
        pending.append((arguments, replyName))
        state.pipelines[server] = pending
        return 1
    }

    /// `redis_execute`: sends the pending commands of `server` in one write; each reply goes
    /// to its name. -1 when there were none or the server failed, -2 when it is disabled.
    func execute(_ server: String) -> Int {
        guard !client.settings.cluster else {
            Log.error("ndb_redis", "Pipelining is not supported if cluster parameter is enabled")
            return -1
        }
        let state = client.state
        let pending = state.pipelines[server] ?? []
        state.pipelines[server] = nil
        guard !pending.isEmpty else {
            Log.warning("ndb_redis", "call for redis_cmd without any pipelined commands")
            return -1
        }
        for p in pending { state.replies[p.reply] = nil }
        switch client.pipeline(server, pending.map(\.arguments)) {
        case .success(let replies):
            for (p, r) in zip(pending, replies) { state.replies[p.reply] = r }
            return 1
        case .failure(let failure):
            logFailure(failure)
            if case .disabled = failure { return -2 }
            return -1
        }
    }

    func logFailure(_ failure: RedisFailure) {
        switch failure {
        case .unknownServer(let s): Log.error("ndb_redis", "no redis server found: \(s)")
        case .disabled: break
        case .connection(let text): Log.error("ndb_redis", "unable to reach redis server: \(text)")
        }
    }
}

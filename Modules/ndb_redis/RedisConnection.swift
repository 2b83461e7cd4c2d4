import CHiredis
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// One blocking hiredis connection to a Redis server, owned by one thread.
final class RedisConnection {
    private var context: UnsafeMutablePointer<redisContext>?
    let spec: RedisServerSpec

    private init(spec: RedisServerSpec, context: UnsafeMutablePointer<redisContext>) {
        self.spec = spec
        self.context = context
    }

    deinit { if let context { redisFree(context) } }

    /// Connects with the connect timeout, sets the command timeout, authenticates (`pass`) and
    /// selects the database (`db`), as Kamailio's `redisc_init`/`redisc_reconnect_server`.
    static func open(_ spec: RedisServerSpec, connectTimeoutMs: Int, commandTimeoutMs: Int) throws(RedisFailure)
        -> RedisConnection
    {
        let connectTV = timeval(milliseconds: spec.connectTimeout ?? connectTimeoutMs)
        let ctx: UnsafeMutablePointer<redisContext>?
        if let path = spec.unixPath {
            ctx = redisConnectUnixWithTimeout(path, connectTV)
        } else {
            ctx = redisConnectWithTimeout(spec.address, Int32(spec.port), connectTV)
        }
        guard let ctx else { throw .connection("cannot allocate a redis context") }
        if ctx.pointee.err != 0 {
            let text = Self.errorText(ctx)
            redisFree(ctx)
            throw .connection(text)
        }
        let connection = RedisConnection(spec: spec, context: ctx)
        redisSetTimeout(ctx, timeval(milliseconds: spec.commandTimeout ?? commandTimeoutMs))
        if let password = spec.password {
            let reply = try connection.run([Array("AUTH".utf8), Array(password.utf8)])
            if case .error(let e) = reply { throw .connection("authentication failed: \(e)") }
        }
        if spec.database != 0 {
            let reply = try connection.run([Array("SELECT".utf8), Array(String(spec.database).utf8)])
            if case .error(let e) = reply { throw .connection("cannot select db \(spec.database): \(e)") }
        }
        return connection
    }

    /// True once hiredis saw an I/O or protocol error on the connection.
    var isBroken: Bool { context.map { $0.pointee.err != 0 } ?? true }

    /// Runs one command; throws when no reply came (the connection is then broken).
    func run(_ arguments: [[UInt8]]) throws(RedisFailure) -> RedisReply {
        var commands = RedisCommands()
        commands.add(arguments)
        return try pipeline(commands, unwanted: 0)[0]
    }

    /// Sends the commands in one write and reads the replies in order.
    func pipeline(_ commands: [[[UInt8]]]) throws(RedisFailure) -> [RedisReply] {
        var formatted = RedisCommands()
        for c in commands { formatted.add(c) }
        return try pipeline(formatted, unwanted: 0)
    }

    /// Writes `commands` in one write and reads their replies, but for the first `unwanted`
    /// (queued writes), which are dropped as they come.
    func pipeline(_ commands: RedisCommands, unwanted: Int) throws(RedisFailure) -> [RedisReply] {
        let raw = try exchange(commands, unwanted: unwanted)
        defer { raw.forEach { freeReplyObject($0) } }
        return raw.map { Self.reply($0.assumingMemoryBound(to: redisReply.self)) }
    }

    /// Writes `commands` and reads the replies of the last `commands.count - unwanted` of
    /// them, as hiredis replies the caller frees (`freeReplyObject`); the replies of the
    /// first `unwanted` (queued commands) are read and dropped as they come (an error is
    /// logged).
    func exchange(_ commands: RedisCommands, unwanted: Int) throws(RedisFailure) -> [UnsafeMutableRawPointer] {
        guard let context else { throw .connection("not connected") }
        let status = commands.bytes.withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { redisAppendFormattedCommand(context, $0.baseAddress, $0.count) }
        }
        if status != REDIS_OK { throw .connection(Self.errorText(context)) }
        let wanted = commands.count - unwanted
        var unread = unwanted
        var replies: [UnsafeMutableRawPointer] = []
        replies.reserveCapacity(wanted)
        do throws(RedisFailure) {
            while replies.count < wanted || unread > 0 {
                var raw: UnsafeMutableRawPointer?
                guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                    throw .connection(Self.errorText(context))
                }
                if unread > 0 {
                    unread -= 1
                    let r = raw.assumingMemoryBound(to: redisReply.self)
                    if r.pointee.type == REDIS_REPLY_ERROR {
                        Log.error("ndb_redis", "redis error (queued command): \(Self.text(r.pointee))")
                    }
                    freeReplyObject(raw)
                } else {
                    replies.append(raw)
                }
            }
        } catch {
            replies.forEach { freeReplyObject($0) }
            throw error
        }
        return replies
    }

    /// Copies a hiredis reply tree into a `RedisReply`.
    static func reply(_ r: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let reply = r.pointee
        switch reply.type {
        case REDIS_REPLY_STRING: return .string(bytes(reply))
        case REDIS_REPLY_INTEGER: return .integer(Int(reply.integer))
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_STATUS: return .status(text(reply))
        case REDIS_REPLY_ERROR: return .error(text(reply))
        case REDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            items.reserveCapacity(reply.elements)
            for i in 0..<reply.elements {
                if let e = reply.element[i] { items.append(Self.reply(e)) } else { items.append(.null) }
            }
            return .array(items)
        default: return .null
        }
    }

    private static func bytes(_ reply: redisReply) -> [UInt8] {
        guard let str = reply.str, reply.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: str, count: reply.len))
    }

    static func text(_ reply: redisReply) -> String {
        guard let str = reply.str, reply.len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: str, count: reply.len), as: UTF8.self)
    }

    /// The bytes of a string reply (empty for others), valid until the reply is freed.
    static func view(_ reply: redisReply) -> UnsafeRawBufferPointer {
        guard let str = reply.str, reply.len > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: str, count: reply.len)
    }

    private static func errorText(_ ctx: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: ctx.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return bytes.isEmpty ? "connection closed" : String(decoding: bytes, as: UTF8.self)
        }
    }
}

extension timeval {
    init(milliseconds ms: Int) {
        self.init(tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000)
    }
}

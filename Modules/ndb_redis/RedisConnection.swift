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
        guard let context else { throw .connection("not connected") }
        let raw = Self.withArgv(arguments) { argc, argv, lengths in
            redisCommandArgv(context, argc, argv, lengths)
        }
        guard let raw else { throw .connection(Self.errorText(context)) }
        defer { freeReplyObject(raw) }
        return Self.reply(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Sends the commands in one write and reads the replies in order.
    func pipeline(_ commands: [[[UInt8]]]) throws(RedisFailure) -> [RedisReply] {
        guard let context else { throw .connection("not connected") }
        for command in commands {
            let status = Self.withArgv(command) { argc, argv, lengths in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
            if status != REDIS_OK { throw .connection(Self.errorText(context)) }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                throw .connection(Self.errorText(context))
            }
            replies.append(Self.reply(raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
        }
        return replies
    }

    private static func withArgv<R>(
        _ arguments: [[UInt8]], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
    ) -> R {
        // hiredis copies the arguments into its output buffer before returning.
        let buffers = arguments.map { bytes -> UnsafeMutablePointer<CChar> in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBufferPointer { src in
                if let base = src.baseAddress {
                    UnsafeMutableRawPointer(p).copyMemory(from: base, byteCount: bytes.count)
                }
            }
            return p
        }
        defer { buffers.forEach { $0.deallocate() } }
        var argv: [UnsafePointer<CChar>?] = buffers.map { UnsafePointer($0) }
        let lengths = arguments.map { $0.count }
        return argv.withUnsafeMutableBufferPointer { a in
            lengths.withUnsafeBufferPointer { l in body(Int32(arguments.count), a.baseAddress!, l.baseAddress!) }
        }
    }

    /// Copies a hiredis reply tree into a `RedisReply`.
    static func reply(_ r: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let reply = r.pointee
        switch reply.type {
        case REDIS_REPLY_STRING: return .string(bytes(reply))
        case REDIS_REPLY_INTEGER: return .integer(Int(reply.integer))
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(reply), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(reply), as: UTF8.self))
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
        return UnsafeRawBufferPointer(start: str, count: reply.len).map { $0 }
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

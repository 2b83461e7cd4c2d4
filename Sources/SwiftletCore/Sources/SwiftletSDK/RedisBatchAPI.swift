/// Redis commands in the wire format (RESP arrays of bulk strings, as hiredis'
/// `redisFormatCommandArgv` writes them), one after the other in one buffer: what
/// `RedisBatchAPI` sends in one write.
public struct RedisCommands: Sendable {
    /// The formatted commands.
    public private(set) var bytes: [UInt8] = []
    /// How many commands `bytes` holds.
    public private(set) var count = 0

    public init() {}

    /// True when no command was added.
    public var isEmpty: Bool { count == 0 }

    /// Starts a command of `arguments` arguments (its name included); exactly that many
    /// `argument` calls must follow.
    public mutating func begin(arguments: Int) {
        count += 1
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(arguments)
        bytes.append(13)
        bytes.append(10)
    }

    /// One argument of the command begun last.
    public mutating func argument(_ text: String) {
        let utf8 = text.utf8
        bytes.append(UInt8(ascii: "$"))
        appendDecimal(utf8.count)
        bytes.append(13)
        bytes.append(10)
        bytes.append(contentsOf: utf8)
        bytes.append(13)
        bytes.append(10)
    }

    /// One argument of the command begun last, as bytes.
    public mutating func argument(_ data: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "$"))
        appendDecimal(data.count)
        bytes.append(13)
        bytes.append(10)
        bytes.append(contentsOf: data)
        bytes.append(13)
        bytes.append(10)
    }

    /// One argument of the command begun last, a decimal number.
    public mutating func argument(_ number: Int) { argument(String(number)) }

    /// A whole command given as its arguments.
    public mutating func add(_ arguments: [[UInt8]]) {
        begin(arguments: arguments.count)
        for a in arguments { a.withUnsafeBufferPointer { argument($0) } }
    }

    /// Appends the commands of `other` after these.
    public mutating func append(_ other: RedisCommands) {
        bytes.append(contentsOf: other.bytes)
        count += other.count
    }

    /// Forgets every command, keeping the buffer's capacity.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        count = 0
    }

    private mutating func appendDecimal(_ value: Int) {
        var v = value
        if v < 0 {
            bytes.append(UInt8(ascii: "-"))
            v = -v
        }
        var divisor = 1
        while divisor <= v / 10 { divisor *= 10 }
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(v / divisor))
            v %= divisor
            divisor /= 10
        } while divisor > 0
    }
}

/// ndb_redis' batching for modules that keep state in Redis (topos_redis), looked up with
/// `core.apis.lookup(RedisBatchAPI.self)`: writes whose replies are not needed are queued
/// and go out together with the next command of the thread, or with `flush` (one round
/// trip for all of them), and hashes are read without building `RedisReply` values.
/// Everything is on the calling thread's own connection, as `RedisAPI`, and keeps Redis'
/// order: a command sees what was queued before it on the same thread. (Another
/// connection is sure to see a write only once its reply came: `flush` waits for it, as a
/// write that was only sent may still be on its way in the kernel when a message it must
/// precede has gone out.)
public protocol RedisBatchAPI: AnyObject {
    /// Queues `commands` for `server` on the calling thread. They are written with the next
    /// command (of any API) or `flush` to that server, in the same write; their replies are
    /// read and dropped (an error reply is logged).
    func enqueue(server: String, _ commands: RedisCommands)
    /// Writes what is queued for `server` on the calling thread and waits for the replies
    /// (one round trip; a broken connection is reconnected once). nil when done (or nothing
    /// was queued); error replies are logged, not failures (Kamailio only checks that a
    /// reply came).
    func flush(server: String) -> RedisFailure?
    /// `HGETALL` of each key, in one round trip after what is queued: `field(k, name,
    /// value)` for each field of the hash of `keys[k]`. Returns, for each key, its number of
    /// fields (0: no such key; -1: Redis answered with an error, which is logged).
    func hashes(
        server: String, keys: [String],
        _ field: (Int, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
    ) -> Result<[Int], RedisFailure>
}

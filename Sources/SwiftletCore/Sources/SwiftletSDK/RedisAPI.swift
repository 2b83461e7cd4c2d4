/// A Redis reply as a value (hiredis' `redisReply`, copied out): what `redis_cmd` stores and
/// what modules get from `RedisAPI`.
public enum RedisReply: Equatable, Sendable {
    case string([UInt8])
    case array([RedisReply])
    case integer(Int)
    case null
    case status(String)
    case error(String)

    /// hiredis' `REDIS_REPLY_*` number, which `$redis(r=>type)` shows and `$redisd(...)`
    /// names: string 1, array 2, integer 3, nil 4, status 5, error 6.
    public var typeCode: Int {
        switch self {
        case .string: 1
        case .array: 2
        case .integer: 3
        case .null: 4
        case .status: 5
        case .error: 6
        }
    }

    /// The text of a string, status or error reply (hiredis' `str`), nil otherwise.
    public var text: String? {
        switch self {
        case .string(let b): String(decoding: b, as: UTF8.self)
        case .status(let s), .error(let s): s
        default: nil
        }
    }
}

/// Why a Redis command got no reply.
public enum RedisFailure: Error, Equatable, Sendable {
    /// No server of that name is configured.
    case unknownServer(String)
    /// The server is disabled after too many consecutive failures (`allowed_timeouts`).
    case disabled(String)
    /// Connecting, writing or reading failed (also after one reconnect), with hiredis' text.
    case connection(String)
}

/// The ndb_redis module's API (Kamailio's `bind_ndb_redis`), looked up with
/// `core.apis.lookup(RedisAPI.self)`: commands on the servers defined by
/// `modparam("ndb_redis", "server", ...)`, over the calling thread's own connection (as each
/// Kamailio process has its own), reconnecting once when the connection broke.
public protocol RedisAPI: AnyObject {
    /// True when a server of that name is configured.
    func hasServer(_ name: String) -> Bool
    /// Runs one command given as its arguments (`redisCommandArgv`). A Redis error reply is a
    /// success here (`.error`); a failure means no reply could be had.
    func command(server: String, arguments: [[UInt8]]) -> Result<RedisReply, RedisFailure>
    /// Sends the commands in one write and reads their replies in order (pipelining).
    func pipeline(server: String, commands: [[[UInt8]]]) -> Result<[RedisReply], RedisFailure>
}

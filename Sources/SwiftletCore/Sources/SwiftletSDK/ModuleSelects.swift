#if canImport(Glibc)
    import Glibc
#endif

/// One segment of a select path after its first: `peer` and `subject` of
/// `@tls.peer.subject`; `[n]` and `["text"]` as `index` and `key`. Names are lower case.
public struct SelectSegment: Sendable, Equatable {
    public var name: String
    public var index: Int?
    public var key: String?

    public init(name: String, index: Int? = nil, key: String? = nil) {
        self.name = name
        self.index = index
        self.key = key
    }
}

/// Selects that modules add (Kamailio's `register_select_table`): the first segment of a
/// path (`tls` of `@tls.peer.subject.cn`) names the module's table. A module registers its
/// table when its exports are built (before the script is compiled); the core's own selects
/// (`@from`, `@via`, `@msg`, ...) come first. Process-wide, like the pseudo-variable registry:
/// a getter finds the state of its configuration through the message (`ctx.core`).
public final class ModuleSelects: @unchecked Sendable {
    /// A select's value for a message, nil when it has none (the select gives null).
    public typealias Getter = (MessageContext) -> String?
    /// Compiles the segments after the first (and the whole path, for messages) into a getter,
    /// or throws for a path the table does not know.
    public typealias Compiler = ([SelectSegment], String) throws(FixupError) -> Getter

    public static let shared = ModuleSelects()

    private var mutex = pthread_mutex_t()
    private var tables: [String: Compiler] = [:]

    public init() { pthread_mutex_init(&mutex, nil) }

    /// Adds (or replaces) the table for the first segment `root` (lower case).
    public func register(_ root: String, _ compiler: @escaping Compiler) {
        pthread_mutex_lock(&mutex)
        tables[root.lowercased()] = compiler
        pthread_mutex_unlock(&mutex)
    }

    /// The table registered for `root`, if any.
    public func compiler(_ root: String) -> Compiler? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return tables[root.lowercased()]
    }
}

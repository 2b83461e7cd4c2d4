import Synchronization

/// A value of a run-time configuration variable (Kamailio's cfg framework: `CFG_VAR_INT`
/// or a string).
public enum CfgValue: Equatable, Sendable {
    case int(Int)
    case string(String)
}

/// One run-time configuration variable of a group (Kamailio's `cfg_def_t` entry): read and
/// changed while the server runs (cfg_rpc's `cfg.get` / `cfg.set`).
public struct CfgVariable: Sendable {
    /// `int` or `string` (what `cfg.help` prints as the type, and what `cfg.set` converts to).
    public enum Kind: Sendable {
        case int
        case string
    }
    public let name: String
    public let kind: Kind
    public let description: String
    /// The current value.
    public let get: @Sendable () -> CfgValue
    /// Sets the value; false when it is refused (out of range, bad value).
    public let set: @Sendable (CfgValue) -> Bool

    public init(
        _ name: String, _ kind: Kind, _ description: String, get: @escaping @Sendable () -> CfgValue,
        set: @escaping @Sendable (CfgValue) -> Bool
    ) {
        self.name = name
        self.kind = kind
        self.description = description
        self.get = get
        self.set = set
    }
}

/// The registry of run-time configuration groups (Kamailio's `cfg_declare` groups), read and
/// changed by cfg_rpc. The core's `core` group is registered at start (`debug`); modules may
/// add their own groups while they load. Changes take effect at once (Kamailio's
/// `cfg_set_now`): each variable's setter applies it.
public final class CfgVariables: Sendable {
    public static let shared = CfgVariables()

    private let groups = Mutex<[(String, [CfgVariable])]>([("core", CfgVariables.coreVariables)])

    /// Adds a group (or adds variables to an existing one), in declaration order. A variable
    /// declared again (a configuration loaded again in the same process) replaces the old one.
    public func declare(group: String, _ variables: [CfgVariable]) {
        groups.withLock { g in
            if let i = g.firstIndex(where: { $0.0 == group }) {
                for v in variables {
                    if let j = g[i].1.firstIndex(where: { $0.name == v.name }) {
                        g[i].1[j] = v
                    } else {
                        g[i].1.append(v)
                    }
                }
            } else {
                g.append((group, variables))
            }
        }
    }

    /// The groups and their variables, in declaration order.
    public var all: [(group: String, variables: [CfgVariable])] {
        groups.withLock { list in list.map { (group: $0.0, variables: $0.1) } }
    }

    /// The variables of `group`, nil for an unknown group.
    public func variables(of group: String) -> [CfgVariable]? {
        groups.withLock { list in list.first { $0.0 == group }?.1 }
    }

    /// The variable `group.name`, nil when either is unknown.
    public func variable(group: String, name: String) -> CfgVariable? {
        variables(of: group)?.first { $0.name == name }
    }

    /// The last `debug` value set over RPC (read back as set, as in Kamailio, though levels
    /// above 3 log as 3); `Int.min` until then (the `debug=` level is read back).
    private static let debugValue = Atomic<Int>(Int.min)

    /// The core's group: `debug`, the log level (as `debug=`).
    static let coreVariables: [CfgVariable] = [
        CfgVariable(
            "debug", .int, "debug level",
            get: {
                let v = debugValue.load(ordering: .relaxed)
                return .int(v == Int.min ? Log.configuredLevel.rawValue : v)
            },
            set: { v in
                guard case .int(let i) = v else { return false }
                Log.setConfiguredLevel(LogLevel(debugValue: i))
                debugValue.store(i, ordering: .relaxed)
                return true
            })
    ]
}

import SwiftletSDK

/// One group of async task workers: `name`, `workers` threads, `nonblock` (pushing fails
/// when the queue is full instead of waiting) and `usleep` (microseconds a worker sleeps
/// before taking each task).
public struct AsyncWorkerGroupSettings: Equatable {
    public var name: String
    public var workers: Int
    public var nonblock = false
    public var usleep = 0
}

/// The core parameters of the async task workers (Kamailio's `async_task.c`):
/// `async_workers` (threads of the group `default`), `async_usleep` and `async_nonblock`
/// (of that group), `async_workers_group="name=NAME;workers=N;nonblock=0|1;usleep=U"`
/// (repeatable; the name `default` sets the first group).
public struct AsyncWorkerSettings: Equatable {
    /// `async_workers`, or the `workers` of a `default` group: the first value set wins.
    var defaultWorkers: Int? = nil
    var defaultNonblock = false
    var defaultUsleep = 0
    var namedGroups: [AsyncWorkerGroupSettings] = []

    public init() {}

    /// The groups, `default` first; empty without async workers. As in Kamailio, a named
    /// group without `async_workers` gives the `default` group one worker.
    public var groups: [AsyncWorkerGroupSettings] {
        let workers = defaultWorkers ?? (namedGroups.isEmpty ? 0 : 1)
        guard workers > 0 else { return [] }
        let first = AsyncWorkerGroupSettings(
            name: "default", workers: workers, nonblock: defaultNonblock, usleep: defaultUsleep)
        return [first] + namedGroups
    }

    /// Applies one global parameter; nil when it is not one of these.
    mutating func apply(_ g: GlobalParameter) -> [ConfigDiagnostic]? {
        let at = g.value.first?.location ?? g.location
        switch g.name {
        case "async_workers", "async_usleep", "async_nonblock":
            guard let v = g.intValue else { return [ConfigDiagnostic("'\(g.name)' takes an integer value", at: at)] }
            switch g.name {
            case "async_workers":
                if v > 0 { setDefaultWorkers(v) }
            case "async_usleep": defaultUsleep = v
            default: if v > 0 { defaultNonblock = true }
            }
            return []
        case "async_workers_group":
            guard let text = g.stringValue else {
                return [ConfigDiagnostic("'async_workers_group' takes a string value", at: at)]
            }
            do throws(ConfigDiagnostic) {
                let group = try Self.parseGroup(text, at: at)
                if group.name == "default" {
                    setDefaultWorkers(group.workers)
                    if group.nonblock { defaultNonblock = true }
                    defaultUsleep = group.usleep
                } else if namedGroups.contains(where: { $0.name == group.name }) {
                    throw ConfigDiagnostic("async workers group '\(group.name)' is defined twice", at: at)
                } else {
                    namedGroups.append(group)
                }
                return []
            } catch {
                return [error]
            }
        default:
            return nil
        }
    }

    private mutating func setDefaultWorkers(_ n: Int) {
        if let set = defaultWorkers, set > 0 {
            Log.warning("core", "task workers already set (\(set)): \(n) ignored")
            return
        }
        defaultWorkers = n
    }

    /// `name=abc;workers=4;nonblock=0;usleep=0`: names case-insensitive, unknown names
    /// ignored, a trailing `;` allowed; `name` and a positive `workers` are required.
    static func parseGroup(_ text: String, at location: SourceLocation) throws(ConfigDiagnostic)
        -> AsyncWorkerGroupSettings
    {
        var group = AsyncWorkerGroupSettings(name: "", workers: 0)
        for item in text.split(separator: ";", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1)
            let name = String(parts[0]).trimmingCharacters(in: " \t").lowercased()
            let body = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: " \t") : ""
            func int() throws(ConfigDiagnostic) -> Int {
                guard let v = Int(body) else {
                    throw ConfigDiagnostic("async_workers_group: invalid \(name) value '\(body)'", at: location)
                }
                return v
            }
            switch name {
            case "name": group.name = body
            case "workers": group.workers = try int()
            case "usleep": group.usleep = try int()
            case "nonblock": group.nonblock = try int() != 0
            default: continue
            }
        }
        guard !group.name.isEmpty else {
            throw ConfigDiagnostic("async_workers_group: invalid name value in \"\(text)\"", at: location)
        }
        guard group.workers > 0 else {
            throw ConfigDiagnostic("async_workers_group: invalid workers value \(group.workers)", at: location)
        }
        return group
    }
}

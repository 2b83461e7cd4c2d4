import SwiftletSDK

/// The RPC commands of the counters module, with Kamailio's result shapes (as jsonrpcs
/// prints them): a single value, an array for the list commands, an object for a group, and
/// `{}` when a command adds nothing (`cnt.reset`, a missing parameter).
enum CountersRPC {
    static let commands: [RPCCommand] = [
        RPCCommand("cnt.get", "get counter value (takes group and counter name as parameters)", handler: get),
        RPCCommand("cnt.reset", "reset counter (takes group and counter name as parameters)", handler: reset),
        RPCCommand("cnt.get_raw", "get raw counter value (debugging version)", handler: getRaw),
        RPCCommand("cnt.list_groups", "list all the counter group names", handler: groups),
        RPCCommand("cnt.grps_list", "list all the counter group names", handler: groups),
        RPCCommand("cnt.list_vars", "list all the counters names in a specified group", handler: names),
        RPCCommand("cnt.var_list", "list all the counters names in a specified group", handler: names),
        RPCCommand("cnt.get_vars", "list all counter names and values in a specified group", handler: groupValues),
        RPCCommand("cnt.grp_get_all", "list all counter names and values in a specified group", handler: groupValues),
        RPCCommand(
            "cnt.help", "print the description of a counter (group and counter name required).", handler: help),
    ]

    static let nothing = RPCValue.object([])

    /// Parameter `i` as a string, nil when missing.
    static func param(_ r: RPCRequest, _ i: Int) -> String? { try? r.string(i) }

    static func counter(_ r: RPCRequest) throws(RPCError) -> CounterHandle? {
        guard let group = param(r, 0), let name = param(r, 1) else { return nil }
        guard let h = Counters.shared.lookup(group: group, name: name) else {
            throw RPCError(400, "non-existent counter \(group).\(name)\n")
        }
        return h
    }

    /// `cnt.get group name` → the value; `cnt.get group` → `{name: value, ...}`.
    @Sendable static func get(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard let group = param(r, 0) else { return nothing }
        guard param(r, 1) != nil else { return values(group) }
        guard let h = try counter(r) else { return nothing }
        return .int(Int(Int32(truncatingIfNeeded: Counters.shared.value(h))))
    }

    @Sendable static func getRaw(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard let h = try counter(r) else { return nothing }
        return .int(Int(Int32(truncatingIfNeeded: Counters.shared.rawValue(h))))
    }

    @Sendable static func reset(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        if let h = try counter(r) { Counters.shared.reset(h) }
        return nothing
    }

    @Sendable static func groups(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        .array(Counters.shared.groups.map(RPCValue.string))
    }

    @Sendable static func names(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard let group = param(r, 0) else { return .array([]) }
        return .array(Counters.shared.counters(inGroup: group).map { .string(Counters.shared.name($0)) })
    }

    @Sendable static func groupValues(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard let group = param(r, 0) else { return nothing }
        return values(group)
    }

    @Sendable static func help(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard let h = try counter(r) else { return nothing }
        return .string(Counters.shared.description(h))
    }

    /// `{name: value, ...}` of a group, sorted by name (Kamailio prints values as `int`).
    static func values(_ group: String) -> RPCValue {
        let c = Counters.shared
        return .object(
            c.counters(inGroup: group).map { (c.name($0), .int(Int(Int32(truncatingIfNeeded: c.value($0))))) })
    }
}

import SwiftletSDK

/// The `cfg.*` RPC commands with Kamailio 5.6's names, faults and result shapes.
enum CfgRPC {
    static let setDoc = "Set the value of a configuration variable and commit the change immediately"
    static let commands: [RPCCommand] = [
        RPCCommand("cfg.set", setDoc, handler: set),
        RPCCommand("cfg.set_now_int", setDoc, handler: setInt),
        RPCCommand("cfg.seti", setDoc, handler: setInt),
        RPCCommand("cfg.set_now_string", setDoc, handler: setString),
        RPCCommand("cfg.sets", setDoc, handler: setString),
        RPCCommand("cfg.get", "Get the value of a configuration variable", handler: get),
        RPCCommand("cfg.help", "Print the description of a configuration variable", handler: help),
        RPCCommand("cfg.list", "List the configuration variables", handler: list),
    ]

    static let nothing = RPCValue.object([])
    static let wrongGroup = RPCError(400, "Wrong group syntax. Use either \"group\", or \"group[id]\"")

    /// The group named by `g`: `group`, or `group[id]` (an instance). Swiftlet's run-time
    /// groups have no instances, so an instance is never found (nil). A name without the
    /// closing `]` is a group name, as in Kamailio.
    static func group(_ g: String) throws(RPCError) -> String? {
        guard g.last == "]", let open = g.firstIndex(of: "[") else { return g }
        guard Int(g[g.index(after: open)..<g.index(before: g.endIndex)]) != nil else { throw wrongGroup }
        return nil
    }

    /// Sets `group.name` to `value` (converted to the variable's type as Kamailio does).
    static func assign(_ group: String?, _ name: String, _ value: CfgValue) throws(RPCError) -> RPCValue {
        let failed = RPCError(400, "Failed to set the variable")
        guard let group, let v = CfgVariables.shared.variable(group: group, name: name) else {
            Log.error("cfg_rpc", "failed to set the variable: \(group ?? "").\(name)")
            throw failed
        }
        let converted: CfgValue
        switch (v.kind, value) {
        case (.int, .int), (.string, .string): converted = value
        case (.int, .string(let s)):
            guard let i = Int(s) else {
                Log.error("cfg_rpc", "cannot convert string to integer '\(s)'")
                throw failed
            }
            converted = .int(i)
        case (.string, .int(let i)): converted = .string(String(i))
        }
        guard v.set(converted) else { throw failed }
        return nothing
    }

    /// `cfg.set group name value`: an integer or a string value. As in Kamailio, missing
    /// parameters change nothing and return `{}`.
    @Sendable static func set(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard r.params.count > 2, let g = try? r.string(0), let name = try? r.string(1) else { return nothing }
        if case .int(let i) = r.params[2] { return try assign(try group(g), name, .int(i)) }
        guard let s = try? r.string(2) else { return nothing }
        return try assign(try group(g), name, .string(s))
    }

    @Sendable static func setInt(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard let g = try? r.string(0), let name = try? r.string(1), let i = try? r.int(2) else { return nothing }
        return try assign(try group(g), name, .int(i))
    }

    @Sendable static func setString(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard let g = try? r.string(0), let name = try? r.string(1), let s = try? r.string(2) else { return nothing }
        return try assign(try group(g), name, .string(s))
    }

    static func rpcValue(_ v: CfgValue) -> RPCValue {
        switch v {
        case .int(let i): .int(i)
        case .string(let s): .string(s)
        }
    }

    /// `cfg.get group name` → the value; `cfg.get group` → `{name: value, ...}`.
    @Sendable static func get(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard !r.params.isEmpty else { throw RPCError(500, "Failed to get the parameters") }
        let g = try group(try r.string(0))
        guard let g else { throw RPCError(400, "Failed to get the variable") }
        guard r.params.count > 1 else {
            guard let vars = CfgVariables.shared.variables(of: g) else { return nothing }
            return .object(vars.map { ($0.name, rpcValue($0.get())) })
        }
        guard let v = CfgVariables.shared.variable(group: g, name: try r.string(1)) else {
            throw RPCError(400, "Failed to get the variable")
        }
        return rpcValue(v.get())
    }

    /// `cfg.help group name` → `"(parameter type is integer)"` or `... string)`: the
    /// description Kamailio 5.6 adds first is replaced by this second value in jsonrpcs
    /// replies, so the result is only the type line, as there.
    @Sendable static func help(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        let g = try r.string(0)
        guard let v = CfgVariables.shared.variable(group: g, name: try r.string(1)) else {
            throw RPCError(400, "Failed to get the variable description")
        }
        return .string("(parameter type is \(v.kind == .int ? "integer" : "string"))")
    }

    /// `cfg.list [group]` → `["group: name", ...]`.
    @Sendable static func list(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        var only: String? = nil
        if !r.params.isEmpty { only = try r.string(0) }
        return .array(
            CfgVariables.shared.all.filter { only == nil || $0.group == only }.flatMap { g in
                g.variables.map { RPCValue.string("\(g.group): \($0.name)") }
            })
    }
}

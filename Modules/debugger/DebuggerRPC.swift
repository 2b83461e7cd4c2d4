import SwiftletSDK

/// The debugger's RPC commands with Kamailio 5.6's names, faults and result shapes
/// (`dbg.bp` is not exported: Swiftlet has no breakpoints).
struct DebuggerRPC {
    let module: DebuggerModule

    var commands: [RPCCommand] {
        let m = module
        return [
            RPCCommand("dbg.ls", "List debugging process array") { r throws(RPCError) in try DebuggerRPC.list(m, r) },
            RPCCommand("dbg.trace", "Config trace command") { r throws(RPCError) in try DebuggerRPC.trace(m, r) },
            RPCCommand("dbg.set_mod_level", "Set module log level") { r throws(RPCError) in
                try DebuggerRPC.setModuleLevel(m, r)
            },
            RPCCommand("dbg.set_mod_facility", "Set module log facility") { r throws(RPCError) in
                try DebuggerRPC.setModuleFacility(m, r)
            },
            RPCCommand("dbg.get_mod_level", "Get module log level") { r throws(RPCError) in
                guard let name = try? r.string(0) else { throw RPCError(500, "invalid parameters") }
                return .int(m.levels.level(of: name) ?? Log.configuredLevel.rawValue)
            },
            RPCCommand("dbg.get_mod_facility", "Get module log facility") { r throws(RPCError) in
                guard let name = try? r.string(0) else { throw RPCError(500, "invalid parameters") }
                let f = m.levels.facility(of: name) ?? m.settings.defaultFacility
                return DebuggerSettings.name(ofFacility: f).map { .string($0) } ?? .null
            },
        ]
    }

    static let ok = RPCValue.string("200 ok")

    /// The entries `dbg.ls` / `dbg.trace` address: all workers, or the one with pid `params[index]`.
    static func selected(_ m: DebuggerModule, _ r: RPCRequest, at index: Int) throws(RPCError) -> (
        all: [Int32], chosen: [(Int, Int32)]
    ) {
        let all = m.workerIDs
        guard index < r.params.count else { return (all, Array(all.enumerated())) }
        guard let pid = try? r.int(index), let i = all.firstIndex(of: Int32(truncatingIfNeeded: pid)) else {
            throw RPCError(500, "No such pid")
        }
        return (all, [(i, all[i])])
    }

    /// `dbg.ls [pid]`: `{entry, pid, set, state, in.pid, in.cmd}` per worker; `set` has bit 0
    /// (1) while the worker traces.
    static func list(_ m: DebuggerModule, _ r: RPCRequest) throws(RPCError) -> RPCValue {
        let (_, chosen) = try selected(m, r, at: 0)
        return .array(
            chosen.map { (i, pid) in
                .object([
                    ("entry", .int(i)), ("pid", .int(Int(pid))),
                    ("set", .int(m.tracer.traceSwitch.isOn(tid: pid) ? 1 : 0)), ("state", .int(0)),
                    ("in.pid", .int(0)), ("in.cmd", .int(0)),
                ])
            })
    }

    /// `dbg.trace on|off [pid]`.
    static func trace(_ m: DebuggerModule, _ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard let cmd = try? r.string(0) else { throw RPCError(500, "Config trace command missing") }
        let (all, chosen) = try selected(m, r, at: 1)
        guard cmd == "on" || cmd == "off" else { throw RPCError(500, "Unknown trace command") }
        if r.params.count > 1 {
            for (_, pid) in chosen { m.tracer.traceSwitch.set(cmd == "on", tid: pid, all: all) }
        } else {
            m.tracer.traceSwitch.setAll(cmd == "on")
        }
        return ok
    }

    /// `dbg.set_mod_level name level`.
    static func setModuleLevel(_ m: DebuggerModule, _ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard let name = try? r.string(0) else { throw RPCError(500, "invalid parameters") }
        guard m.settings.modHashSize > 0, let level = try? r.int(1) else {
            throw RPCError(500, "cannot store parameter")
        }
        m.levels.setLevel(level, for: name)
        return ok
    }

    /// `dbg.set_mod_facility name LOG_LOCAL0`.
    static func setModuleFacility(_ m: DebuggerModule, _ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard let name = try? r.string(0), let facility = try? r.string(1) else {
            throw RPCError(500, "invalid parameters")
        }
        guard let f = DebuggerSettings.facility(named: facility) else { throw RPCError(500, "facility not found") }
        guard m.settings.modHashSize > 0 else { throw RPCError(500, "cannot store parameter") }
        m.levels.setFacility(f, for: name)
        return ok
    }
}

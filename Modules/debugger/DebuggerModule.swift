import SwiftletSDK
import Synchronization

/// The `debugger` module (Kamailio's `modules/debugger`): the config trace (`cfgtrace`, a
/// log line before each action of the script), per-module log levels and facilities, and
/// their RPC commands. Breakpoints and stepping are not part of it (see README).
final class DebuggerModule: @unchecked Sendable {
    let settings = DebuggerSettings()
    let tracer: CfgTracer
    let levels = ModuleLogLevels()
    /// The RPC registry, for the workers' ids (`core.psx`).
    var rpcs: RPCRegistry?

    init() { tracer = CfgTracer(settings: settings) }

    var exports: ModuleExports {
        let e = ModuleExports(name: "debugger")
        let s = settings
        e.parameters = [
            ModuleParameter("cfgtrace", .int { (v: Int) throws(FixupError) in s.cfgtrace = v }),
            ModuleParameter("cfgtrace_format", .int { (v: Int) throws(FixupError) in s.cfgtraceFormat = v }),
            ModuleParameter(
                "breakpoint",
                .int { (v: Int) throws(FixupError) in
                    if v != 0 { throw FixupError("breakpoints are not supported by Swiftlet's debugger") }
                }),
            ModuleParameter("log_level", .int { (v: Int) throws(FixupError) in s.logLevel = v }),
            ModuleParameter("log_facility", .string { (v: String) throws(FixupError) in s.logFacility = v }),
            ModuleParameter("log_prefix", .string { (v: String) throws(FixupError) in s.logPrefix = v }),
            ModuleParameter("log_level_name", .string { (v: String) throws(FixupError) in s.logLevelName = v }),
            ModuleParameter(
                "log_assign",
                .int { (v: Int) throws(FixupError) in
                    if v != 0 { throw FixupError("log_assign is not supported by Swiftlet's debugger") }
                }),
            ModuleParameter("step_usleep", .int { (v: Int) throws(FixupError) in s.stepUsleep = v }),
            ModuleParameter("step_loops", .int { (v: Int) throws(FixupError) in s.stepLoops = v }),
            ModuleParameter(
                "mod_hash_size",
                .int { (v: Int) throws(FixupError) in
                    s.modHashSize = v
                    // Before any level is set: a raised process level then goes through it.
                    if v > 0 { Log.install(moduleLevels: self.levels) }
                }),
            ModuleParameter(
                "mod_level_mode",
                .int { (v: Int) throws(FixupError) in self.levels.setLevelMode(v) }),
            ModuleParameter(
                "mod_level", .string { (v: String) throws(FixupError) in try self.moduleLevelParameter(v) }),
            ModuleParameter(
                "mod_facility_mode",
                .int { (v: Int) throws(FixupError) in self.levels.facilityMode.store(v, ordering: .relaxed) }),
            ModuleParameter(
                "mod_facility", .string { (v: String) throws(FixupError) in try self.moduleFacilityParameter(v) }),
            ModuleParameter(
                "reset_msgid",
                .int { (v: Int) throws(FixupError) in
                    if v != 0 { throw FixupError("reset_msgid is not supported: Swiftlet keeps no message ids") }
                }),
            ModuleParameter("cfgpkgcheck", .int { (v: Int) throws(FixupError) in s.cfgpkgcheck = v }),
            ModuleParameter(
                "cfgtest",
                .int { (v: Int) throws(FixupError) in
                    if v != 0 { throw FixupError("can't find cfgt module") }
                }),
        ]
        e.functions = [
            ScriptFunction("dbg_sip_msg", parameters: 0...2, routes: [.request, .coreOnReply, .tmOnReply]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in try self.fixupSipMsg(args)
            }
        ]
        e.rpcs = DebuggerRPC(module: self).commands
        e.provide(tracer, as: ScriptActionTracer.self)
        e.initialize = { context in
            if let name = s.logFacility {
                guard let f = DebuggerSettings.facility(named: name) else {
                    throw FixupError("invalid log facility configured")
                }
                s.facility = f
            }
            self.rpcs = context.core.rpcs
            self.tracer.traceSwitch.setAll(s.cfgtrace == 1)
            CfgVariables.shared.declare(group: "dbg", self.cfgVariables)
        }
        e.destroy = { Log.install(moduleLevels: nil) }
        return e
    }

    /// `mod_level` "name=level": needs `mod_hash_size` set before it, as in Kamailio.
    func moduleLevelParameter(_ v: String) throws(FixupError) {
        guard let eq = v.firstIndex(of: "=") else { throw FixupError("invalid parameter value: \(v)") }
        guard let level = Int(v[v.index(after: eq)...]) else {
            throw FixupError("invalid parameter - level value: \(v)")
        }
        guard settings.modHashSize > 0 else { throw FixupError("cannot store parameter: \(v)") }
        levels.setLevel(level, for: String(v[..<eq]))
    }

    /// `mod_facility` "name=LOG_LOCAL0".
    func moduleFacilityParameter(_ v: String) throws(FixupError) {
        guard let eq = v.firstIndex(of: "=") else { throw FixupError("invalid parameter value: \(v)") }
        guard let facility = DebuggerSettings.facility(named: String(v[v.index(after: eq)...])) else {
            throw FixupError("invalid parameter - facility value: \(v)")
        }
        guard settings.modHashSize > 0 else { throw FixupError("cannot store parameter: \(v)") }
        levels.setFacility(facility, for: String(v[..<eq]))
    }

    /// The cfg group `dbg` (Kamailio's `debugger_config.c`), for cfg_rpc.
    var cfgVariables: [CfgVariable] {
        let levels = self.levels
        let size = settings.modHashSize
        return [
            CfgVariable(
                "mod_level_mode", .int, "Enable or disable per module log level (0 - disabled, 1 - enabled)",
                get: { .int(levels.levelMode) },
                set: { v in
                    guard case .int(let i) = v, (0...1).contains(i) else { return false }
                    levels.setLevelMode(i)
                    return true
                }),
            CfgVariable(
                "mod_facility_mode", .int, "Enable or disable per module log facility (0 - disabled, 1 - enabled)",
                get: { .int(levels.facilityMode.load(ordering: .relaxed)) },
                set: { v in
                    guard case .int(let i) = v, (0...1).contains(i) else { return false }
                    levels.facilityMode.store(i, ordering: .relaxed)
                    return true
                }),
            CfgVariable(
                "mod_hash_size", .int, "power of two as size of internal hash table to store levels per module",
                get: { .int(size) }, set: { _ in false }),
        ]
    }

    /// The workers' kernel thread ids as `core.psx` lists them.
    var workerIDs: [Int32] {
        guard case .success(.array(let list))? = rpcs?.call(RPCRequest(method: "core.psx", params: [])) else {
            return []
        }
        return list.compactMap { if case .int(let p)? = $0["PID"] { Int32(p) } else { nil } }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "debugger") { DebuggerModule().exports }
}

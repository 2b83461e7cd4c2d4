import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The core's own RPC commands (Kamailio's `core.*` and `system.*` that need no module).
enum CoreRPC {
    /// `Fri Nov 27 04:03:29 2026`, as Kamailio's `core.uptime` prints times (ctime without the line break).
    static func ctimeText(_ t: time_t) -> String {
        var tmv = tm()
        var copy = t
        localtime_r(&copy, &tmv)
        var buf = [CChar](repeating: 0, count: 64)
        strftime(&buf, buf.count, "%a %b %e %H:%M:%S %Y", &tmv)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func register(in registry: RPCRegistry, modules: @escaping @Sendable () -> [String]) throws(FixupError) {
        let commands: [RPCCommand] = [
            RPCCommand("system.listMethods", "Lists the RPC methods.") { _ in
                .array(registry.methodNames.map(RPCValue.string))
            },
            RPCCommand("system.methodHelp", "Prints the help of a method.") {
                (r: RPCRequest) throws(RPCError) -> RPCValue in
                let name = try r.string(0)
                guard let c = registry.command(name) else { throw RPCError(400, "command not found") }
                return .string(c.documentation)
            },
            RPCCommand("core.version", "Returns the version string of the server.") { _ in .string(Core.fullVersion) },
            RPCCommand("core.echo", "Returns its parameters.") { r in .array(r.params) },
            RPCCommand("core.uptime", "Returns the uptime of the server.") { _ in
                let now = time(nil)
                let startTime = CorePseudoVariables.startTime
                return .object([
                    ("now", .string(ctimeText(now))), ("up_since", .string(ctimeText(startTime))),
                    ("uptime", .int(now - startTime)),
                ])
            },
            RPCCommand("core.modules", "Lists the loaded modules.") { _ in .array(modules().map(RPCValue.string)) },
            RPCCommand("core.shmmem", "Returns shared memory info (optional unit: b, k, m or g).", handler: shmmem),
        ]
        for c in commands + processCommands + socketCommands { try registry.register(c) }
    }

    /// `core.shmmem [unit]`: Kamailio's figures of the shared memory pool, in bytes or, with
    /// `k`/`kb`, `m`/`mb`, `g`/`gb` (any case), in those units rounded down.
    @Sendable static func shmmem(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        var shift = 0
        if !r.params.isEmpty {
            let unit = Array(try r.string(0).lowercased())
            let bad = RPCError(500, "bad param, (use b|k|m|g)")
            switch unit.first {
            case "b": shift = 0
            case "k": shift = 10
            case "m": shift = 20
            case "g": shift = 30
            default: throw bad
            }
            guard unit.count == 1 || (unit.count == 2 && unit[1] == "b") else { throw bad }
        }
        let s = SharedMemory.shared.statistics
        return .object([
            ("total", .int(s.total >> shift)), ("free", .int(s.free >> shift)), ("used", .int(s.used >> shift)),
            ("real_used", .int(s.realUsed >> shift)), ("max_used", .int(s.maxUsed >> shift)),
            ("fragments", .int(s.fragments)),
        ])
    }
}

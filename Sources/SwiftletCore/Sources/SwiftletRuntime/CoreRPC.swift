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

    /// When the process started (for `core.uptime`).
    nonisolated(unsafe) static var startTime = time(nil)

    static func register(in registry: RPCRegistry, modules: @escaping @Sendable () -> [String]) throws(FixupError) {
        let commands: [RPCCommand] = [
            RPCCommand("system.listMethods", "Lists the RPC methods.") { _ in
                .array(RPCRegistry.shared.methodNames.map(RPCValue.string))
            },
            RPCCommand("system.methodHelp", "Prints the help of a method.") {
                (r: RPCRequest) throws(RPCError) -> RPCValue in
                let name = try r.string(0)
                guard let c = RPCRegistry.shared.command(name) else { throw RPCError(400, "command not found") }
                return .string(c.documentation)
            },
            RPCCommand("core.version", "Returns the version string of the server.") { _ in .string(Core.fullVersion) },
            RPCCommand("core.echo", "Returns its parameters.") { r in .array(r.params) },
            RPCCommand("core.uptime", "Returns the uptime of the server.") { _ in
                let now = time(nil)
                return .object([
                    ("now", .string(ctimeText(now))), ("up_since", .string(ctimeText(startTime))),
                    ("uptime", .int(now - startTime)),
                ])
            },
            RPCCommand("core.modules", "Lists the loaded modules.") { _ in .array(modules().map(RPCValue.string)) },
        ]
        for c in commands { try registry.register(c) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import SwiftletSDK

/// The core's own RPC commands (Kamailio's `core.*` and `system.*` that need no module).
enum CoreRPC {
    /// When the process started (for `core.uptime`).
    nonisolated(unsafe) static var startTime = time(nil)

    static func register(in registry: RPCRegistry, modules: @escaping @Sendable () -> [String]) throws(FixupError) {
        let commands: [RPCCommand] = [
            RPCCommand("system.listMethods", "Lists the RPC methods.") { _ in
                .array(RPCRegistry.shared.methodNames.map(RPCValue.string))
            },
            RPCCommand("system.methodHelp", "Prints the help of a method.") { (r: RPCRequest) throws(RPCError) -> RPCValue in
                let name = try r.string(0)
                guard let c = RPCRegistry.shared.command(name) else { throw RPCError(400, "command not found") }
                return .string(c.documentation)
            },
            RPCCommand("core.version", "Returns the version string of the server.") { _ in .string(Core.fullVersion) },
            RPCCommand("core.echo", "Returns its parameters.") { r in .array(r.params) },
            RPCCommand("core.uptime", "Returns the uptime of the server.") { _ in
                let now = time(nil)
                var tmv = tm()
                var t = startTime
                localtime_r(&t, &tmv)
                var buf = [CChar](repeating: 0, count: 64)
                strftime(&buf, buf.count, "%a %b %e %H:%M:%S %Y", &tmv)
                let started = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                return .object([("now", .int(now)), ("up_since", .string(started)), ("uptime", .int(now - startTime))])
            },
            RPCCommand("core.modules", "Lists the loaded modules.") { _ in .array(modules().map(RPCValue.string)) },
        ]
        for c in commands { try registry.register(c) }
    }
}

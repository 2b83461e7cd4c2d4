import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The core's process and build RPCs, with Kamailio's result shapes (`core_cmd.c`):
/// `core.ps`, `core.psx`, `core.psa`, `core.pwd`, `core.info`, `core.tcp_info`.
extension CoreRPC {
    /// What `core.tcp_info` reports, set by the server once TCP listens (nil: TCP disabled).
    nonisolated(unsafe) static var tcpInfo: (() -> (readers: Int, maxConnections: Int, open: Int))? = nil

    static var processCommands: [RPCCommand] {
        [
            RPCCommand("core.ps", "Returns the description of running processes.") { _ in
                .array(ProcessTable.shared.all.flatMap { [RPCValue.int(Int($0.tid)), .string($0.description)] })
            },
            RPCCommand("core.psx", "Returns the detailed description of running processes.") { _ in
                .array(
                    ProcessTable.shared.all.enumerated().map { i, e in
                        .object([("IDX", .int(i)), ("PID", .int(Int(e.tid))), ("DSC", .string(e.description))])
                    })
            },
            RPCCommand("core.psa", "Return all the attributes of running processes.") { _ in
                .array(
                    ProcessTable.shared.all.enumerated().map { i, e in
                        .object([
                            ("index", .int(i)), ("pid", .int(Int(e.tid))), ("status", .int(0)), ("rank", .int(e.rank)),
                            ("description", .string(e.description)),
                        ])
                    })
            },
            RPCCommand("core.pwd", "Returns the working directory of server.") {
                (_: RPCRequest) throws(RPCError) -> RPCValue in
                var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                guard getcwd(&buf, buf.count) != nil else { throw RPCError(500, "getcwd Failed") }
                return .array([
                    .string(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                ])
            },
            RPCCommand(
                "core.info", "Verbose info, including version number, compile flags, compiler,repository hash etc."
            ) {
                _ in
                .object([
                    ("version", .string(Core.fullVersion.split(separator: " ").prefix(2).joined(separator: " "))),
                    ("id", .string(SWIFTLET_SDK_SIGNATURE)), ("compiler", .string(compiler)),
                    ("compiled", .string(compiledTime())), ("flags", .string(buildFlags)),
                ])
            },
            RPCCommand("core.tcp_info", "Returns tcp related info.") { (_: RPCRequest) throws(RPCError) -> RPCValue in
                guard let info = tcpInfo?() else { throw RPCError(500, "tcp support disabled") }
                return .object([
                    ("readers", .int(info.readers)), ("max_connections", .int(info.maxConnections)),
                    ("max_tls_connections", .int(0)), ("opened_connections", .int(info.open)),
                    ("opened_tls_connections", .int(0)), ("write_queued_bytes", .int(0)),
                ])
            },
        ]
    }

    /// The Swift compiler that built the core.
    static var compiler: String {
        #if compiler(>=6.2)
            "swiftc 6.2+"
        #elseif compiler(>=6.1)
            "swiftc 6.1"
        #elseif compiler(>=6.0)
            "swiftc 6.0"
        #else
            "swiftc 5"
        #endif
    }

    /// The build's features, in the manner of Kamailio's flag list.
    static let buildFlags = "USE_TCP, USE_IPV6, SHM_MEM, THREADED_WORKERS, MODULE_ABI=\(SWIFTLET_MODULE_ABI_VERSION)"

    /// When the running executable was written (`12:34:56 Dec  5 2026`, Kamailio's format).
    static func compiledTime() -> String {
        var st = stat()
        guard stat("/proc/self/exe", &st) == 0 else { return "" }
        var t = st.st_mtim.tv_sec
        var tmv = tm()
        localtime_r(&t, &tmv)
        var buf = [CChar](repeating: 0, count: 64)
        strftime(&buf, buf.count, "%H:%M:%S %b %e %Y", &tmv)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

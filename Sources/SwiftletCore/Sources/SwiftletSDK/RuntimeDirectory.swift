extension Core {
    /// The runtime directory (`rundir=`, `-Y`; Kamailio's `runtime_dir`): control sockets
    /// given with a relative path (jsonrpcs' `dgram_socket`) live there. Set by the runtime
    /// before modules initialise; read-only afterwards.
    nonisolated(unsafe) public private(set) static var runtimeDirectory = "/run/swiftlet"

    /// Sets the runtime directory; called by the runtime at start-up (and by tests).
    public static func setRuntimeDirectory(_ path: String) { runtimeDirectory = path }

    /// `path` as it is when absolute, else inside the runtime directory (Kamailio's rule for
    /// the jsonrpcs FIFO and datagram socket names).
    public static func runtimePath(_ path: String) -> String {
        guard !path.hasPrefix("/"), !runtimeDirectory.isEmpty else { return path }
        return runtimeDirectory.hasSuffix("/") ? runtimeDirectory + path : runtimeDirectory + "/" + path
    }
}

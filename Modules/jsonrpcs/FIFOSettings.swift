import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// `fifo_user` / `fifo_group`: a name or a numeric id, as Kamailio takes both.
enum FIFOOwner {
    case name(String)
    case id(Int)

    init(_ value: ModuleParameterSetting.Value) {
        switch value {
        case .int(let i): self = .id(i)
        case .string(let s): self = Int(s).map { .id($0) } ?? .name(s)
        }
    }

    /// The user id (and that user's group) for `fifo_user`; throws `Bad user name`.
    func user() throws(FixupError) -> (uid_t, gid_t?) {
        switch self {
        case .id(let i): return (uid_t(truncatingIfNeeded: i), nil)
        case .name(let n):
            guard let pw = getpwnam(n) else { throw FixupError("Bad user name \(n)") }
            return (pw.pointee.pw_uid, pw.pointee.pw_gid)
        }
    }

    /// The group id for `fifo_group`; throws `Bad group name`.
    func group() throws(FixupError) -> gid_t {
        switch self {
        case .id(let i): return gid_t(truncatingIfNeeded: i)
        case .name(let n):
            guard let gr = getgrnam(n) else { throw FixupError("Bad group name \(n)") }
            return gr.pointee.gr_gid
        }
    }
}

extension JSONRPCModule {
    /// Creates the FIFO as Kamailio's `jsonrpc_init_fifo_file()`: the path in the runtime
    /// directory unless absolute, mode 0 forced to 0600, `fifo_user` setting the group too
    /// unless `fifo_group` is given.
    func openFIFO(rpcs: RPCRegistry) throws(FixupError) -> FIFOServer {
        guard !fifoReplyDirectory.isEmpty else { throw FixupError("fifo_reply_dir parameter is empty") }
        var access = FIFOServer.Access(mode: mode_t(fifoMode), user: nil, group: nil)
        if fifoMode == 0 {
            Log.warning("jsonrpcs", "cannot specify fifo_mode = 0, forcing it to rw-------")
            access.mode = 0o600
        }
        if let u = fifoUser { (access.user, access.group) = try u.user() }
        if let g = fifoGroup { access.group = try g.group() }
        let server = FIFOServer(
            path: Core.runtimePath(fifoName), replyDirectory: fifoReplyDirectory, pretty: prettyFormat != 0,
            rpcs: rpcs)
        try server.open(access)
        return server
    }
}

import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `ctl` module: Kamailio's binrpc control interface (`modules/ctl`), what `kamcmd`
/// talks to. It serves the RPC commands of the core and of every loaded module over Unix
/// stream/datagram sockets, TCP and UDP.
final class CtlModule: @unchecked Sendable {
    /// The `binrpc` addresses in configuration order.
    var addresses: [ControlSocketAddress] = []
    var mode: Int = 0o600
    var user: uid_t? = nil
    var group: gid_t? = nil
    var maxBodyKiB = 32
    var maxStructKiB = 8
    var server: ControlServer?

    /// Kamailio's default socket, `unixs:<runtime dir>/kamailio_ctl`, named for Swiftlet.
    static var defaultAddress: ControlSocketAddress {
        ControlSocketAddress(
            transport: .unixStream, name: Core.runtimePath("swiftlet_ctl"), port: 0)
    }

    var exports: ModuleExports {
        let e = ModuleExports(name: "ctl")
        e.parameters = [
            ModuleParameter(
                "binrpc",
                .string { (v: String) throws(FixupError) in
                    guard let a = ControlSocketAddress.parse(v) else {
                        throw FixupError("ctl: bad listen socket: \"\(v)\"")
                    }
                    self.addresses.append(a)
                }),
            ModuleParameter("mode", .int { (v: Int) throws(FixupError) in self.mode = v }),
            ModuleParameter(
                "user",
                .string { (v: String) throws(FixupError) in
                    guard let uid = UInt32(v) ?? getpwnam(v)?.pointee.pw_uid else {
                        throw FixupError("ctl: bad user name/uid number \(v)")
                    }
                    self.user = uid
                }),
            ModuleParameter(
                "group",
                .string { (v: String) throws(FixupError) in
                    guard let gid = UInt32(v) ?? getgrnam(v)?.pointee.gr_gid else {
                        throw FixupError("ctl: bad group name/gid number \(v)")
                    }
                    self.group = gid
                }),
            ModuleParameter("binrpc_max_body_size", .int { (v: Int) throws(FixupError) in self.maxBodyKiB = v }),
            ModuleParameter(
                "binrpc_struct_max_body_size", .int { (v: Int) throws(FixupError) in self.maxStructKiB = v }),
        ]
        e.rpcs = [
            RPCCommand("ctl.who", "list open connections") { (_: RPCRequest) throws(RPCError) -> RPCValue in
                try self.who()
            },
            RPCCommand("ctl.connections", "returns number of open connections") {
                (_: RPCRequest) throws(RPCError) -> RPCValue in
                guard let s = self.server, s.isServingThread else {
                    throw RPCError(606, "rpc available only over binrpc (ctl)")
                }
                return .int(s.connections.count)
            },
            RPCCommand("ctl.listen", "list ctl listen sockets") { _ in
                .array(
                    (self.server?.listeners ?? []).flatMap { l in
                        [
                            .string("binrpc"), .string(l.address.transport.name), .string(l.address.name),
                            .string(l.address.port == 0 ? "" : String(l.address.port)),
                        ]
                    })
            },
        ]
        e.initialize = { context in
            let listeners = (self.addresses.isEmpty ? [Self.defaultAddress] : self.addresses).map(
                ControlListener.init(address:))
            for l in listeners {
                try l.open(mode: mode_t(self.mode), user: self.user, group: self.group)
            }
            let encoder = BinRPCReplyEncoder(
                maxBodySize: (self.maxBodyKiB <= 0 ? 4 : self.maxBodyKiB) * 1024,
                maxStructSize: (self.maxStructKiB <= 0 ? 1 : self.maxStructKiB) * 1024)
            self.server = ControlServer(
                listeners: listeners, handler: BinRPCRequestHandler(rpcs: context.core.rpcs, encoder: encoder))
        }
        // The serving thread starts in the main process after workers exist (rank 0).
        e.childInitialize = { rank in
            if rank == 0 { self.server?.start() }
        }
        e.destroy = { self.server?.stop() }
        return e
    }

    /// `ctl.who`: per open stream connection, the payload and transport names, then the
    /// client (`<anonymous unix socket>` for Unix sockets) and the socket it connected to.
    func who() throws(RPCError) -> RPCValue {
        guard let s = server, s.isServingThread else { throw RPCError(606, "rpc available only over binrpc (ctl)") }
        guard !s.connections.isEmpty else { throw RPCError(400, "no open stream connection") }
        var out: [RPCValue] = []
        for c in s.connections {
            out += [.string("binrpc"), .string(c.listener.address.transport.name)]
            if let peer = c.peer {
                let local = ControlServer.localAddress(of: c.listener.fd)
                out += [
                    .string(peer.host), .string(String(peer.port)), .string(local.host), .string(String(local.port)),
                ]
            } else {
                out += [.string("<anonymous unix socket>"), .string(""), .string(c.listener.address.name), .string("")]
            }
        }
        return .array(out)
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "ctl") { CtlModule().exports }
}

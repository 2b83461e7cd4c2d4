import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `jsonrpcs` module: JSON-RPC 2.0 control interface for the RPC commands of the core
/// and the modules (Kamailio's `modules/jsonrpcs`), over a Unix datagram socket.
final class JSONRPCModule {
    /// Transport bitmask: 1 HTTP, 2 FIFO, 4 datagram; 0 = all. Only datagram is available.
    var transport = 6
    /// A relative path is inside the runtime directory (`rundir`, `-Y`), as in Kamailio.
    var dgramSocket = "swiftlet_rpc.sock"
    var dgramMode: Int = 0o660
    /// A relative path is inside the runtime directory, as in Kamailio; empty disables it.
    var fifoName = "swiftlet_rpc.fifo"
    var fifoMode: Int = 0o660
    var fifoReplyDirectory = "/tmp/"
    var fifoUser: FIFOOwner?
    var fifoGroup: FIFOOwner?
    var fifo: FIFOServer?
    var prettyFormat = 1
    var server: DatagramServer?
    /// JSON-RPC over HTTP, when xhttp is loaded and the transport asks for it.
    var http: JSONRPCHTTPTransport?

    var exports: ModuleExports {
        let e = ModuleExports(name: "jsonrpcs")
        e.parameters = [
            ModuleParameter(
                "transport",
                .int { (v: Int) throws(FixupError) in
                    guard (0...7).contains(v) else { throw FixupError("transport must be 0-7") }
                    self.transport = v
                }),
            ModuleParameter("dgram_socket", .string { (v: String) throws(FixupError) in self.dgramSocket = v }),
            ModuleParameter("dgram_mode", .int { (v: Int) throws(FixupError) in self.dgramMode = v }),
            ModuleParameter("pretty_format", .int { (v: Int) throws(FixupError) in self.prettyFormat = v }),
            ModuleParameter("fifo_name", .string { (v: String) throws(FixupError) in self.fifoName = v }),
            ModuleParameter("fifo_mode", .int { (v: Int) throws(FixupError) in self.fifoMode = v }),
            ModuleParameter(
                "fifo_reply_dir", .string { (v: String) throws(FixupError) in self.fifoReplyDirectory = v }),
            ModuleParameter("fifo_user", .function { v throws(FixupError) in self.fifoUser = FIFOOwner(v) }),
            ModuleParameter("fifo_group", .function { v throws(FixupError) in self.fifoGroup = FIFOOwner(v) }),
        ]
        e.rpcs = [
            RPCCommand("jsonrpc.echo", "Returns its parameters (jsonrpcs test command).") { r in .array(r.params) }
        ]
        e.functions = [
            ScriptFunction("jsonrpc_dispatch", parameters: 0, routes: .request) { _ in
                { ctx in
                    guard let http = self.http else {
                        Log.error("jsonrpcs", "jsonrpc over http not initialized - check transport param")
                        return -1
                    }
                    return http.dispatch(ctx)
                }
            }
        ]
        e.initialize = { context in
            let wanted = self.transport == 0 ? 7 : self.transport
            if wanted & 1 != 0 {
                // As Kamailio: HTTP needs xhttp; an error only when asked for explicitly.
                if let xhttp = context.core.apis.lookup(HTTPReplyAPI.self) {
                    self.http = JSONRPCHTTPTransport(
                        xhttp: xhttp, rpcs: context.core.rpcs, pretty: self.prettyFormat != 0)
                } else if self.transport & 1 != 0 {
                    throw FixupError("cannot bind to XHTTP API: add loadmodule \"xhttp.so\"")
                }
            }
            if wanted & 2 != 0, !self.fifoName.isEmpty {
                self.fifo = try self.openFIFO(rpcs: context.core.rpcs)
            }
            guard wanted & 4 != 0, !self.dgramSocket.isEmpty else { return }
            let s = DatagramServer(
                path: Core.runtimePath(self.dgramSocket), mode: mode_t(self.dgramMode), pretty: self.prettyFormat != 0,
                rpcs: context.core.rpcs)
            try s.open()
            self.server = s
        }
        // The serving thread starts in the main process after workers exist (rank 0).
        e.childInitialize = { rank in
            if rank == 0 {
                self.server?.start()
                self.fifo?.start()
            }
        }
        e.destroy = {
            self.server?.stop()
            self.fifo?.stop()
        }
        return e
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "jsonrpcs") { JSONRPCModule().exports }
}

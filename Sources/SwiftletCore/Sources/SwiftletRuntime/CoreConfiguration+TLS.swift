import SwiftletSDK

extension ListenParser {
    /// Without `enable_tls`, Kamailio neither binds nor lists its `tls:` sockets
    /// (`fix_socket_list(&tls_listen)` runs only when TLS is enabled): the same here, with a
    /// warning naming them.
    static func dropDisabledTLS(_ core: inout CoreConfiguration) {
        guard !core.enableTLS, core.listen.contains(where: { $0.proto == .tls }) else { return }
        var listen: [ListenAddress] = []
        var withoutProtocol: [Int] = []
        for (i, l) in core.listen.enumerated() {
            if l.proto == .tls {
                Log.warning("core", "listen=\(l) ignored: TLS is disabled (set enable_tls=yes)")
                continue
            }
            if core.listenWithoutProtocol.contains(i) { withoutProtocol.append(listen.count) }
            listen.append(l)
        }
        core.listen = listen
        core.listenWithoutProtocol = withoutProtocol
    }
}

extension Server {
    /// The `StreamSecurityProvider` of the tls module, which `tls:` sockets need.
    static func tlsEngine(_ core: CoreContext) throws -> any StreamSecurityProvider {
        guard let engine = core.apis.lookup(StreamSecurityProvider.self) else {
            throw RuntimeError("tls sockets need a TLS engine: add loadmodule \"tls.so\"")
        }
        return engine
    }
}

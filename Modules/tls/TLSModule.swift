import COpenSSL
import Foundation
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Kamailio's tls module over the system OpenSSL: the profiles of tls.cfg (or of the module
/// parameters), one OpenSSL session per `tls:` connection offered to the core as its
/// `StreamSecurityProvider`, the `$tls_*` variables, `is_peer_verified()` and the `tls.*`
/// RPCs.
final class TLSModule: StreamSecurityProvider, @unchecked Sendable {
    /// The module parameters: the default profiles (and, with `config`, the base of every
    /// profile of the file).
    var base = TLSDomain(kind: .server, address: .default)
    /// `config`: the tls.cfg file.
    var configFile = ""
    /// `send_close_notify`
    var sendCloseNotify = false
    /// `tls_max_connections` is a core parameter; Kamailio's default.
    let maxConnections = 2048
    let registry = TLSConnectionRegistry()
    private var mutex = pthread_mutex_t()
    private var loaded: TLSDomainSet?
    private var enabled = false

    init() { pthread_mutex_init(&mutex, nil) }

    var current: TLSDomainSet? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return loaded
    }

    var exports: ModuleExports {
        let e = ModuleExports(name: "tls")
        e.parameters = parameters
        e.functions = [
            ScriptFunction("is_peer_verified", parameters: 0, routes: .request) { _ in
                return { [self] ctx in isPeerVerified(ctx) ? 1 : -1 }
            }
        ]
        e.pseudoVariables = TLSVariables.classes(self)
        TLSSelects.register()
        e.rpcs = TLSRPC.commands(self)
        e.provide(self, as: StreamSecurityProvider.self)
        e.initialize = { [self] context in try initialize(context) }
        return e
    }

    private var parameters: [ModuleParameter] {
        var p: [ModuleParameter] = []
        for name in [
            "tls_method", "verify_certificate", "verify_depth", "require_certificate", "private_key", "certificate",
            "ca_list", "ca_path", "crl", "cipher_list", "server_name",
        ] {
            p.append(
                ModuleParameter(
                    name,
                    .function { (v: ModuleParameterSetting.Value) throws(FixupError) in
                        let text: String
                        switch v {
                        case .string(let s): text = s
                        case .int(let i): text = String(i)
                        }
                        _ = try self.base.set(name, text)
                    }))
        }
        p.append(ModuleParameter("config", .string { (v: String) throws(FixupError) in self.configFile = v }))
        p.append(
            ModuleParameter("send_close_notify", .int { (v: Int) throws(FixupError) in self.sendCloseNotify = v != 0 }))
        return p
    }

    /// mod_init: without a `tls:` socket (TLS disabled) nothing is loaded, as Kamailio.
    private func initialize(_ context: ModuleInitContext) throws {
        let sockets = context.listeners.filter { $0.proto == .tls }
        guard !sockets.isEmpty else {
            Log.warning("tls", "tls support is disabled (set enable_tls=1 in the config to enable it)")
            return
        }
        enabled = true
        let set = try load()
        for l in set.domains where l.domain.kind == .server {
            guard case .socket(let ip, let port) = l.domain.address else { continue }
            let target = SocketAddress(numericHost: ip, port: port)
            if !sockets.contains(where: {
                $0.port == port && SocketAddress(numericHost: $0.address, port: port) == target
            }) {
                throw FixupError("TLS domain \(l.domain.name) has no tls listening socket")
            }
        }
        pthread_mutex_lock(&mutex)
        loaded = set
        pthread_mutex_unlock(&mutex)
    }

    /// Reads the profiles (the file, else the module parameters) and builds their contexts.
    func load() throws(FixupError) -> TLSDomainSet {
        var domains: [TLSDomain] = []
        if !configFile.isEmpty {
            guard let text = try? String(contentsOfFile: configFile, encoding: .utf8) else {
                throw FixupError("cannot read TLS configuration file '\(configFile)'")
            }
            domains = try TLSConfigFile.parse(text, file: configFile, base: base)
        }
        for kind in [TLSDomain.Kind.server, .client]
        where !domains.contains(where: { $0.kind == kind && $0.address == .default }) {
            var d = base
            d.kind = kind
            d.address = .default
            domains.append(d)
        }
        let set = try TLSDomainSet(domains)
        for l in set.domains {
            Log.info(
                "tls",
                "\(l.domain.name): method=\(l.domain.method) certificate='\(l.domain.certificate)' verify_certificate=\(l.domain.verifyCertificate ? 1 : 0) require_certificate=\(l.domain.requireCertificate ? 1 : 0)"
            )
        }
        return set
    }

    /// `tls.reload`: the file read again; running connections keep their profile.
    func reload() throws(RPCError) {
        guard !configFile.isEmpty else { throw RPCError(500, "No TLS configuration file configured") }
        do {
            let set = try load()
            pthread_mutex_lock(&mutex)
            loaded = set
            pthread_mutex_unlock(&mutex)
            Log.info("tls", "TLS configuration reloaded")
        } catch {
            Log.error("tls", "\(error.message)")
            throw RPCError(500, "Error while loading TLS configuration file (consult server log)")
        }
    }

    func makeSession(for endpoint: StreamSecurityEndpoint) throws(StreamSecurityError) -> any StreamSecuritySession {
        guard enabled, let set = current else { throw StreamSecurityError("TLS is disabled") }
        let domain: TLSDomainSet.Loaded?
        switch endpoint.role {
        case .server: domain = set.lookup(.server, ip: endpoint.local.ipString, port: endpoint.local.port)
        case .client: domain = set.lookup(.client, ip: endpoint.remote.ipString, port: endpoint.remote.port)
        }
        guard let domain else { throw StreamSecurityError("no TLS domain for \(endpoint.remote)") }
        return try TLSSession(
            endpoint: endpoint, domain: domain, domains: set, registry: registry, sendCloseNotify: sendCloseNotify)
    }

    /// The TLS connection a message arrived on, if any.
    func connection(_ ctx: MessageContext) -> TLSConnectionState? {
        guard ctx.receive.proto == .tls || ctx.receive.proto == .wss, let id = ctx.receive.connectionID else {
            return nil
        }
        return registry.state(id)
    }

    /// `is_peer_verified()`: the peer sent a certificate that verified.
    func isPeerVerified(_ ctx: MessageContext) -> Bool {
        connection(ctx)?.info?.peerVerified ?? false
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "tls") { TLSModule().exports }
}

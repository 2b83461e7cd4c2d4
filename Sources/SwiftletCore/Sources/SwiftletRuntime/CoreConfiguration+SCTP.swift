import SwiftletSDK

/// The core's SCTP globals (Kamailio 5.6 `cfg.y`): `enable_sctp`, `disable_sctp`,
/// `sctp_children`. The socket options (`sctp_autoclose`, ...) are parameters of the sctp
/// module, as in Kamailio 5.6.
public struct SCTPCoreSettings: Sendable {
    /// Kamailio's `sctp_disable`: 0 enabled, 1 disabled, 2 automatic (the default: SCTP is
    /// used when the configuration listens on `sctp:`).
    public var disable = 2
    /// `sctp_children`: receivers per SCTP socket (0: as `children`).
    public var children = 0

    public init() {}

    /// Applies an SCTP global; nil when `g` is not one.
    mutating func apply(_ g: GlobalParameter) -> [ConfigDiagnostic]? {
        switch g.name {
        case "enable_sctp", "disable_sctp", "sctp_children":
            guard let v = g.intValue else {
                return [
                    ConfigDiagnostic(
                        g.name == "sctp_children" ? "number expected" : "boolean or number expected",
                        at: g.value.first?.location ?? g.location)
                ]
            }
            switch g.name {
            // As Kamailio: enable_sctp=0/1 disables/enables, 2 is automatic.
            case "enable_sctp": disable = v <= 1 ? (v == 0 ? 1 : 0) : v
            case "disable_sctp": disable = v
            default: children = max(0, v)
            }
            return []
        default:
            return nil
        }
    }

    /// True when SCTP is needed: `enable_sctp=yes`, or automatic with an `sctp:` listener.
    func isWanted(listen: [ListenAddress]) -> Bool {
        disable == 0 || (disable == 2 && listen.contains { $0.proto == .sctp })
    }
}

extension ListenParser {
    /// With SCTP disabled (`disable_sctp`, `enable_sctp=no`) the `sctp:` listen lines are
    /// dropped with a warning (Kamailio binds none of them); with it enabled explicitly,
    /// addresses given without a protocol get an SCTP socket too, as in Kamailio.
    static func applySCTPMode(_ core: inout CoreConfiguration) {
        if core.sctp.disable == 1, core.listen.contains(where: { $0.proto == .sctp }) {
            var listen: [ListenAddress] = []
            var withoutProtocol: [Int] = []
            for (i, l) in core.listen.enumerated() {
                if l.proto == .sctp {
                    Log.warning("core", "listen=\(l) ignored: SCTP is disabled")
                    continue
                }
                if core.listenWithoutProtocol.contains(i) { withoutProtocol.append(listen.count) }
                listen.append(l)
            }
            core.listen = listen
            core.listenWithoutProtocol = withoutProtocol
        } else if core.sctp.disable == 0 {
            for i in core.listenWithoutProtocol where core.listen[i].proto == .udp {
                var sctp = core.listen[i]
                sctp.proto = .sctp
                if !core.listen.contains(sctp) { core.listen.append(sctp) }
            }
        }
    }
}

extension ConfigurationLoader {
    /// The sctp module (the only part of Swiftlet that links libsctp) is loaded when the
    /// configuration asks for SCTP and does not load it itself (`loadmodule "sctp.so"`, as in
    /// Kamailio, also works, and is needed to set its parameters).
    static func addSCTPModule(_ core: CoreConfiguration, to config: inout ConfigFile, file: String) {
        guard core.sctp.isWanted(listen: core.listen),
            !config.modules.contains(where: {
                moduleName(of: $0.path) == "sctp" || moduleName(of: $0.path) == "libsctp"
            })
        else { return }
        config.modules.insert(
            ModuleLoad(path: "sctp", location: SourceLocation(file: file, line: 1, column: 1), order: Int.min), at: 0)
    }
}

extension Server {
    /// The sctp module's provider, after checking that this kernel opens SCTP sockets: when
    /// it does not, start-up stops with Kamailio's "sctp enabled, but not supported by the OS"
    /// and the reason.
    static func sctpTransport(_ core: CoreContext) throws -> any SCTPTransportProvider {
        guard let provider = core.apis.lookup(SCTPTransportProvider.self) else {
            throw RuntimeError("sctp sockets need the sctp module: add loadmodule \"sctp.so\"")
        }
        if let reason = provider.unsupportedReason() {
            throw RuntimeError("sctp enabled, but not supported by the OS (\(reason))")
        }
        return provider
    }
}

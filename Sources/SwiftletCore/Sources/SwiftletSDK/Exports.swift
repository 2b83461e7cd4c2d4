@_exported import CSwiftletABI
@_exported import SwiftletConfig
@_exported import SwiftletSIP

/// Everything a module offers the core: its script functions, parameters,
/// pseudo-variable classes and life-cycle hooks. Mirrors Kamailio's `module_exports`.
///
/// A module builds one of these in its `swiftlet_module_register` entry point (see
/// `registerSwiftletModule(core:name:exports:)`); the core keeps it for the life of the process.
public final class ModuleExports {
    /// The module name (`sl` for `sl.so`).
    public let name: String
    /// Functions callable from the configuration script.
    public var functions: [ScriptFunction] = []
    /// Parameters settable with `modparam`.
    public var parameters: [ModuleParameter] = []
    /// Pseudo-variable classes (`$name` / `$name(inner)`) this module provides.
    public var pseudoVariables: [PseudoVariableClass] = []
    /// RPC commands (Kamailio's `rpc_export_t`), e.g. `sl.stats`.
    public var rpcs: [RPCCommand] = []
    /// Interfaces offered to other modules, by protocol type (`provide(_:as:)`).
    public var apis: [ProvidedAPI] = []
    /// The request-in hook: called for every received request before the request route
    /// runs, in load order; returning false drops the request (Kamailio's PRE_SCRIPT_CB,
    /// e.g. sl's filter of ACKs to its replies).
    public var requestFilters: [(MessageContext) -> Bool] = []
    /// The reply handler (Kamailio's `response_f`): sees every received reply after the core
    /// `reply_route` and before stateless forwarding; `.consumed` ends its processing.
    public var replyHandler: ((MessageContext) -> ReplyDisposition)?
    /// Raw-bytes hook on every received message before it is parsed (`SREV_NET_DATA_IN`).
    public var netDataIn: NetDataHook?
    /// Raw-bytes hook on every message about to be written (`SREV_NET_DATA_OUT`).
    public var netDataOut: NetDataHook?
    /// Observer of every received message's wire bytes, before the in-hooks
    /// (`SREV_NET_DATA_RECV`).
    public var netDataReceived: NetDataObserver?
    /// Observer of every sent message's wire bytes, after the out-hooks and the write
    /// (`SREV_NET_DATA_SENT`).
    public var netDataSent: NetDataObserver?
    /// `mod_init`: after the whole configuration was read, before workers start.
    public var initialize: (ModuleInitContext) throws -> Void = { _ in }
    /// `child_init(rank)`: once in each worker, on that worker's thread, with Kamailio's rank.
    public var childInitialize: (Int) throws -> Void = { _ in }
    /// `mod_destroy`: at shutdown.
    public var destroy: () -> Void = {}

    public init(name: String) { self.name = name }
}

/// What `mod_init` may use.
public struct ModuleInitContext {
    /// The listening sockets in configuration order (the first is Kamailio's "first socket").
    public let listeners: [ListenAddress]
    /// The core: APIs of other modules, RPCs, timers, the send path, the routes. A module
    /// keeps it for use at run time.
    public let core: CoreContext
    public init(listeners: [ListenAddress], core: CoreContext) {
        self.listeners = listeners
        self.core = core
    }
}

/// A socket the server listens on.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var proto: TransportProtocol
    /// Address text as configured (IPv6 without brackets).
    public var address: String
    public var port: Int
    /// `advertise` address and port, if any.
    public var advertisedAddress: String?
    public var advertisedPort: Int?
    /// `name "..."`: the socket's name (`set_send_socket_name()`, `$lsock(n/...)`), if any.
    public var name: String?
    /// The other addresses of a multi-homed SCTP socket (`listen=sctp:(ip1, ip2):port`):
    /// `address` is the first, these the rest. Empty for every other socket.
    public var additionalAddresses: [String] = []

    public init(
        proto: TransportProtocol, address: String, port: Int, advertisedAddress: String? = nil,
        advertisedPort: Int? = nil, name: String? = nil
    ) {
        self.proto = proto
        self.address = address
        self.port = port
        self.advertisedAddress = advertisedAddress
        self.advertisedPort = advertisedPort
        self.name = name
    }

    public var isIPv6: Bool { address.contains(":") }

    /// `udp:127.0.0.1:5060` / `udp:[::1]:5060`
    public var description: String {
        "\(proto.rawValue):\(isIPv6 ? "[\(address)]" : address):\(port)"
    }
}

/// SIP transport protocols, with Kamailio's names.
public enum TransportProtocol: String, Sendable {
    case udp, tcp, tls, sctp, ws, wss

    /// Kamailio's `$pr` / `proto` value (`udp`, `tcp`, ...).
    public var name: String { rawValue }
}

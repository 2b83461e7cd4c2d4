import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The core's global parameters after the configuration file and the command line were
/// applied (Kamailio's globals from `cfg.y` and `main.c`).
public struct CoreConfiguration {
    public var listen: [ListenAddress] = []
    /// Positions in `listen` of addresses given without a protocol: Kamailio listens on
    /// every enabled protocol there (UDP, and TCP unless `disable_tcp`).
    public var listenWithoutProtocol: [Int] = []
    public var port = 5060
    /// UDP workers per UDP listener (`children`, `-n`).
    public var children = 8
    /// `udp_standby_workers` (Swiftlet's own): worker 0 of each UDP listener receives, the
    /// others wait until the load needs them (`UDPReceiverPool`). 0: all receive, as Kamailio.
    public var udpStandbyWorkers = true
    /// `tcp_standby_workers` (Swiftlet's own): a new TCP/TLS/WS connection goes to the first
    /// `tcp_children` loop that is not busy, so that the others wait until the load needs
    /// them (`StreamLoopBalancer`); 0: to the loops in turn.
    public var tcpStandbyWorkers = true
    public var debug = LogLevel.warning
    public var logStderror = false
    public var logFacility: Int32 = LOG_DAEMON
    public var logName = "swiftlet"
    /// `log_prefix`: a format with pseudo-variables put before log lines while a message is
    /// processed, and where it was set (for errors in the format).
    public var logPrefix: (format: String, location: SourceLocation)? = nil
    /// `log_prefix_mode`: 0 evaluate the prefix once per message, 1 for every line.
    public var logPrefixMode = 0
    /// `log_engine_type` / `log_engine_data`: `json` selects JSON lines (see `LogJSON`).
    public var logEngineType: String? = nil
    public var logEngineData: String? = nil
    public var mpath: [String] = []
    public var serverSignature = true
    public var serverHeader: String? = nil
    /// Recursion limit of `route()` calls.
    public var maxRecursiveLevel = 256
    /// Iterations of one `while` loop before it is stopped (`max_while_loops`; 0: no limit).
    public var maxWhileLoops = 100
    /// `alias=` names: requests for them are for this server (`myself`).
    public var aliases: [LocalAlias] = []
    /// `check_via`: a reply is forwarded only when its top Via is this server.
    public var checkVia = false
    /// `force_rport`: every request is treated as if its Via had `rport`.
    public var forceRport = false
    /// `disable_tcp`
    public var disableTCP = false
    /// `auto_bind_ipv6`: without `listen=` (or for an interface name), IPv6 addresses too.
    public var autoBindIPv6 = false
    /// `tcp_children`: the workers that run the script for TCP messages (0: as `children`).
    public var tcpChildren = 0
    /// `tcp_connection_lifetime` in seconds (Kamailio's default 120).
    public var tcpConnectionLifetime = 120
    /// `tcp_max_connections` (Kamailio's default 2048).
    public var tcpMaxConnections = 2048
    /// `open_files_limit`: the descriptor limit raised to this at start-up (0: unchanged).
    public var openFilesLimit = 0
    /// `udp_mtu` (0: off) and `udp_mtu_try_proto` (TCP, TLS, SCTP; UDP: none).
    public var udpMTU = 0
    public var udpMTUFallback: TransportProtocol? = nil
    /// `tcp_accept_no_cl`: accept TCP requests without Content-Length.
    public var tcpAcceptNoCL = false
    /// `enable_tls`/`tls_enable` (`disable_tls`/`tls_disable` inverted): without it, `tls:`
    /// listen lines are ignored, as in Kamailio.
    public var enableTLS = false
    /// Shared memory pool size in MB (`shm`, `shm_mem`, `shm_mem_size`; `-m` wins).
    public var sharedMemoryMB: Int? = nil
    /// `enable_sctp`, `disable_sctp`, `sctp_children`.
    public var sctp = SCTPCoreSettings()
    /// Resolver and multihoming globals (`dns_*`, `mhomed`, `auto_aliases`).
    var network = NetworkConfiguration()
    /// The async task worker groups (`async_workers`, `async_workers_group`, ...).
    public var asyncWorkers = AsyncWorkerSettings()
    /// `user`/`uid`, `group`/`gid`, `chroot`, `workdir`/`wdir`, `rundir`/`run_dir` (the
    /// command line's `-u`, `-g`, `-t`, `-w`, `-Y` win); see `ProcessControl`.
    public var user: String? = nil
    public var group: String? = nil
    public var chrootDirectory: String? = nil
    public var workingDirectory: String? = nil
    public var runtimeDirectory: String? = nil

    public init() {}

    /// The `Server:` line to put in local replies, or nil.
    public var effectiveServerHeader: String? {
        guard serverSignature else { return nil }
        return serverHeader ?? "Server: Swiftlet (\(Core.version) (\(Core.architecture)/linux))"
    }

    /// Applies the global parameters of a parsed configuration. Unknown names and bad
    /// values are reported with their positions; warnings go to `warnings`.
    public mutating func apply(_ globals: [GlobalParameter], warnings: inout [ConfigDiagnostic]) -> [ConfigDiagnostic] {
        var errors: [ConfigDiagnostic] = []
        var warnedNames: Set<String> = []
        for g in globals {
            func int() -> Int? {
                guard let v = g.intValue else {
                    errors.append(
                        ConfigDiagnostic(
                            "'\(g.name)' takes an integer value", at: g.value.first?.location ?? g.location))
                    return nil
                }
                return v
            }
            func string() -> String? {
                guard let v = g.stringValue else {
                    errors.append(
                        ConfigDiagnostic("'\(g.name)' takes a string value", at: g.value.first?.location ?? g.location))
                    return nil
                }
                return v
            }
            switch g.name {
            case "listen":
                do throws(ConfigDiagnostic) {
                    let named = ListenParser.namesProtocol(g.value)
                    for a in try ListenParser.parseAll(g.value, defaultPort: nil, at: g.location) {
                        if !named { listenWithoutProtocol.append(listen.count) }
                        listen.append(a)
                    }
                } catch {
                    errors.append(error)
                }
            case "port":
                if let v = int() { port = v }
            case "children":
                if let v = int() {
                    if v < 1 {
                        errors.append(ConfigDiagnostic("'children' must be at least 1", at: g.value[0].location))
                    }
                    children = v
                }
            case "udp_standby_workers":
                if let v = int() { udpStandbyWorkers = v != 0 }
            case "tcp_standby_workers":
                if let v = int() { tcpStandbyWorkers = v != 0 }
            case "debug":
                if let v = int() { debug = LogLevel(debugValue: v) }
            case "log_stderror":
                if let v = int() { logStderror = v != 0 }
            case "log_facility":
                if let v = string() {
                    if let f = CoreConfiguration.facilities[v.uppercased()] {
                        logFacility = f
                    } else {
                        errors.append(ConfigDiagnostic("unknown log facility '\(v)'", at: g.value[0].location))
                    }
                }
            case "log_name":
                if let v = string() { logName = v }
            case "log_prefix":
                if let v = string() { logPrefix = (v, g.value.first?.location ?? g.location) }
            case "log_prefix_mode":
                if let v = int() { logPrefixMode = v }
            case "log_engine_type":
                if let v = string() { logEngineType = v }
            case "log_engine_data":
                if let v = string() { logEngineData = v }
            case "mpath", "loadpath":
                if let v = string() { mpath = v.split(separator: ":").map(String.init) }
            case "server_signature":
                if let v = int() { serverSignature = v != 0 }
            case "server_header":
                if let v = string() { serverHeader = v }
            case "max_while_loops":
                if let v = int() { maxWhileLoops = v }
            case "shm", "shm_mem", "shm_mem_size":
                if let v = int() {
                    if v < 1 {
                        errors.append(ConfigDiagnostic("'\(g.name)' must be at least 1 (MB)", at: g.value[0].location))
                    }
                    sharedMemoryMB = v
                }
            case "max_recursive_level":
                if let v = int() { maxRecursiveLevel = v }
            case "udp_mtu":
                if let v = int() { udpMTU = max(0, v) }
            case "udp_mtu_try_proto":
                if let t = g.value.first, g.value.count == 1, let p = NextHop.transport(named: t.text) {
                    udpMTUFallback = p == .udp ? nil : p
                } else {
                    errors.append(
                        ConfigDiagnostic(
                            "'udp_mtu_try_proto' takes UDP, TCP, TLS or SCTP", at: g.value.first?.location ?? g.location
                        ))
                }
            case "check_via":
                if let v = int() { checkVia = v != 0 }
            case "force_rport":
                if let v = int() { forceRport = v != 0 }
            case "disable_tcp":
                if let v = int() { disableTCP = v != 0 }
            case "auto_bind_ipv6":
                if let v = int() { autoBindIPv6 = v != 0 }
            case "tcp_children":
                if let v = int() { tcpChildren = max(0, v) }
            case "tcp_connection_lifetime":
                if let v = int() { tcpConnectionLifetime = v }
            case "tcp_max_connections":
                if let v = int() { tcpMaxConnections = v }
            case "open_files_limit":
                if let v = int() { openFilesLimit = max(0, v) }
            case "tcp_accept_no_cl":
                if let v = int() { tcpAcceptNoCL = v != 0 }
            case "enable_tls", "tls_enable":
                if let v = int() { enableTLS = v != 0 }
            case "disable_tls", "tls_disable":
                if let v = int() { enableTLS = v == 0 }
            case "user", "uid":
                if let v = string() { user = v }
            case "group", "gid":
                if let v = string() { group = v }
            case "chroot":
                if let v = string() { chrootDirectory = v }
            case "workdir", "wdir":
                if let v = string() { workingDirectory = v }
            case "rundir", "run_dir":
                if let v = string() { runtimeDirectory = v }
            case "alias":
                do throws(ConfigDiagnostic) {
                    aliases.append(try ListenParser.parseAlias(g.value, at: g.location))
                } catch {
                    errors.append(error)
                }
            default:
                if let sctpErrors = sctp.apply(g) {
                    errors += sctpErrors
                } else if let asyncErrors = asyncWorkers.apply(g) {
                    errors += asyncErrors
                } else if let networkErrors = network.apply(g) {
                    errors += networkErrors
                } else if g.name.contains(".") {
                    if let error = CustomParameters.shared.define(g) { errors.append(error) }
                } else if KamailioGlobalParameters.names.contains(g.name) {
                    if !KamailioGlobalParameters.isDefaultBehaviour(g), warnedNames.insert(g.name).inserted {
                        warnings.append(
                            ConfigDiagnostic(
                                "global parameter '\(g.name)' has no effect in Swiftlet and is ignored", at: g.location)
                        )
                    }
                } else {
                    errors.append(
                        ConfigDiagnostic(
                            "unknown global parameter '\(g.name)' (unknown config variable)", at: g.location))
                }
            }
        }
        return errors
    }

    static let facilities: [String: Int32] = [
        "LOG_DAEMON": LOG_DAEMON, "LOG_USER": LOG_USER, "LOG_LOCAL0": LOG_LOCAL0, "LOG_LOCAL1": LOG_LOCAL1,
        "LOG_LOCAL2": LOG_LOCAL2, "LOG_LOCAL3": LOG_LOCAL3, "LOG_LOCAL4": LOG_LOCAL4, "LOG_LOCAL5": LOG_LOCAL5,
        "LOG_LOCAL6": LOG_LOCAL6, "LOG_LOCAL7": LOG_LOCAL7,
    ]
}

/// Parses listen specifications: `[proto:]addr[:port] [advertise addr[:port]]`, from
/// configuration tokens or from the `-l` command-line text.
public enum ListenParser {
    /// True when the listen tokens start with `proto:`.
    static func namesProtocol(_ tokens: [Token]) -> Bool {
        tokens.count >= 2 && tokens[0].kind == .identifier
            && TransportProtocol(rawValue: tokens[0].text.lowercased()) != nil && tokens[1].isPunctuationColon
    }

    /// Replaces a listen address that names a network interface (`udp:lo:5060`, `eth0`) by
    /// one per address of that interface (IPv4, and IPv6 with `auto_bind_ipv6`), as Kamailio's
    /// `fix_socket_list()` does.
    static func expandInterfaces(_ core: inout CoreConfiguration) {
        guard
            core.listen.contains(where: {
                SocketAddress(numericHost: $0.address, port: 0) == nil && InterfaceAddresses.isInterface($0.address)
            })
        else { return }
        var listen: [ListenAddress] = []
        var withoutProtocol: [Int] = []
        for (i, l) in core.listen.enumerated() {
            var expanded = [l]
            if SocketAddress(numericHost: l.address, port: 0) == nil, InterfaceAddresses.isInterface(l.address) {
                let ips = InterfaceAddresses.addresses(of: l.address, ipv6: core.autoBindIPv6)
                if !ips.isEmpty {
                    expanded = ips.map { ip in
                        var copy = l
                        copy.address = ip
                        return copy
                    }
                }
            }
            for e in expanded {
                if core.listenWithoutProtocol.contains(i) { withoutProtocol.append(listen.count) }
                listen.append(e)
            }
        }
        core.listen = listen
        core.listenWithoutProtocol = withoutProtocol
    }

    /// Adds a TCP socket for every address given without a protocol (after all others, so
    /// that the first UDP socket stays first), as Kamailio does unless TCP is disabled.
    static func expandProtocols(_ core: inout CoreConfiguration) {
        guard !core.disableTCP else { return }
        for i in core.listenWithoutProtocol where core.listen[i].proto == .udp {
            var tcp = core.listen[i]
            tcp.proto = .tcp
            if !core.listen.contains(tcp) { core.listen.append(tcp) }
        }
    }

    /// From the tokens after `listen=`: one address, or Kamailio's multi-address form
    /// `[proto:](addr1, addr2, ...)[:port]`, which gives one socket per address, except for
    /// SCTP where it is one multi-homed socket (`additionalAddresses`).
    static func parseAll(_ tokens: [Token], defaultPort: Int?, at location: SourceLocation) throws(ConfigDiagnostic)
        -> [ListenAddress]
    {
        let first = try parse(tokens, defaultPort: defaultPort, at: location)
        guard first.proto != .sctp, !first.additionalAddresses.isEmpty else { return [first] }
        var single = first
        single.additionalAddresses = []
        return [single]
            + first.additionalAddresses.map { a in
                var copy = single
                copy.address = a
                return copy
            }
    }

    /// From the tokens after `listen=`; a multi-address form is one value with
    /// `additionalAddresses` (see `parseAll`).
    static func parse(_ tokens: [Token], defaultPort: Int?, at location: SourceLocation) throws(ConfigDiagnostic)
        -> ListenAddress
    {
        var i = 0
        func peek(_ k: Int = 0) -> Token? { i + k < tokens.count ? tokens[i + k] : nil }
        var proto = TransportProtocol.udp
        if let t = peek(), t.kind == .identifier, let p = TransportProtocol(rawValue: t.text.lowercased()),
            peek(1)?.isPunctuationColon == true
        {
            proto = p
            i += 2
        }
        func oneHost() throws(ConfigDiagnostic) -> String {
            guard let h = peek() else { throw ConfigDiagnostic("missing listen address", at: location) }
            switch h.kind {
            case .ipv4, .identifier, .ipv6:
                i += 1
                return h.text
            default: throw ConfigDiagnostic("expected an IP address or host name, found '\(h.text)'", at: h.location)
            }
        }
        var others: [String] = []
        func hostPort(list: Bool = false) throws(ConfigDiagnostic) -> (String, Int?) {
            guard let h = peek() else { throw ConfigDiagnostic("missing listen address", at: location) }
            let host: String
            if list, h.kind == .punctuation, h.text == "(" {
                // Kamailio's `(addr1, addr2, ...)`.
                i += 1
                host = try oneHost()
                while let t = peek(), t.kind == .punctuation, t.text == "," {
                    i += 1
                    others.append(try oneHost())
                }
                guard let close = peek(), close.kind == .punctuation, close.text == ")" else {
                    throw ConfigDiagnostic(
                        "expected ',' or ')' in the listen address list", at: peek()?.location ?? h.location)
                }
                i += 1
            } else {
                host = try oneHost()
            }
            var port: Int? = nil
            if peek()?.isPunctuationColon == true {
                i += 1
                guard let p = peek(), case .integer(let v) = p.kind, v > 0, v <= 65535 else {
                    throw ConfigDiagnostic("expected a port number after ':'", at: peek()?.location ?? h.location)
                }
                port = v
                i += 1
            }
            return (host, port)
        }
        let (host, port) = try hostPort(list: true)
        var address = ListenAddress(
            proto: proto, address: host, port: port ?? defaultPort ?? (proto == .tls ? 5061 : 5060))
        address.additionalAddresses = others
        while let t = peek() {
            if t.kind == .identifier, t.text == "advertise" {
                i += 1
                let (ah, ap) = try hostPort()
                address.advertisedAddress = ah
                address.advertisedPort = ap
            } else if t.kind == .identifier, t.text == "name", let n = peek(1), n.kind == .string {
                address.name = n.text
                i += 2
            } else {
                throw ConfigDiagnostic("unexpected '\(t.text)' in listen", at: t.location)
            }
        }
        guard proto == .udp || proto == .tcp || proto == .tls || proto == .sctp else {
            throw ConfigDiagnostic(
                "\(proto.rawValue) listeners are not supported (only udp, tcp, tls and sctp)", at: location)
        }
        return address
    }

    /// From the tokens after `alias=`: `[proto:]host[:port]` (no port: any port).
    static func parseAlias(_ tokens: [Token], at location: SourceLocation) throws(ConfigDiagnostic) -> LocalAlias {
        var t = tokens[...]
        var proto: TransportProtocol? = nil
        if t.count >= 3, t[t.startIndex].kind == .identifier,
            let p = TransportProtocol(rawValue: t[t.startIndex].text.lowercased()),
            t[t.startIndex + 1].isPunctuationColon
        {
            proto = p
            t = t.dropFirst(2)
        }
        var port: Int? = nil
        if t.count >= 3, t[t.endIndex - 2].isPunctuationColon, case .integer(let v) = t[t.endIndex - 1].kind {
            guard v > 0, v <= 65535 else {
                throw ConfigDiagnostic("invalid alias port \(v)", at: t[t.endIndex - 1].location)
            }
            port = v
            t = t.dropLast(2)
        }
        var host = ""
        for token in t {
            switch token.kind {
            case .identifier, .ipv4, .string: host += token.text
            case .ipv6: host += "[\(token.text)]"
            case .integer: host += token.raw
            case .punctuation where token.text == "-" || token.text == ".": host += token.text
            default: throw ConfigDiagnostic("unexpected '\(token.text)' in alias", at: token.location)
            }
        }
        guard !host.isEmpty else { throw ConfigDiagnostic("missing host name in alias", at: location) }
        return LocalAlias(host: host, port: port, proto: proto)
    }

    /// From `-l` text such as `udp:127.0.0.1:5060`, `[::1]:5070`, `lo` or
    /// `udp:10.0.0.1:5060/203.0.113.1:5060` (after `/`: the advertised address and port).
    public static func parse(commandLine text: String) throws(ConfigDiagnostic) -> [ListenAddress] {
        var text = text
        if let slash = text.firstIndex(of: "/") {
            text = text[..<slash] + " advertise " + text[text.index(after: slash)...]
        }
        var lexer = Lexer(text: text, file: "<command line>")
        var tokens = lexer.tokenize()
        tokens.removeLast()
        if let d = lexer.diagnostics.first { throw d }
        return try parseAll(tokens, defaultPort: nil, at: SourceLocation(file: "<command line>", line: 1, column: 1))
    }
}

extension Token {
    var isPunctuationColon: Bool { kind == .punctuation && text == ":" }
}

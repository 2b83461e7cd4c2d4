/// One `binrpc` listen address of the ctl module, parsed as Kamailio's `parse_listen_id`:
/// `[proto:]name[:port]` with proto `unix`/`unixs` (Unix stream), `unixd` (Unix datagram),
/// `tcp` or `udp`; an IPv6 host in brackets. Without a proto: a name with a port is UDP, a
/// name with a `/` is a Unix stream socket, anything else UDP. `tcp:3012` means every
/// address (`*`). A TCP or UDP address without a port uses 2049 (`DEFAULT_CTL_PORT`).
struct ControlSocketAddress: Equatable, Sendable {
    enum Transport: Sendable {
        case unixStream, unixDatagram, tcp, udp

        /// Kamailio's `socket_proto_name`.
        var name: String {
            switch self {
            case .unixStream: "unix_stream"
            case .unixDatagram: "unix_dgram"
            case .tcp: "tcp"
            case .udp: "udp"
            }
        }

        var isStream: Bool { self == .unixStream || self == .tcp }
        var isUnix: Bool { self == .unixStream || self == .unixDatagram }
    }

    static let defaultPort = 2049

    let transport: Transport
    /// The socket path, or the host (`*` for every address; an IPv6 host keeps its brackets).
    let name: String
    /// The port; 0 for Unix sockets.
    let port: Int

    /// Parses a `binrpc` value; nil when it is not an address (Kamailio: "bad listen socket").
    static func parse(_ text: String) -> ControlSocketAddress? {
        var rest = Substring(text)
        var transport: Transport? = nil
        if !rest.hasPrefix("["), let colon = rest.firstIndex(of: ":") {
            switch rest[..<colon].lowercased() {
            case "tcp": transport = .tcp
            case "udp": transport = .udp
            case "unixd": transport = .unixDatagram
            case "unix", "unixs": transport = .unixStream
            default: break
            }
            if transport != nil { rest = rest[rest.index(after: colon)...] }
        }
        var name = rest
        var portText: Substring? = nil
        if transport?.isUnix != true {
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                name = rest[...close]
                let after = rest[rest.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":") else { return nil }
                    portText = after.dropFirst()
                }
            } else if let colon = rest.firstIndex(of: ":") {
                name = rest[..<colon]
                portText = rest[rest.index(after: colon)...]
            }
        }
        if portText?.isEmpty == true { portText = nil }
        let resolved: Transport =
            transport ?? (portText != nil ? .udp : (name.contains("/") ? .unixStream : .udp))
        var port = 0
        if let portText {
            guard let p = Int(portText), (0...65535).contains(p) else { return nil }
            port = p
        } else if !resolved.isUnix, let p = Int(name), (0...65535).contains(p) {
            port = p
            name = "*"
        }
        guard !name.isEmpty else { return nil }
        if !resolved.isUnix, port == 0 { port = defaultPort }
        return ControlSocketAddress(transport: resolved, name: String(name), port: port)
    }
}

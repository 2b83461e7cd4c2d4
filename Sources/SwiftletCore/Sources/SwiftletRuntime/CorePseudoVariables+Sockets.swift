import SwiftletSDK

/// Source and receive-socket pseudo-variables in Kamailio's formats (pv_core.c and
/// `get_src_uri`/`get_rcv_socket_uri`): `$su` `$sut` `$sas` `$siz` `$src_ip`, `$Ru` `$Rut`
/// `$Ras` `$RAu` `$RAut` (and the advertised `$RAi` `$RAp`), `$af(id|name)`, `$prid`,
/// `$conid`, and the forced send socket `$fs` (writable) / `$fsp`.
extension CorePseudoVariables {
    static var socketClasses: [PseudoVariableClass] {
        [
            .readOnly("src_ip", sourceIP),
            .readOnly("siz") { .string(bracketed($0.receive.sourceIP)) },
            .readOnly("su") { sourceURI($0, full: false) },
            .readOnly("sut") { sourceURI($0, full: true) },
            .readOnly("sas") { ctx in
                .string("\(ctx.receive.proto.uriName):\(bracketed(ctx.receive.sourceIP)):\(ctx.receive.sourcePort)")
            },
            .readOnly("Ru") { receiveURI($0, full: false, advertised: false) },
            .readOnly("Rut") { receiveURI($0, full: true, advertised: false) },
            .readOnly("RAu") { receiveURI($0, full: false, advertised: true) },
            .readOnly("RAut") { receiveURI($0, full: true, advertised: true) },
            .readOnly("Ras") { ctx in
                let r = ctx.receive
                return .string("\(r.proto.name):\(bracketed(r.localIP)):\(r.localPort)")
            },
            .readOnly("RAi") { ctx in .string(ctx.receive.socket?.listen.advertisedAddress ?? ctx.receive.localIP) },
            .readOnly("RAp") { ctx in .int(ctx.receive.socket?.listen.advertisedPort ?? ctx.receive.localPort) },
            PseudoVariableClass("af", make: addressFamily),
            .readOnly("prid") { .int($0.receive.proto.kamailioID) },
            .readOnly("conid") { ctx in ctx.receive.connectionID.map(PVValue.int) ?? .null },
            .writable(
                "fs", { ctx in ctx.forcedSendSocket.map { .string($0.listen.description) } ?? .null },
                set: setForcedSocket),
            .readOnly("fsp") { .int($0.forcedSendSocket?.listen.port ?? 0) },
        ]
    }

    /// An IPv6 address in brackets, an IPv4 address as it is.
    static func bracketed(_ ip: String) -> String { ip.contains(":") && !ip.hasPrefix("[") ? "[\(ip)]" : ip }

    /// `sip:ip:port`, with `;transport=` unless UDP (`full`: always).
    static func socketURI(_ ip: String, _ port: Int, _ proto: TransportProtocol, full: Bool) -> String {
        let t = full || proto != .udp ? ";transport=\(proto.uriName)" : ""
        return "sip:\(bracketed(ip)):\(port)\(t)"
    }

    static func sourceURI(_ ctx: MessageContext, full: Bool) -> PVValue {
        .string(socketURI(ctx.receive.sourceIP, ctx.receive.sourcePort, ctx.receive.proto, full: full))
    }

    /// The receiving socket as a URI; `advertised`: its advertised address/port when it has them.
    static func receiveURI(_ ctx: MessageContext, full: Bool, advertised: Bool) -> PVValue {
        let r = ctx.receive
        var ip = r.localIP
        var port = r.localPort
        if advertised, let listen = r.socket?.listen {
            ip = listen.advertisedAddress ?? ip
            port = listen.advertisedPort ?? port
        }
        return .string(socketURI(ip, port, r.proto, full: full))
    }

    /// `$af(id)`: 2 or 10 (AF_INET/AF_INET6) of the receiving socket; `$af(name)`:
    /// `IPv4` or `IPv6`.
    static func addressFamily(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard pv.index == nil else { throw FixupError("$af takes no index") }
        guard let key = pv.inner?.trimmingCharacters() else { throw FixupError("pvar \"af\" expects an inner name") }
        guard key == "id" || key == "name" else { throw FixupError("unknown PV af key: \(key)") }
        return PseudoVariable(text: pv.text) { ctx in
            let v6 = ctx.receive.localIP.contains(":")
            return key == "name" ? .string(v6 ? "IPv6" : "IPv4") : .int(v6 ? 10 : 2)
        }
    }

    /// `$fs = "udp:1.2.3.4:5060"`: forces the send socket when it is one of ours (else a
    /// warning, as Kamailio); `$null` resets it.
    static func setForcedSocket(_ ctx: MessageContext, _ value: PVValue) -> Bool {
        switch value {
        case .null:
            ctx.forcedSendSocket = nil
            return true
        case .int:
            Log.error("core", "str value required to set the force send sock")
            return false
        case .string(let s):
            guard !s.isEmpty, let spec = ForwardingActions.HostPort(s) else {
                Log.error(
                    "core", s.isEmpty ? "str value required to set the force send sock" : "invalid socket specification"
                )
                return false
            }
            let proto = spec.proto ?? .udp
            if let socket = ctx.core.transport?.sockets.first(where: {
                $0.proto == proto && (spec.port == nil || $0.listen.port == spec.port)
                    && IPAddressText.sameAddress(host: spec.host, ip: $0.address.ipString)
            }) {
                ctx.forcedSendSocket = socket
            } else {
                Log.warning("core", "no socket found to match [\(s)]")
            }
            return true
        }
    }
}

extension TransportProtocol {
    /// The name in a SIP URI's `transport=` (Kamailio writes `ws` for WSS too).
    var uriName: String { self == .wss ? "ws" : name }

    /// Kamailio's `PROTO_*` number (`$prid`).
    var kamailioID: Int {
        switch self {
        case .udp: 1
        case .tcp: 2
        case .tls: 3
        case .sctp: 4
        case .ws: 5
        case .wss: 6
        }
    }
}

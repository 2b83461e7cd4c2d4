import SwiftletSDK

/// The core actions that send messages or choose how they leave: `forward()` and its
/// protocol variants, `add_local_rport()`, `set_advertised_*()`,
/// `force_send_socket()`, and the branch list actions (Kamailio's `action.c`).
enum ForwardingActions {
    static let table: [String: CoreActions.Info] = [
        "forward": .init(0...2, bare: true), "forward_udp": .init(0...2, bare: true),
        "forward_tcp": .init(0...2, bare: true), "forward_tls": .init(0...2, bare: true),
        "forward_sctp": .init(0...2, bare: true),
        "add_local_rport": .init(0...0, bare: true), "set_advertised_address": .init(1...1),
        "set_advertised_port": .init(1...1), "force_send_socket": .init(1...1), "remove_branch": .init(1...1),
        "clear_branches": .init(0...0, bare: true), "force_tcp_alias": .init(0...1, bare: true),
        "add_tcp_alias": .init(0...1, bare: true), "udp_mtu_try_proto": .init(1...1),
    ]

    /// `[proto:]host[:port]` as written in the configuration.
    struct HostPort: Equatable {
        var proto: TransportProtocol?
        var host: String
        var port: Int?

        init?(_ text: String) {
            guard let (proto, host, port) = ProtoHostPort.split(Substring(text)) else { return nil }
            self.proto = proto
            self.host = String(host.hasPrefix("[") ? host.dropFirst().dropLast() : host)
            self.port = port
            if self.host.isEmpty { return nil }  // "[]"
        }
    }
}

extension ScriptCompiler {
    /// Compiles the forwarding actions; nil when `name` is not one of them.
    func compileForwardingAction(_ name: String, _ args: [Expression], _ loc: SourceLocation) -> ScriptAction? {
        switch name {
        case "forward", "forward_udp", "forward_tcp", "forward_tls", "forward_sctp":
            let proto: TransportProtocol? =
                switch name {
                case "forward_udp": .udp
                case "forward_tcp": .tcp
                case "forward_tls": .tls
                case "forward_sctp": .sctp
                default: nil
                }
            return compileForward(args, proto: proto, name: name)
        case "add_local_rport":
            return { ctx in
                ctx.addLocalRport = true
                return 1
            }
        case "set_advertised_address":
            guard let a = constantString(args[0], "the address of set_advertised_address()") else { return { _ in 1 } }
            return { ctx in
                ctx.advertisedAddress = a
                return 1
            }
        case "set_advertised_port":
            guard let p = constantInt(args[0], "the port of set_advertised_port()") else { return { _ in 1 } }
            guard (1...65535).contains(p) else {
                error("set_advertised_port() needs a port 1-65535, not \(p)", args[0].location)
                return { _ in 1 }
            }
            return { ctx in
                ctx.advertisedPort = p
                return 1
            }
        case "force_send_socket":
            guard let text = constantString(args[0], "the socket of force_send_socket()"),
                let spec = ForwardingActions.HostPort(text)
            else {
                error("force_send_socket() takes [proto:]address[:port]", args[0].location)
                return { _ in -1 }
            }
            if !localAddresses.isMyself(host: spec.host, port: spec.port) {
                error("force_send_socket(): \(text) is not a local socket (listen=)", args[0].location)
            }
            return { ctx in
                let proto = spec.proto ?? .udp
                let port = spec.port ?? 5060
                guard
                    let socket = ctx.core.transport?.sockets.first(where: {
                        $0.proto == proto && $0.listen.port == port
                            && IPAddressText.sameAddress(host: spec.host, ip: $0.address.ipString)
                    })
                else {
                    Log.warning("core", "force_send_socket: no socket found for \(text)")
                    return -1
                }
                ctx.forcedSendSocket = socket
                return 1
            }
        case "remove_branch":
            guard let n = constantInt(args[0], "the index of remove_branch()") else { return { _ in -1 } }
            return { ctx in
                guard n >= 0, n < ctx.branches.count else { return -1 }
                ctx.branches.remove(at: n)
                return 1
            }
        case "force_tcp_alias", "add_tcp_alias":
            // The peer of a TCP connection is also reachable over it at this port (the top
            // Via's by default): later messages to that address reuse the connection.
            var port: Int? = nil
            if let a = args.first {
                guard let p = constantInt(a, "the port of \(name)()"), (1...65535).contains(p) else {
                    return { _ in -1 }
                }
                port = p
            }
            return { ctx in
                guard ctx.receive.proto == .tcp || ctx.receive.proto == .tls, let id = ctx.receive.connectionID else {
                    return 1
                }
                let aliasPort = port ?? ctx.via1?.port ?? 5060
                guard let address = SocketAddress(numericHost: ctx.receive.sourceIP, port: aliasPort),
                    let streams = (ctx.core.transport as? SocketTable)?.streams,
                    streams.addAlias(connectionID: id, address: address)
                else {
                    Log.error("core", "receive_msg: tcp alias failed")
                    return -1
                }
                return 1
            }
        case "udp_mtu_try_proto":
            guard case .name(let n, _) = args[0], let p = NextHop.transport(named: n) else {
                error("udp_mtu_try_proto() takes a protocol: UDP, TCP, TLS or SCTP", args[0].location)
                return { _ in 1 }
            }
            return { ctx in
                ctx.mtuFallback = p == .udp ? nil : p
                return 1
            }
        case "clear_branches":
            return { ctx in
                ctx.branches.removeAll()
                return 1
            }
        default:
            return nil
        }
    }

    /// `forward()`, `forward(host)`, `forward(host, port)`, `forward(uri:host, uri:port)`.
    private func compileForward(_ args: [Expression], proto: TransportProtocol?, name: String) -> ScriptAction {
        if args.isEmpty || (args.count >= 1 && isURIHost(args[0])) {
            // The next hop: $du if set, else the Request-URI; its port unless one is given.
            var port: Int? = nil
            if args.count == 2, !isURIPort(args[1]) {
                guard let p = constantInt(args[1], "the port of \(name)()") else { return { _ in -1 } }
                port = p
            }
            return { ctx in
                guard let uri = ctx.nextHopURI else {
                    Log.error("core", "\(name): no next hop (not a request)")
                    return -1
                }
                let dst: Destination
                do throws(NextHop.Failure) {
                    dst = try NextHop.destination(forURI: uri, proto: proto, port: port)
                } catch {
                    Log.error("core", "\(name): \(error), dropping packet")
                    ctx.coreError.current = error.error
                    return -1
                }
                return StatelessForwarding.forwardRequest(ctx, to: dst) ? 1 : -1
            }
        }
        guard let target = fixedTarget(args, name) else { return { _ in -1 } }
        return { ctx in
            // As Kamailio's proxy: resolved with the action's or the target's protocol (SRV
            // when no port), sent over that protocol or else the one the request came over.
            let p = proto ?? target.proto ?? ctx.receive.proto
            let address: SocketAddress
            do throws(NextHop.Failure) {
                address = try NextHop.resolve(target.host, port: target.port, proto: proto ?? target.proto).address
            } catch {
                Log.error("core", "\(name): bad host name \(target.host), dropping packet: \(error)")
                ctx.coreError.current = error.error
                return -1
            }
            return StatelessForwarding.forwardRequest(ctx, to: Destination(proto: p, address: address)) ? 1 : -1
        }
    }

    /// A fixed `host`, `host:port` or `host, port` target.
    private func fixedTarget(_ args: [Expression], _ name: String) -> ForwardingActions.HostPort? {
        let text: String
        if case .name(let n, _) = args[0] {
            text = n  // an unquoted host name
        } else {
            guard let t = constantString(args[0], "the destination of \(name)()") else { return nil }
            text = t
        }
        guard var target = ForwardingActions.HostPort(text) else {
            error("\(name)(): bad destination '\(text)' (expected [proto:]host[:port])", args[0].location)
            return nil
        }
        if args.count == 2 {
            guard let p = constantInt(args[1], "the port of \(name)()") else { return nil }
            guard (1...65535).contains(p) else {
                error("\(name)(): bad port \(p)", args[1].location)
                return nil
            }
            target.port = p
        }
        return target
    }

    private func isURIHost(_ e: Expression) -> Bool {
        if case .string("uri:host", _) = e { return true }
        return false
    }

    private func isURIPort(_ e: Expression) -> Bool {
        if case .string("uri:port", _) = e { return true }
        return false
    }
}

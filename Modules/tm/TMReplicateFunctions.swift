import SwiftletSDK

extension TMModule {
    /// `t_replicate([uri])`, `t_replicate(host, port)`, `t_replicate_udp(host, port)`,
    /// `t_replicate_tcp(host, port)`, `t_replicate_to(proto, hostport)`: `t_relay()` whose
    /// replies stay here (Kamailio's `t_replicate`, the transaction flagged local).
    var replicateFunctions: [ScriptFunction] {
        let m = manager
        return [
            ScriptFunction("t_replicate", parameters: 0...2, routes: .request) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                switch args.count {
                case 0:
                    return { ctx in m.relay(ctx, replicate: true) }
                case 1:
                    let uri = try args[0].stringFormat()
                    return { ctx in
                        let u = uri.render(ctx)
                        guard !u.isEmpty else { return m.relay(ctx, replicate: true) }
                        do throws(NextHop.Failure) {
                            return m.relay(ctx, forced: try NextHop.destination(forURI: u), replicate: true)
                        } catch {
                            Log.error("tm", "t_replicate: \(error)")
                            return -1
                        }
                    }
                default:
                    // Kamailio's w_t_replicate: over the protocol the request came in on.
                    return try Self.replicateTo(args[0], args[1], proto: nil, m)
                }
            },
            ScriptFunction("t_replicate_udp", parameters: 2, routes: .request) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try Self.replicateTo(args[0], args[1], proto: .udp, m)
            },
            ScriptFunction("t_replicate_tcp", parameters: 2, routes: .request) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try Self.replicateTo(args[0], args[1], proto: .tcp, m)
            },
            ScriptFunction("t_replicate_tls", parameters: 2, routes: .request) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try Self.replicateTo(args[0], args[1], proto: .tls, m)
            },
            ScriptFunction("t_replicate_sctp", parameters: 2, routes: .request) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try Self.replicateTo(args[0], args[1], proto: .sctp, m)
            },
            ScriptFunction("t_replicate_to", parameters: 2, routes: .request) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let protoName = try args[0].stringFormat()
                let hostPort = try args[1].stringFormat()
                return { ctx in
                    let name = protoName.render(ctx)
                    guard let proto = NextHop.transport(named: name),
                        let target = ProtoHostPort(hostPort.render(ctx)), target.proto == nil
                    else {
                        Log.error("tm", "t_replicate_to: bad protocol '\(name)' or address")
                        return -1
                    }
                    return m.replicate(ctx, host: target.host, port: target.port == 0 ? nil : target.port, proto: proto)
                }
            },
        ]
    }

    /// `t_replicate(host, port)` and its per-protocol forms (`proto` nil: the request's).
    static func replicateTo(
        _ hostArg: ScriptArgument, _ portArg: ScriptArgument, proto: TransportProtocol?, _ m: TransactionManager
    ) throws(FixupError) -> ScriptAction {
        let host = try hostArg.stringFormat()
        let port = try portArg.intParameter()
        return { ctx in
            m.replicate(ctx, host: host.render(ctx), port: port.value(ctx), proto: proto ?? ctx.receive.proto)
        }
    }
}

extension TransactionManager {
    /// `t_replicate` to `host:port` (the port through SRV when nil).
    func replicate(_ ctx: MessageContext, host: String, port: Int?, proto: TransportProtocol) -> Int {
        do throws(NextHop.Failure) {
            let target = try NextHop.resolve(host, port: port, proto: proto)
            return relay(ctx, forced: Destination(proto: proto, address: target.address), replicate: true)
        } catch {
            Log.error("tm", "t_replicate: \(error)")
            return -1
        }
    }
}

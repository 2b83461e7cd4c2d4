import SwiftletSDK

/// `sctp.options` and `sctp.info` with Kamailio 5.6's result shapes.
enum SCTPRPC {
    static func commands(_ m: SCTPModule) -> [RPCCommand] {
        [
            RPCCommand(
                "sctp.options",
                "Returns active sctp options. With one parameter it returns the sctp options set in the kernel for a specific socket(debugging), with 0 filled in for non-kernel related options. The parameter can be: \"default\" | \"first\" | address[:port] . With no parameters it returns ser's idea of the current sctp options (intended non-debugging use)."
            ) { r throws(RPCError) in
                try options(m, r)
            },
            RPCCommand("sctp.info", "Returns sctp related info.") { _ in
                let c = m.associations.snapshot
                // Associations are tracked by the kernel (one-to-many sockets): every open
                // one is counted as tracked.
                return .object([
                    ("opened_connections", .int(c.open)), ("tracked_connections", .int(c.open)),
                    ("total_connections", .int(c.total)),
                ])
            },
        ]
    }

    /// Without a parameter: the module's options with the kernel's defaults for those left
    /// to it; with `default`, `first` or `address[:port]`: what the kernel has for that socket.
    static func options(_ m: SCTPModule, _ r: RPCRequest) throws(RPCError) -> RPCValue {
        let sockets = m.openSockets
        var o = m.options
        if !r.params.isEmpty {
            let param = try r.string(0)
            let fd: Int32?
            switch param.lowercased() {
            case "default":
                fd = (sockets.first { !$0.listen.isIPv6 } ?? sockets.first)?.fd
            case "first":
                fd = sockets.first?.fd
            default:
                var text = Substring(param)
                if text.lowercased().hasPrefix("sctp:") {
                    text = text.dropFirst(5)
                } else if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("."),
                    ["udp", "tcp", "tls", "ws", "wss"].contains(text[..<colon].lowercased())
                {
                    throw RPCError(500, "bad protocol in param (only SCTP allowed)")
                }
                var host = String(text)
                var port: Int? = nil
                if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]"), text.filter({ $0 == ":" }).count == 1 {
                    guard let p = Int(text[text.index(after: colon)...]) else {
                        throw RPCError(500, "bad param (use address, address:port, default or first)")
                    }
                    host = String(text[..<colon])
                    port = p
                }
                host = host.trimmingCharacters(in: ["[", "]"])
                guard
                    let s = sockets.first(where: {
                        ([$0.listen.address] + $0.listen.additionalAddresses).contains(host)
                            && (port == nil || $0.listen.port == port)
                    })
                else { throw RPCError(500, "not listening on sctp \(param)") }
                fd = s.fd
            }
            guard let fd else { throw RPCError(500, "could not find a sctp socket") }
            o = o.withKernelValues(fd: fd)
            // Kamailio fills 0 in for the options that are not the kernel's.
            o.sendTTL = 0
            o.sendRetries = 0
            o.assocTracking = 0
            o.assocReuse = 0
            o.maxAssocs = 0
        } else {
            let kernel = SCTPOptions().withKernelValues(fd: -1)
            for (_, path) in SCTPOptions.fields where o[keyPath: path] == 0 {
                o[keyPath: path] = kernel[keyPath: path]
            }
        }
        return .object(SCTPOptions.fields.map { name, path in (name, .int(o[keyPath: path])) })
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}

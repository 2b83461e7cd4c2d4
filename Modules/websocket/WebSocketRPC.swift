import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The module's RPC commands (Kamailio's `ws.dump`, `ws.close`, `ws.ping`, `ws.pong`,
/// `ws.enable`, `ws.disable`), with its result shapes and faults.
struct WebSocketRPC {
    let module: WebSocketModule
    /// Kamailio's MAX_WS_CONNS_DUMP.
    static let maxDump = 50

    var commands: [RPCCommand] {
        [
            RPCCommand("ws.dump", "Return information on current WebSockets") { r throws(RPCError) in
                try dump(r)
            },
            RPCCommand("ws.close", "Close a WebSocket connection") { r throws(RPCError) in
                let c = try connection(r)
                guard c.close(code: 1000, reason: "Normal closure") else {
                    throw RPCError(500, "Error closing connection")
                }
                return .null
            },
            RPCCommand("ws.ping", "Send a WebSocket ping") { r throws(RPCError) in
                guard try connection(r).pingPong(.ping) else { throw RPCError(500, "Error sending frame") }
                return .null
            },
            RPCCommand("ws.pong", "Send a WebSocket pong") { r throws(RPCError) in
                guard try connection(r).pingPong(.pong) else { throw RPCError(500, "Error sending frame") }
                return .null
            },
            RPCCommand("ws.enable", "Enable WebSocket support") { _ in
                module.setEnabled(true)
                return .null
            },
            RPCCommand("ws.disable", "Disable WebSocket support") { _ in
                module.setEnabled(false)
                return .null
            },
        ]
    }

    private func connection(_ r: RPCRequest) throws(RPCError) -> WebSocketConnection {
        guard let id = try? r.int(0) else { throw RPCError(500, "Invalid Parameters") }
        guard let c = module.connection(id) else { throw RPCError(500, "Unknown connection ID") }
        return c
    }

    /// `ws.dump [id_hash|used_desc|used_asc]`: `{connections: [lines], info: {wscounter, truncated}}`.
    private func dump(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        var list = module.all
        if let order = try? r.string(0) {
            switch order.lowercased() {
            case "id_hash": break
            case "used_desc": list.sort { $0.lastUsed > $1.lastUsed }
            case "used_asc": list.sort { $0.lastUsed < $1.lastUsed }
            default: throw RPCError(400, "Bad display order parameter")
            }
        }
        let truncated = list.count > Self.maxDump
        let now = Int(time(nil))
        let lines = list.prefix(Self.maxDump).map { RPCValue.string($0.dumpLine(now: now)) }
        return .object([
            ("connections", .array(lines)),
            ("info", .object([("wscounter", .int(lines.count)), ("truncated", .string(truncated ? "yes" : "no"))])),
        ])
    }
}

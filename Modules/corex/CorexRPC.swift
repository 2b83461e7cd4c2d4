import SwiftletSDK

/// `corex.list_sockets` and `corex.list_aliases`, with Kamailio's result shapes.
enum CorexRPC {
    static var commands: [RPCCommand] {
        [
            RPCCommand("corex.list_sockets", "List listening sockets") { _ in listSockets() },
            RPCCommand("corex.list_aliases", "List socket aliases") { _ in listAliases() },
        ]
    }

    /// One object per listening socket, by protocol (UDP, TCP, ...): `PROTO`, `NAME`,
    /// `ADDRLIST` {`ADDR`}, `PORT` (a string), `MCAST`, `MHOMED`, `VIRTUAL`, `SOCKNAME` and
    /// `ADVERTISE` (`-` when none).
    @Sendable static func listSockets() -> RPCValue {
        .array(
            LocalSockets.ordered.map { s in
                .object([
                    ("PROTO", .string(s.proto.rawValue)), ("NAME", .string(s.listen.address)),
                    ("ADDRLIST", .object([("ADDR", .string(s.address.ipString))])),
                    ("PORT", .string(String(s.listen.port))), ("MCAST", .string("no")), ("MHOMED", .string("no")),
                    ("VIRTUAL", .string("no")), ("SOCKNAME", .string(s.name ?? "-")),
                    ("ADVERTISE", .string(s.listen.advertisedAddress ?? "-")),
                ])
            })
    }

    /// One object per `alias=`, the newest first: `PROTO` (`*` for any), `ADDR`, `PORT`
    /// (0 for any).
    @Sendable static func listAliases() -> RPCValue {
        .array(
            CoreContext.current.aliases.map { a in
                .object([
                    ("PROTO", .string(a.proto?.rawValue ?? "*")), ("ADDR", .string(a.host)),
                    ("PORT", .int(a.port ?? 0)),
                ])
            })
    }
}

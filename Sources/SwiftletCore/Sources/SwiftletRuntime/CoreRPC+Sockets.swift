import SwiftletSDK

/// `core.sockets_list` and `core.aliases_list` (Kamailio's `core_cmd.c`), with Kamailio's
/// result shapes.
extension CoreRPC {
    static var socketCommands: [RPCCommand] {
        [
            RPCCommand("core.sockets_list", "List local SIP server listen sockets") { _ in socketsList() },
            RPCCommand("core.aliases_list", "List local SIP server host aliases") { _ in aliasesList() },
        ]
    }

    /// `[{"socket": {"proto", "address", ["ipaddress",] "port", "mcast", "mhomed", "virtual"}}]`,
    /// by protocol (UDP, TCP, ...) as Kamailio walks its socket lists.
    @Sendable static func socketsList() -> RPCValue {
        .array(
            LocalSockets.ordered.map { s in
                var members: [(String, RPCValue)] = [
                    ("proto", .string(s.proto.rawValue)), ("address", .string(s.listen.address)),
                ]
                if IPAddressText.bytes(s.listen.address) == nil {
                    members.append(("ipaddress", .string(s.address.ipString)))
                }
                members += [
                    ("port", .string(String(s.listen.port))), ("mcast", .string("no")), ("mhomed", .string("no")),
                    ("virtual", .string("no")),
                ]
                return .object([("socket", .object(members))])
            })
    }

    /// `{"myself_callbacks": "yes"|"no", "aliases": [{"alias": {"proto", "address", "port"}}]}`,
    /// the newest alias first; `proto` and `port` are `*` when any.
    @Sendable static func aliasesList() -> RPCValue {
        let aliases: [RPCValue] = CoreContext.current.aliases.map { a in
            .object([
                (
                    "alias",
                    .object([
                        ("proto", .string(a.proto?.rawValue ?? "*")), ("address", .string(a.host)),
                        ("port", a.port.map(RPCValue.int) ?? .string("*")),
                    ])
                )
            ])
        }
        return .object([
            ("myself_callbacks", .string(MyselfCallbacks.isSet ? "yes" : "no")), ("aliases", .array(aliases)),
        ])
    }
}

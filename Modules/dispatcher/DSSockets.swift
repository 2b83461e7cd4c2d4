import SwiftletSDK

/// The sockets of the module's own core, found as `LocalSockets` finds them (Kamailio's
/// `grep_sock_info`, `ksr_get_socket_by_name`, `sock_str`), but without going through the
/// process-wide current core (several cores live in one test process).
struct DSSockets {
    let core: CoreContext

    /// UDP first, then TCP, TLS, SCTP, each in configuration order.
    var ordered: [ListeningSocket] {
        let all = core.transport?.sockets ?? []
        return all.enumerated().sorted { ($0.element.protocolRank, $0.offset) < ($1.element.protocolRank, $1.offset) }
            .map(\.element)
    }

    func find(host: String, port: Int, proto: TransportProtocol?) -> ListeningSocket? {
        var h = Substring(host)
        if h.count > 2, h.hasPrefix("["), h.hasSuffix("]") { h = h.dropFirst().dropLast() }
        let name = String(h)
        for s in ordered {
            if let proto, s.proto != proto { continue }
            if port != 0, s.listen.port != port, s.listen.advertisedPort != port { continue }
            if Self.sameHost(name, s.listen.address) || Self.sameHost(name, s.address.ipString) { return s }
            if let a = s.listen.advertisedAddress, Self.sameHost(name, a) { return s }
        }
        return nil
    }

    /// A `socket` attribute or parameter: `[proto:]host[:port]`.
    func find(socket text: String) -> ListeningSocket? {
        guard let p = ProtoHostPort(text) else { return nil }
        return find(host: p.host, port: p.port, proto: p.proto)
    }

    func find(name: String) -> ListeningSocket? {
        let lower = name.lowercased()
        return ordered.first { $0.name?.lowercased() == lower }
    }

    /// The socket whose `proto:ip:port` text is `text` (the XAVP records' `sock`).
    func find(listen text: String) -> ListeningSocket? {
        let lower = text.lowercased()
        return ordered.first { $0.socketString.lowercased() == lower }
    }

    static func sameHost(_ a: String, _ b: String) -> Bool {
        if a.lowercased() == b.lowercased() { return true }
        guard let x = IPAddressText.bytes(a), let y = IPAddressText.bytes(b) else { return false }
        return x == y
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The running binary resolving next hops through a fake DNS server (SWIFTLET_DNS_SERVER),
/// `mhomed` choosing the send socket by route, and `auto_aliases`.
@Suite(.serialized) struct DNSForwardingTests {
    static func config(_ route: String, globals: String = "", listen: String = "listen=udp:127.0.0.1:PORT") -> String {
        """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        tcp_children=1
        \(listen)
        \(globals)
        loadmodule "sl.so"
        request_route {
        \(route)
        }
        """
    }

    static func invite(_ ruri: String, callID: String) -> [String] {
        [
            "INVITE \(ruri) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-d1",
            "From: <sip:alice@example.com>;tag=f1", "To: <sip:bob@example.com>", "Call-ID: \(callID)",
            "CSeq: 1 INVITE", "Max-Forwards: 70", "Content-Length: 0",
        ]
    }

    @Test func forwardFollowsTheSRVRecordToTheTestSocket() throws {
        let uas = UDPClient()
        let dns = FakeDNSServer([
            "_sip._udp.proxy.test": [
                .srv(priority: 10, weight: 0, port: uas.port, target: "node.proxy.test"),
                .srv(priority: 20, weight: 0, port: 9, target: "spare.proxy.test"),
            ],
            "node.proxy.test": [.a("127.0.0.1")],
        ])
        let server = try TestServer(
            config: Self.config("forward();\nexit;"), environment: ["SWIFTLET_DNS_SERVER": dns.address])
        let uac = UDPClient()
        uac.send(
            sipRequest(Self.invite("sip:bob@proxy.test", callID: "srv-1@test"), clientPort: uac.port), to: server.port)
        let lines = replyLines(try #require(uas.receive(timeout: 5), "nothing forwarded; log: \(server.log)"))
        #expect(lines[0] == "INVITE sip:bob@proxy.test SIP/2.0")
        #expect(lines[1].hasPrefix("Via: SIP/2.0/UDP 127.0.0.1:\(server.port);branch=z9hG4bK"))
        #expect(dns.queries("_sip._udp.proxy.test", 33) == 1)
        #expect(dns.queries("spare.proxy.test", 1) == 0)
    }

    @Test func naptrSendsTheRequestOverTheTransportItChose() throws {
        let uas = TCPAcceptor()
        let dns = FakeDNSServer([
            "edge.test": [
                .naptr(
                    order: 10, preference: 10, flags: "s", services: "SIP+D2T", regexp: "",
                    replacement: "_sip._tcp.edge.test")
            ],
            "_sip._tcp.edge.test": [.srv(priority: 0, weight: 0, port: uas.port, target: "box.edge.test")],
            "box.edge.test": [.a("127.0.0.1")],
        ])
        let server = try TestServer(
            config: Self.config(
                "$du = \"sip:edge.test\";\nforward();\nexit;", globals: "dns_try_naptr=yes",
                listen: "listen=udp:127.0.0.1:PORT\nlisten=tcp:127.0.0.1:PORT"),
            environment: ["SWIFTLET_DNS_SERVER": dns.address])
        let uac = UDPClient()
        uac.send(
            sipRequest(Self.invite("sip:bob@127.0.0.1", callID: "naptr-1@test"), clientPort: uac.port), to: server.port)
        let fd = try #require(uas.accept(timeout: 5), "no TCP connection; log: \(server.log)")
        let conn = TCPClient(accepted: fd)
        let lines = replyLines(try #require(conn.receiveMessage(), "log: \(server.log)"))
        #expect(lines[0] == "INVITE sip:bob@127.0.0.1 SIP/2.0")
        #expect(lines[1].hasPrefix("Via: SIP/2.0/TCP 127.0.0.1:\(server.port);branch=z9hG4bK"))
        #expect(lines[2] == "Via: SIP/2.0/UDP 127.0.0.1:\(uac.port);branch=z9hG4bK-d1")
    }

    @Test func anUnresolvableNameIsLoggedAndNotForwarded() throws {
        let dns = FakeDNSServer([:])
        let server = try TestServer(
            config: Self.config("if (!forward()) { sl_send_reply(\"500\", \"no route\"); }\nexit;"),
            environment: ["SWIFTLET_DNS_SERVER": dns.address])
        let uac = UDPClient()
        uac.send(
            sipRequest(Self.invite("sip:bob@nowhere.test", callID: "nx-1@test"), clientPort: uac.port), to: server.port)
        let reply = replyLines(try #require(uac.receive(timeout: 5), "log: \(server.log)"))
        #expect(reply[0] == "SIP/2.0 500 no route")
        #expect(server.log.contains("could not resolve hostname: \"nowhere.test\""))
        #expect(dns.queries("_sip._udp.nowhere.test", 33) == 1)
        #expect(dns.queries("nowhere.test", 1) == 1)
    }

    /// Sends a UDP datagram from an ephemeral [::1] socket.
    static func sendIPv6(_ text: String, to port: Int) {
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in6()
        a.sin6_family = sa_family_t(AF_INET6)
        a.sin6_port = UInt16(port).bigEndian
        inet_pton(AF_INET6, "::1", &a.sin6_addr)
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    /// A request received on [::1] for an IPv4 next hop leaves from the first IPv4 listener
    /// (127.0.0.2) without mhomed, from the one the route to 127.0.0.1 uses with it.
    @Test(arguments: [false, true]) func mhomedPicksTheSocketOnTheRoute(mhomed: Bool) throws {
        let uas = UDPClient()
        let server = try TestServer(
            config: Self.config(
                "$du = \"sip:127.0.0.1:\(uas.port)\";\nforward();\nexit;", globals: "mhomed=\(mhomed ? 1 : 0)",
                listen: "listen=udp:127.0.0.2:PORT\nlisten=udp:127.0.0.1:PORT\nlisten=udp:[::1]:PORT"))
        let request = sipRequest(
            Self.invite("sip:bob@127.0.0.1", callID: "mh-\(mhomed)@test").map {
                $0.replacingOccurrences(of: "127.0.0.1:CPORT", with: "[::1]:5999")
            }, clientPort: 0)
        Self.sendIPv6(request, to: server.port)
        let lines = replyLines(try #require(uas.receive(timeout: 5), "nothing forwarded; log: \(server.log)"))
        let via = "Via: SIP/2.0/UDP \(mhomed ? "127.0.0.1" : "127.0.0.2"):\(server.port);branch=z9hG4bK"
        #expect(lines[1].hasPrefix(via), "\(lines[1])")
    }

    @Test func theRouteChooserFindsTheListenerOnTheSourceAddress() throws {
        func socket(_ i: Int, _ ip: String) -> ListeningSocket {
            let l = ListenAddress(proto: .udp, address: ip, port: 5990 + i)
            return ListeningSocket(
                index: i, listen: l, address: SocketAddress(numericHost: ip, port: 5990 + i)!, fd: -1)
        }
        let sockets = [socket(0, "127.0.0.2"), socket(1, "127.0.0.1"), socket(2, "::1")]
        let table = SocketTable(sockets: sockets, local: LocalAddresses(), mhomed: true)
        let to4 = SocketAddress(numericHost: "127.0.0.1", port: 7000)!
        #expect(table.sendSocket(for: .udp, to: to4, received: sockets[0])?.index == 1)
        #expect(
            table.sendSocket(for: .udp, to: SocketAddress(numericHost: "::1", port: 7000)!, received: nil)?.index == 2)
        let plain = SocketTable(sockets: sockets, local: LocalAddresses())
        #expect(plain.sendSocket(for: .udp, to: to4, received: nil)?.index == 0)
        // No listener on the route's source address: no socket, as Kamailio.
        let only2 = SocketTable(sockets: [sockets[0]], local: LocalAddresses(), mhomed: true)
        #expect(only2.sendSocket(for: .udp, to: to4, received: nil) == nil)
    }

    @Test(arguments: [true, false]) func autoAliasesMakeTheReverseNameMyself(enabled: Bool) throws {
        let server = try TestServer(
            config: Self.config(
                "if (uri == myself) { sl_send_reply(\"200\", \"mine\"); } else { sl_send_reply(\"404\", \"other\"); }\nexit;",
                globals: enabled ? "" : "auto_aliases=no"))
        let uac = UDPClient()
        let ruri = "sip:bob@localhost:\(server.port)"
        uac.send(sipRequest(Self.invite(ruri, callID: "alias-\(enabled)@test"), clientPort: uac.port), to: server.port)
        let reply = replyLines(try #require(uac.receive(timeout: 5), "log: \(server.log)"))
        #expect(reply[0] == (enabled ? "SIP/2.0 200 mine" : "SIP/2.0 404 other"))
        // Printed at start-up as Kamailio does ("Aliases:" then "udp: localhost:5060").
        #expect(server.log.contains("             udp: localhost:\(server.port)") == enabled)
    }
}

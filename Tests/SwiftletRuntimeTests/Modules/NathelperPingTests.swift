import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// nathelper's keepalives to usrloc's contacts on the virtual clock: SIP OPTIONS to contacts
/// with `sipping_bflag`, 4-byte UDP packets to the other NATed ones, nothing to the others,
/// and `nathelper.enable_ping`.
@Suite(.serialized) struct NathelperPingTests {
    static let config = """
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "kex.so"
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        loadmodule "nathelper.so"
        modparam("usrloc", "nat_bflag", 6)
        modparam("nathelper|registrar", "received_avp", "$avp(RECEIVED)")
        modparam("nathelper", "natping_interval", 2)
        modparam("nathelper", "ping_nated_only", 1)
        modparam("nathelper", "sipping_bflag", 7)
        modparam("nathelper", "sipping_from", "sip:pinger@kamailio.org")
        request_route {
            if ($rm == "REGISTER") {
                if (nat_uac_test("19")) {
                    fix_nated_register();
                    setbflag(6);
                    if ($hdr(X-Ping) == "sip") { setbflag(7); }
                }
                save("location");
                exit;
            }
        }
        """

    static func register(_ user: String, contact: String, ping: String = "") -> String {
        [
            "REGISTER sip:127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP \(contact):5060;branch=z9hG4bK-\(user);rport",
            "From: <sip:\(user)@127.0.0.1>;tag=f-\(user)", "To: <sip:\(user)@127.0.0.1>", "Call-ID: reg-\(user)",
            "CSeq: 1 REGISTER", "Max-Forwards: 70", "Contact: <sip:\(user)@\(contact):5060>", "Expires: 600",
            "X-Ping: \(ping)", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    @Test func natedContactsArePingedOncePerInterval() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        core.receive(Self.register("alice", contact: "192.168.1.10", ping: "sip"), from: "203.0.113.7:40000")
        core.receive(Self.register("bob", contact: "10.0.0.9"), from: "203.0.113.8:41000")
        core.receive(Self.register("carol", contact: "198.51.100.5"), from: "198.51.100.5:5060")
        #expect(core.takeSent().map(\.firstLine) == Array(repeating: "SIP/2.0 200 OK", count: 3))

        core.advance(milliseconds: 2000)
        let pings = core.takeSent()
        #expect(pings.count == 2, "\(pings.map(\.text))")
        let sip = try #require(pings.first { $0.destination.address.port == 40000 })
        #expect(sip.destination.address.ipString == "203.0.113.7")
        let text = ReceivedSIP(text: sip.text, sourcePort: 5060)
        #expect(text.firstLine == "OPTIONS sip:alice@192.168.1.10:5060 SIP/2.0")
        #expect(text.headers("Via").first?.hasPrefix("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK") == true)
        #expect(text.headers("From").first?.hasPrefix("sip:pinger@kamailio.org;tag=uloc-") == true)
        #expect(text.headers("To") == ["sip:alice@192.168.1.10:5060"])
        #expect(text.headers("CSeq") == ["1 OPTIONS"])
        #expect(text.headers("Call-ID").first?.hasSuffix("@127.0.0.1") == true)
        // bob is NATed without the SIP-ping flag: a 4-byte packet; carol is not NATed.
        let udp = try #require(pings.first { $0.destination.address.port == 41000 })
        #expect(udp.bytes == [0, 0, 0, 0])
        #expect(udp.destination.address.ipString == "203.0.113.8")

        // The next interval pings them again; disabled by RPC, nothing.
        core.advance(milliseconds: 2000)
        #expect(core.takeSent().count == 2)
        let off = core.context.rpcs.call(RPCRequest(method: "nathelper.enable_ping", params: [.int(0)]))
        #expect((try? off.get()) == .null)
        core.advance(milliseconds: 4000)
        #expect(core.takeSent().isEmpty)
        _ = core.context.rpcs.call(RPCRequest(method: "nathelper.enable_ping", params: [.int(1)]))
        core.advance(milliseconds: 2000)
        #expect(core.takeSent().count == 2)
    }

    @Test func enablePingWithoutPingingIsAFault() throws {
        let core = try EmbeddedCore(
            config: Self.config.replacingOccurrences(of: "\"natping_interval\", 2", with: "\"natping_interval\", 0"),
            modulePath: productsDirectory)
        let r = core.context.rpcs.call(RPCRequest(method: "nathelper.enable_ping", params: [.int(0)]))
        #expect(r == .failure(RPCError(500, "NATping disabled")))
    }
}

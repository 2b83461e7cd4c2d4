import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// topoh: the masking (bit-exact against Kamailio 5.6.3's vectors) and a call through a
/// stateless proxy on the embedded core. `TopohMask.swift` here is a link to the module's
/// file, so that the encoder is tested directly.
@Suite struct TopohModuleTests {
    static let defaultKey = Array("aL9.n8~Hm]Z".utf8)

    // MARK: the encoder (kamailio-facts.md, "topoh" test vectors)

    @Test func theDefaultKeyShufflesTheAlphabetAsKamailio() {
        let mask = TopohMask(key: Self.defaultKey)
        #expect(
            String(decoding: mask.table, as: UTF8.self)
                == "y0GxFtSUVeTOMWzHPam.jKR93gCoNpkicrJBqIEhvYbnd175AfLl4u6wZs-X8Q2D")
    }

    @Test func theEncoderReproducesKamailiosVectors() {
        let mask = TopohMask(key: Self.defaultKey)
        func enc(_ s: String, _ prefix: String) -> String {
            String(decoding: mask.encode(Array(s.utf8), prefix: Array(prefix.utf8)), as: UTF8.self)
        }
        let uri = "sip:10.1.1.1;line=sr-"
        let via = "SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKsr-"
        #expect(enc("callid-0001@example.com", "!!:") == "!!:36tdoSIqO.yAMxtyg9rro90dgmsBo64*")
        #expect(enc("sip:alice@192.168.1.10:5090", uri) == "sip:10.1.1.1;line=sr-N6IAzEtdCRWIPxFsMJZfWBc7MmZfMxvuMxqA")
        #expect(enc("sip:bob@192.168.2.20:35080", uri) == "sip:10.1.1.1;line=sr-N6IAzEe53qyfz.V7M.3ZOBV7MBy-MljAzxy*")
        #expect(
            enc("SIP/2.0/UDP 127.0.0.1:35090;TH=div;branch=z9hG4bK-test-2", via)
                == via + "j4IPOlV7MGQKatycM.VwOBy7MGZfzBMuMxqAzuaVHRaYpB1JNEt736cQkBIvalaJmLu4g9W4O.V*")
        #expect(
            enc("SIP/2.0/UDP 127.0.0.1:5090;received=127.0.0.1;TH=div;branch=z9hG4bK-test-1;rport=5090", via)
                == via
                + "j4IPOlV7MGQKatycM.VwOBy7MGZfzBjAz.yXNEKBgRI6gRPQM.VwOBy7MGZfzuaVHRaYpB1JNEt736cQkBIvalaJmLu4g9W4O.FXNh05NhPQW.ysMy**"
        )
    }

    @Test func decodingReversesEncodingAndRejectsUnknownSymbols() {
        let mask = TopohMask(key: Array("another key \u{e9}".utf8))
        for n in 0..<40 {
            let input = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let out = mask.encode(input, prefix: Array("p-".utf8))
            #expect(mask.decode(out, prefixLength: 2) == input || (n == 0 && mask.decode(out, prefixLength: 2) == nil))
        }
        #expect(mask.decode(Array("p-ab+d".utf8), prefixLength: 2) == nil)
    }

    // MARK: a call through a stateless proxy (compared with Kamailio 5.6.3)

    static let caller = "127.0.0.1:35070"
    static let callee = "127.0.0.1:35080"

    /// Also run on Kamailio 5.6.3 (`kamailio -f`, the same messages over UDP): the expected
    /// messages below are its output, but for the branch of its own Via.
    static let config = """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:35060
        loadmodule "pv.so"
        loadmodule "sl.so"
        loadmodule "siputils.so"
        loadmodule "rr.so"
        loadmodule "topoh.so"
        modparam("topoh", "mask_callid", 1)
        request_route {
            if (has_totag()) {
                if (loose_route()) { forward(); exit; }
                sl_send_reply("404", "Not here");
                exit;
            }
            record_route();
            $du = "sip:127.0.0.1:35080";
            forward();
        }

        """

    static func message(_ lines: [String]) -> String { lines.joined(separator: "\r\n") + "\r\n\r\n" }

    static let invite = message([
        "INVITE sip:bob@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport",
        "Record-Route: <sip:127.0.0.3:35090;lr>", "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>",
        "Call-ID: topoh-1@127.0.0.1", "CSeq: 1 INVITE", "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:35070>",
        "Content-Length: 0",
    ])

    /// The text with the branch of the first Via (this proxy's) replaced by `*`.
    static func withoutOwnBranch(_ text: String) -> String {
        var lines = text.components(separatedBy: "\r\n")
        if let i = lines.firstIndex(where: { $0.hasPrefix("Via: ") }), let r = lines[i].range(of: ";branch=") {
            lines[i] = String(lines[i][..<r.upperBound]) + "*"
        }
        return lines.joined(separator: "\r\n")
    }

    static func headers(_ text: String, _ name: String) -> [String] {
        text.components(separatedBy: "\r\n").filter { $0.hasPrefix(name + ": ") }.map {
            String($0.dropFirst(name.count + 2))
        }
    }

    static let mask = TopohMask(key: defaultKey)

    /// The clear text of a masked value (after `prefix`).
    static func unmasked(_ value: String, after prefix: String) -> String? {
        guard value.hasPrefix(prefix) else { return nil }
        return mask.decode(Array(value.utf8), prefixLength: prefix.utf8.count).map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    /// With the default mask address, and with one of this proxy (Kamailio's
    /// `th_mask_addr_myself`; the same output but for the address).
    @Test(arguments: ["127.0.0.8", "127.0.0.1"])
    func aCallThroughAStatelessProxyIsMaskedDownstreamAndUnmaskedUpstream(maskIP: String) throws {
        let config = Self.config.replacingOccurrences(
            of: "modparam(\"topoh\", \"mask_callid\", 1)",
            with: "modparam(\"topoh\", \"mask_callid\", 1)\nmodparam(\"topoh\", \"mask_ip\", \"\(maskIP)\")")
        let core = try EmbeddedCore(config: config, modulePath: productsDirectory)
        core.receive(Self.invite, from: Self.caller)
        let sent = core.takeSent()
        try #require(sent.count == 1)
        #expect(sent[0].destination.address.description == Self.callee)
        // Call-ID, the caller's Via, its Contact and the upstream proxy's Record-Route are
        // masked; the cookie header is gone, its Via param is inside the masked Via.
        let masked = [
            "INVITE sip:bob@127.0.0.1 SIP/2.0",
            "Record-Route: <sip:127.0.0.1:35060;lr;ftag=a1>",
            "Via: SIP/2.0/UDP 127.0.0.1:35060;branch=*",
            "Via: SIP/2.0/UDP \(maskIP);branch=z9hG4bKsr-j4IPOlV7MGQKatycM.VwOBy7MGZfzBMuMxNAzweI36KYpEKqH.FLWLZAOBy7M.1jmxuqC93X3heroEWvH9vsCFN43qd13lFXNh05NhPQMljAWly*",
            "Record-Route: <sip:\(maskIP);line=sr-N6IAzBFLWLZAOBy7MlvlW.ysMx1dNc**>",
            "From: <sip:alice@127.0.0.1>;tag=a1",
            "To: <sip:bob@127.0.0.1>",
            "Call-ID: !!:pSQAo6c1MjyfMBN7MGZAOBF*",
            "CSeq: 1 INVITE",
            "Max-Forwards: 70",
            "Contact: <sip:\(maskIP);line=sr-N6IAzEtdCRWIPxFLWLZAOBy7M.vlW.ywMy**>",
            "Content-Length: 0",
        ]
        #expect(Self.withoutOwnBranch(sent[0].text) == Self.message(masked))
        let invite = sent[0].text
        #expect(
            Self.unmasked(Self.headers(invite, "Via")[1], after: "SIP/2.0/UDP \(maskIP);branch=z9hG4bKsr-")
                == "SIP/2.0/UDP 127.0.0.1:35070;received=127.0.0.1;TH=div;branch=z9hG4bK-c1;rport=35070")
        #expect(Self.unmasked(String(Self.headers(invite, "Call-ID")[0]), after: "!!:") == "topoh-1@127.0.0.1")

        // The callee answers with the bytes it got; the reply goes upstream in clear, but
        // for the callee's Contact.
        var reply = ["SIP/2.0 200 OK"]
        for line in invite.components(separatedBy: "\r\n") {
            for name in ["Via", "Record-Route", "From", "Call-ID", "CSeq"] where line.hasPrefix(name + ": ") {
                reply.append(line)
            }
            if line.hasPrefix("To: ") { reply.append(line + ";tag=b1") }
        }
        reply += ["Contact: <sip:bob@127.0.0.1:35080>", "Content-Length: 0"]
        core.receive(Self.message(reply), from: Self.callee)
        let relayed = core.takeSent()
        try #require(relayed.count == 1)
        #expect(relayed[0].destination.address.description == Self.caller)
        #expect(
            relayed[0].text
                == Self.message([
                    "SIP/2.0 200 OK",
                    "Record-Route: <sip:127.0.0.1:35060;lr;ftag=a1>",
                    "Via: SIP/2.0/UDP 127.0.0.1:35070;received=127.0.0.1;branch=z9hG4bK-c1;rport=35070",
                    "Record-Route: <sip:127.0.0.3:35090;lr>",
                    "From: <sip:alice@127.0.0.1>;tag=a1",
                    "To: <sip:bob@127.0.0.1>;tag=b1",
                    "Call-ID: topoh-1@127.0.0.1",
                    "CSeq: 1 INVITE",
                    "Contact: <sip:\(maskIP);line=sr-N6IAzEe53qyfMBN7MGZAOBF-MljAzxy*>",
                    "Content-Length: 0",
                ]))

        // The callee hangs up: to the masked Contact, through the Record-Route it got. The
        // Request-URI, the second Route and the Call-ID are unmasked on the way in.
        let rrs = Self.headers(invite, "Record-Route")
        let contact = Self.headers(invite, "Contact")[0]
        let bye = Self.message([
            "BYE \(contact.dropFirst().dropLast()) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:35080;branch=z9hG4bK-b2",
            "Route: \(rrs[0])", "Route: \(rrs[1])", "From: <sip:bob@127.0.0.1>;tag=b1",
            "To: <sip:alice@127.0.0.1>;tag=a1",
            "Call-ID: \(Self.headers(invite, "Call-ID")[0])", "CSeq: 2 BYE", "Max-Forwards: 70",
            "Contact: <sip:bob@127.0.0.1:35080>", "Content-Length: 0",
        ])
        core.receive(bye, from: Self.callee)
        let up = core.takeSent()
        try #require(up.count == 1)
        #expect(up[0].destination.address.description == "127.0.0.3:35090")
        #expect(
            Self.withoutOwnBranch(up[0].text)
                == Self.message([
                    "BYE sip:alice@127.0.0.1:35070 SIP/2.0",
                    "Via: SIP/2.0/UDP 127.0.0.1:35060;branch=*",
                    "Via: SIP/2.0/UDP \(maskIP);branch=z9hG4bKsr-j4IPOlV7MGQKatycM.VwOBy7MGZfzBMuMxcAzuaVH9KBpB1JNEt736cQkBIvalaJmLuJMc**",
                    "Route: <sip:127.0.0.3:35090;lr>",
                    "From: <sip:bob@127.0.0.1>;tag=b1",
                    "To: <sip:alice@127.0.0.1>;tag=a1",
                    "Call-ID: topoh-1@127.0.0.1",
                    "CSeq: 2 BYE",
                    "Max-Forwards: 70",
                    "Contact: <sip:\(maskIP);line=sr-N6IAzEe53qyfMBN7MGZAOBF-MljAzxy*>",
                    "Content-Length: 0",
                ]))
        #expect(
            Self.unmasked(Self.headers(up[0].text, "Via")[1], after: "SIP/2.0/UDP \(maskIP);branch=z9hG4bKsr-")
                == "SIP/2.0/UDP 127.0.0.1:35080;TH=ucv;branch=z9hG4bK-b2")
    }

    @Test func aDownstreamByeALocalReplyAndARegisterAsKamailio() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        // The caller's BYE through the upstream proxy, to the callee's masked Contact: the
        // Request-URI is unmasked, the Call-ID masked on the way downstream.
        core.receive(
            Self.message([
                "BYE sip:127.0.0.8;line=sr-N6IAzEe53qyfMBN7MGZAOBF-MljAzxy* SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p3",
                "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-a3;rport",
                "Route: <sip:127.0.0.1:35060;lr;ftag=a1>", "From: <sip:alice@127.0.0.1>;tag=a1",
                "To: <sip:bob@127.0.0.1>;tag=b1", "Call-ID: topoh-1@127.0.0.1", "CSeq: 3 BYE", "Max-Forwards: 69",
                "Content-Length: 0",
            ]), from: "127.0.0.3:35090")
        let down = core.takeSent()
        try #require(down.count == 1)
        #expect(down[0].destination.address.description == Self.callee)
        #expect(
            Self.withoutOwnBranch(down[0].text)
                == Self.message([
                    "BYE sip:bob@127.0.0.1:35080 SIP/2.0",
                    "Via: SIP/2.0/UDP 127.0.0.1:35060;branch=*",
                    "Via: SIP/2.0/UDP 127.0.0.8;branch=z9hG4bKsr-j4IPOlV7MGQKatycM.VwOBy7MGZlzBMuMxqAzuaVHRaBpB1JNEt736cQkBIvalaJmLuAMA**",
                    "Via: SIP/2.0/UDP 127.0.0.8;branch=z9hG4bKsr-j4IPOlV7MGQKatycM.VwOBy7MGZfzBMuMxNAz6eL3RsBCxu-zRrUWSeOORFlzweAowe4",
                    "From: <sip:alice@127.0.0.1>;tag=a1",
                    "To: <sip:bob@127.0.0.1>;tag=b1",
                    "Call-ID: !!:pSQAo6c1MjyfMBN7MGZAOBF*",
                    "CSeq: 3 BYE",
                    "Max-Forwards: 69",
                    "Content-Length: 0",
                ]))

        // An in-dialog request from the callee that this proxy answers itself: the Call-ID
        // was unmasked on the way in and is masked again in the reply; the Via cookie goes.
        core.receive(
            Self.message([
                "OPTIONS sip:127.0.0.8;line=sr-N6IAzEtdCRWIPxFLWLZAOBy7M.vlW.ywMy** SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:35080;branch=z9hG4bK-o4", "From: <sip:bob@127.0.0.1>;tag=b1",
                "To: <sip:alice@127.0.0.1>;tag=a1", "Call-ID: !!:pSQAo6c1MjyfMBN7MGZAOBF*", "CSeq: 4 OPTIONS",
                "Max-Forwards: 70", "Content-Length: 0",
            ]), from: Self.callee)
        let local = core.takeSent()
        try #require(local.count == 1)
        #expect(
            local[0].text.components(separatedBy: "\r\n").filter { !$0.hasPrefix("Server: ") }
                == [
                    "SIP/2.0 404 Not here",
                    "Via: SIP/2.0/UDP 127.0.0.1:35080;branch=z9hG4bK-o4",
                    "From: <sip:bob@127.0.0.1>;tag=b1",
                    "To: <sip:alice@127.0.0.1>;tag=a1",
                    "Call-ID: !!:pSQAo6c1MjyfMBN7MGZAOBF*",
                    "CSeq: 4 OPTIONS",
                    "Content-Length: 0", "", "",
                ])

        // REGISTER is never touched.
        core.receive(
            Self.message([
                "REGISTER sip:127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-r5",
                "From: <sip:alice@127.0.0.1>;tag=r5", "To: <sip:alice@127.0.0.1>", "Call-ID: reg-1@127.0.0.1",
                "CSeq: 1 REGISTER", "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:35070>", "Content-Length: 0",
            ]), from: Self.caller)
        let register = core.takeSent()
        try #require(register.count == 1)
        #expect(
            Self.withoutOwnBranch(register[0].text)
                == Self.message([
                    "REGISTER sip:127.0.0.1 SIP/2.0",
                    "Record-Route: <sip:127.0.0.1:35060;lr;ftag=r5>",
                    "Via: SIP/2.0/UDP 127.0.0.1:35060;branch=*",
                    "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-r5",
                    "From: <sip:alice@127.0.0.1>;tag=r5",
                    "To: <sip:alice@127.0.0.1>",
                    "Call-ID: reg-1@127.0.0.1",
                    "CSeq: 1 REGISTER",
                    "Max-Forwards: 70",
                    "Contact: <sip:alice@127.0.0.1:35070>",
                    "Content-Length: 0",
                ]))
    }

    @Test func aCallThroughTmAsKamailio() throws {
        let config = Self.config.replacingOccurrences(of: "forward();", with: "t_relay();")
            .replacingOccurrences(of: "loadmodule \"sl.so\"", with: "loadmodule \"sl.so\"\nloadmodule \"tm.so\"")
        let core = try EmbeddedCore(config: config, modulePath: productsDirectory)
        core.receive(
            Self.message([
                "INVITE sip:bob@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport",
                "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>", "Call-ID: topoh-2@127.0.0.1",
                "CSeq: 1 INVITE", "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:35070>", "Content-Length: 0",
            ]), from: Self.caller)
        let sent = core.takeSent()
        try #require(sent.count == 2)
        // tm's 100 is generated here from the request: the Via cookie is removed, the
        // Call-ID (upstream) is not masked.
        #expect(
            sent[0].text.components(separatedBy: "\r\n").filter { !$0.hasPrefix("Server: ") }
                == [
                    "SIP/2.0 100 trying -- your call is important to us",
                    "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport=35070;received=127.0.0.1",
                    "From: <sip:alice@127.0.0.1>;tag=a1",
                    "To: <sip:bob@127.0.0.1>",
                    "Call-ID: topoh-2@127.0.0.1",
                    "CSeq: 1 INVITE",
                    "Content-Length: 0", "", "",
                ])
        let invite = sent[1].text
        #expect(
            Self.withoutOwnBranch(invite)
                == Self.message([
                    "INVITE sip:bob@127.0.0.1 SIP/2.0",
                    "Record-Route: <sip:127.0.0.1:35060;lr;ftag=a1>",
                    "Via: SIP/2.0/UDP 127.0.0.1:35060;branch=*",
                    "Via: SIP/2.0/UDP 127.0.0.8;branch=z9hG4bKsr-j4IPOlV7MGQKatycM.VwOBy7MGZfzBMuMxNAzweI36KYpEKqH.FLWLZAOBy7M.1jmxuqC93X3heroEWvH9vsCFN43qd13lFXNh05NhPQMljAWly*",
                    "From: <sip:alice@127.0.0.1>;tag=a1",
                    "To: <sip:bob@127.0.0.1>",
                    "Call-ID: !!:pSQAo6c1MqyfMBN7MGZAOBF*",
                    "CSeq: 1 INVITE",
                    "Max-Forwards: 70",
                    "Contact: <sip:127.0.0.8;line=sr-N6IAzEtdCRWIPxFLWLZAOBy7M.vlW.ywMy**>",
                    "Content-Length: 0",
                ]))
        func reply(_ status: String) -> String {
            var r = ["SIP/2.0 " + status]
            for line in invite.components(separatedBy: "\r\n") {
                for name in ["Via", "Record-Route", "From", "Call-ID", "CSeq"] where line.hasPrefix(name + ": ") {
                    r.append(line)
                }
                if line.hasPrefix("To: ") { r.append(line + ";tag=b1") }
            }
            return Self.message(r + ["Contact: <sip:bob@127.0.0.1:35080>", "Content-Length: 0"])
        }
        for status in ["180 Ringing", "200 OK"] {
            core.receive(reply(status), from: Self.callee)
            let relayed = core.takeSent()
            try #require(relayed.count == 1)
            #expect(
                relayed[0].text
                    == Self.message([
                        "SIP/2.0 " + status,
                        "Record-Route: <sip:127.0.0.1:35060;lr;ftag=a1>",
                        "Via: SIP/2.0/UDP 127.0.0.1:35070;received=127.0.0.1;branch=z9hG4bK-c1;rport=35070",
                        "From: <sip:alice@127.0.0.1>;tag=a1",
                        "To: <sip:bob@127.0.0.1>;tag=b1",
                        "Call-ID: topoh-2@127.0.0.1",
                        "CSeq: 1 INVITE",
                        "Contact: <sip:127.0.0.8;line=sr-N6IAzEe53qyfMBN7MGZAOBF-MljAzxy*>",
                        "Content-Length: 0",
                    ]))
        }
        // The ACK for the 2xx goes downstream, to the callee's masked Contact.
        core.receive(
            Self.message([
                "ACK sip:127.0.0.8;line=sr-N6IAzEe53qyfMBN7MGZAOBF-MljAzxy* SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c2;rport", "Route: <sip:127.0.0.1:35060;lr;ftag=a1>",
                "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>;tag=b1", "Call-ID: topoh-2@127.0.0.1",
                "CSeq: 1 ACK", "Max-Forwards: 70", "Content-Length: 0",
            ]), from: Self.caller)
        let ack = core.takeSent()
        try #require(ack.count == 1)
        #expect(ack[0].destination.address.description == Self.callee)
        #expect(
            Self.withoutOwnBranch(ack[0].text)
                == Self.message([
                    "ACK sip:bob@127.0.0.1:35080 SIP/2.0",
                    "Via: SIP/2.0/UDP 127.0.0.1:35060;branch=*",
                    "Via: SIP/2.0/UDP 127.0.0.8;branch=z9hG4bKsr-j4IPOlV7MGQKatycM.VwOBy7MGZfzBMuMxNAzweI36KYpEKqH.FLWLZAOBy7M.1jmxuq3w3X3heroEWvH9vsCFN43qd13lVXNh05NhPQMljAWly*",
                    "From: <sip:alice@127.0.0.1>;tag=a1",
                    "To: <sip:bob@127.0.0.1>;tag=b1",
                    "Call-ID: !!:pSQAo6c1MqyfMBN7MGZAOBF*",
                    "CSeq: 1 ACK",
                    "Max-Forwards: 70",
                    "Content-Length: 0",
                ]))
    }

    @Test func aCancelledCallThroughTmAsKamailio() throws {
        let config = Self.config.replacingOccurrences(of: "forward();", with: "t_relay();")
            .replacingOccurrences(of: "loadmodule \"sl.so\"", with: "loadmodule \"sl.so\"\nloadmodule \"tm.so\"")
        let core = try EmbeddedCore(config: config, modulePath: productsDirectory)
        core.receive(
            Self.message([
                "INVITE sip:bob@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport",
                "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>", "Call-ID: topoh-3@127.0.0.1",
                "CSeq: 1 INVITE", "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:35070>", "Content-Length: 0",
            ]), from: Self.caller)
        let sent = core.takeSent()
        try #require(sent.count == 2)
        let invite = sent[1].text
        #expect(Self.headers(invite, "Call-ID") == ["!!:pSQAo6c1M4yfMBN7MGZAOBF*"])
        /// A reply of the callee, with the Record-Route of a proxy on its side first.
        func reply(_ status: String, to request: String, downstreamProxy: Bool) -> String {
            var r = ["SIP/2.0 " + status]
            if downstreamProxy { r.append("Record-Route: <sip:127.0.0.4:35095;lr>") }
            for line in request.components(separatedBy: "\r\n") {
                for name in ["Via", "Record-Route", "From", "Call-ID", "CSeq"]
                where line.hasPrefix(name + ": ") && (downstreamProxy || name != "Record-Route") {
                    r.append(line)
                }
                if line.hasPrefix("To: ") { r.append(line + ";tag=b1") }
            }
            if downstreamProxy { r.append("Contact: <sip:bob@127.0.0.1:35080>") }
            return Self.message(r + ["Content-Length: 0"])
        }
        // The downstream proxy's Record-Route is masked on the way upstream; ours is not.
        core.receive(reply("180 Ringing", to: invite, downstreamProxy: true), from: Self.callee)
        let ringing = core.takeSent()
        try #require(ringing.count == 1)
        #expect(
            ringing[0].text
                == Self.message([
                    "SIP/2.0 180 Ringing",
                    "Record-Route: <sip:127.0.0.8;line=sr-N6IAzBFLWLZAOBy7WxvlW.ysW.1dNc**>",
                    "Record-Route: <sip:127.0.0.1:35060;lr;ftag=a1>",
                    "Via: SIP/2.0/UDP 127.0.0.1:35070;received=127.0.0.1;branch=z9hG4bK-c1;rport=35070",
                    "From: <sip:alice@127.0.0.1>;tag=a1",
                    "To: <sip:bob@127.0.0.1>;tag=b1",
                    "Call-ID: topoh-3@127.0.0.1",
                    "CSeq: 1 INVITE",
                    "Contact: <sip:127.0.0.8;line=sr-N6IAzEe53qyfMBN7MGZAOBF-MljAzxy*>",
                    "Content-Length: 0",
                ]))
        // The caller cancels: tm answers it here (in clear) and sends its own CANCEL, a
        // request generated here with one Via, whose Call-ID is masked.
        core.receive(
            Self.message([
                "CANCEL sip:bob@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport",
                "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>", "Call-ID: topoh-3@127.0.0.1",
                "CSeq: 1 CANCEL", "Max-Forwards: 70", "Content-Length: 0",
            ]), from: Self.caller)
        let cancelled = core.takeSent()
        try #require(cancelled.count == 2)
        #expect(
            cancelled[0].text.components(separatedBy: "\r\n").filter { !$0.hasPrefix("Server: ") }
                .map { $0.hasPrefix("To: ") ? String($0.prefix { $0 != ";" }) : $0 }
                == [
                    "SIP/2.0 200 canceling",
                    "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c1;rport=35070;received=127.0.0.1",
                    "From: <sip:alice@127.0.0.1>;tag=a1",
                    "To: <sip:bob@127.0.0.1>",
                    "Call-ID: topoh-3@127.0.0.1",
                    "CSeq: 1 CANCEL",
                    "Content-Length: 0", "", "",
                ])
        let cancel = cancelled[1].text
        let inviteBranchVia = Self.headers(invite, "Via")[0]
        #expect(
            cancel
                == Self.message([
                    "CANCEL sip:bob@127.0.0.1 SIP/2.0",
                    "Via: " + inviteBranchVia,
                    "From: <sip:alice@127.0.0.1>;tag=a1",
                    "To: <sip:bob@127.0.0.1>",
                    "Call-ID: !!:pSQAo6c1M4yfMBN7MGZAOBF*",
                    "CSeq: 1 CANCEL",
                    "Max-Forwards: 70",
                    "Content-Length: 0",
                ]))
        // The callee's 200 for the CANCEL (one Via) ends at tm; its 487 goes upstream in
        // clear, and tm's ACK for it (generated here) has the Call-ID masked.
        core.receive(reply("200 OK", to: cancel, downstreamProxy: false), from: Self.callee)
        #expect(core.takeSent().isEmpty)
        core.receive(reply("487 Request Terminated", to: invite, downstreamProxy: false), from: Self.callee)
        let final = core.takeSent()
        try #require(final.count == 2)
        let (terminated, ack) = final[0].firstLine.hasPrefix("SIP/") ? (final[0], final[1]) : (final[1], final[0])
        #expect(
            terminated.text
                == Self.message([
                    "SIP/2.0 487 Request Terminated",
                    "Via: SIP/2.0/UDP 127.0.0.1:35070;received=127.0.0.1;branch=z9hG4bK-c1;rport=35070",
                    "From: <sip:alice@127.0.0.1>;tag=a1",
                    "To: <sip:bob@127.0.0.1>;tag=b1",
                    "Call-ID: topoh-3@127.0.0.1",
                    "CSeq: 1 INVITE",
                    "Content-Length: 0",
                ]))
        #expect(
            ack.text
                == Self.message([
                    "ACK sip:bob@127.0.0.1 SIP/2.0",
                    "Via: " + inviteBranchVia,
                    "From: <sip:alice@127.0.0.1>;tag=a1",
                    "To: <sip:bob@127.0.0.1>;tag=b1",
                    "Call-ID: !!:pSQAo6c1M4yfMBN7MGZAOBF*",
                    "CSeq: 1 ACK",
                    "Max-Forwards: 70",
                    "Content-Length: 0",
                ]))
    }

    @Test func eventRoutesCanKeepAMessageInClearAsKamailio() throws {
        let config =
            Self.config
            .replacingOccurrences(of: "loadmodule \"sl.so\"", with: "loadmodule \"sl.so\"\nloadmodule \"textops.so\"")
            .replacingOccurrences(
                of: "    forward();\n}",
                with: "    if ($rU == \"up\") { $du = \"sip:127.0.0.3:35090\"; }\n    forward();\n}")
                + """
                event_route[topoh:msg-outgoing] {
                    if ($sndto(ip) == "127.0.0.3") { drop; }
                }
                event_route[topoh:msg-sending] {
                    if (is_present_hf("X-Clear")) { drop; }
                }

                """
        let core = try EmbeddedCore(config: config, modulePath: productsDirectory)
        func options(_ user: String, _ id: String, _ extra: [String] = []) -> String {
            Self.message(
                [
                    "OPTIONS sip:\(user)@127.0.0.1 SIP/2.0",
                    "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-\(id);rport",
                    "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:\(user)@127.0.0.1>", "Call-ID: \(id)@127.0.0.1",
                    "CSeq: 1 OPTIONS", "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:35070>",
                ] + extra + ["Content-Length: 0"])
        }
        core.receive(options("bob", "e1"), from: Self.caller)
        let masked = core.takeSent()
        try #require(masked.count == 1)
        #expect(
            Self.withoutOwnBranch(masked[0].text)
                == Self.message([
                    "OPTIONS sip:bob@127.0.0.1 SIP/2.0",
                    "Record-Route: <sip:127.0.0.1:35060;lr;ftag=a1>",
                    "Via: SIP/2.0/UDP 127.0.0.1:35060;branch=*",
                    "Via: SIP/2.0/UDP 127.0.0.8;branch=z9hG4bKsr-j4IPOlV7MGQKatycM.VwOBy7MGZfzBMuMxNAzweI36KYpEKqH.FLWLZAOBy7M.1jmxuqC93X3heroEWvH9vsCFN43qd1g.FXNh05NhPQMljAWly*",
                    "From: <sip:alice@127.0.0.1>;tag=a1",
                    "To: <sip:bob@127.0.0.1>",
                    "Call-ID: !!:g.tyM.VwOBy7MGZf",
                    "CSeq: 1 OPTIONS",
                    "Max-Forwards: 70",
                    "Contact: <sip:127.0.0.8;line=sr-N6IAzEtdCRWIPxFLWLZAOBy7M.vlW.ywMy**>",
                    "Content-Length: 0",
                ]))
        // `drop` in either event route: the message goes as it is, cookie included.
        for (user, id, extra, to) in [
            ("bob", "e2", ["X-Clear: 1"], Self.callee), ("up", "e3", [], "127.0.0.3:35090"),
        ] {
            core.receive(options(user, id, extra), from: Self.caller)
            let clear = core.takeSent()
            try #require(clear.count == 1)
            #expect(clear[0].destination.address.description == to)
            #expect(
                Self.withoutOwnBranch(clear[0].text)
                    == Self.message(
                        [
                            "OPTIONS sip:\(user)@127.0.0.1 SIP/2.0",
                            "Record-Route: <sip:127.0.0.1:35060;lr;ftag=a1>",
                            "Via: SIP/2.0/UDP 127.0.0.1:35060;branch=*",
                            "Via: SIP/2.0/UDP 127.0.0.1:35070;received=127.0.0.1;TH=div;branch=z9hG4bK-\(id);rport=35070",
                            "From: <sip:alice@127.0.0.1>;tag=a1",
                            "To: <sip:\(user)@127.0.0.1>",
                            "Call-ID: \(id)@127.0.0.1",
                            "CSeq: 1 OPTIONS",
                            "Max-Forwards: 70",
                            "Contact: <sip:alice@127.0.0.1:35070>",
                        ] + extra + ["Content-Length: 0", "TH: dih"]))
        }
    }

    @Test func sanityChecksWithoutTheSanityModuleStopStartUp() {
        let config = Self.config.replacingOccurrences(
            of: "modparam(\"topoh\", \"mask_callid\", 1)", with: "modparam(\"topoh\", \"sanity_checks\", 1)")
        do {
            _ = try EmbeddedCore(config: config, modulePath: productsDirectory)
            Issue.record("started with sanity_checks=1 without sanity")
        } catch {
            #expect("\(error)".contains("cannot bind to sanity module"))
        }
    }

    @Test func anEmptyMaskAddressStopsStartUpAsKamailio() {
        let config = Self.config.replacingOccurrences(
            of: "modparam(\"topoh\", \"mask_callid\", 1)", with: "modparam(\"topoh\", \"mask_ip\", \"\")")
        do {
            _ = try EmbeddedCore(config: config, modulePath: productsDirectory)
            Issue.record("started with an empty mask_ip")
        } catch {
            #expect("\(error)".contains("mask IP parameter is invalid"))
        }
    }

    @Test func replacesAndReferToAsKamailio() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        // Replaces in an initial INVITE: a clear call-id is masked, a masked one unmasked.
        for (id, replaces, sentReplaces, callID) in [
            (
                "topoh-4", "other-call@127.0.0.1", "!!:owavg9V136tdoFyfMBN7MGZAOBF*", "!!:pSQAo6c1WFyfMBN7MGZAOBF*"
            ),
            ("topoh-5", "!!:pSQAo6c1M4yfMBN7MGZAOBF*", "topoh-3@127.0.0.1", "!!:pSQAo6c1WjyfMBN7MGZAOBF*"),
        ] {
            core.receive(
                Self.message([
                    "INVITE sip:bob@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-r1;rport",
                    "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>", "Call-ID: \(id)@127.0.0.1",
                    "CSeq: 1 INVITE", "Replaces: \(replaces);to-tag=x1;from-tag=y1", "Max-Forwards: 70",
                    "Contact: <sip:alice@127.0.0.1:35070>", "Content-Length: 0",
                ]), from: Self.caller)
            let sent = core.takeSent()
            try #require(sent.count == 1)
            #expect(Self.headers(sent[0].text, "Replaces") == ["\(sentReplaces);to-tag=x1;from-tag=y1"])
            #expect(Self.headers(sent[0].text, "Call-ID") == [callID])
        }
        // Refer-To in an in-dialog REFER: unmasked up to its headers.
        core.receive(
            Self.message([
                "REFER sip:127.0.0.8;line=sr-N6IAzEtdCRWIPxFLWLZAOBy7M.vlW.ywMy** SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:35080;branch=z9hG4bK-f1", "Route: <sip:127.0.0.1:35060;lr;ftag=a1>",
                "From: <sip:bob@127.0.0.1>;tag=b1", "To: <sip:alice@127.0.0.1>;tag=a1",
                "Call-ID: !!:pSQAo6c1MjyfMBN7MGZAOBF*", "CSeq: 5 REFER",
                "Refer-To: <sip:127.0.0.8;line=sr-N6IAzEe53qyfMBN7MGZAOBF-MljAzxy*?Replaces=abc>", "Max-Forwards: 70",
                "Contact: <sip:bob@127.0.0.1:35080>", "Content-Length: 0",
            ]), from: Self.callee)
        let refer = core.takeSent()
        try #require(refer.count == 1)
        #expect(
            Self.withoutOwnBranch(refer[0].text)
                == Self.message([
                    "REFER sip:alice@127.0.0.1:35070 SIP/2.0",
                    "Via: SIP/2.0/UDP 127.0.0.1:35060;branch=*",
                    "Via: SIP/2.0/UDP 127.0.0.8;branch=z9hG4bKsr-j4IPOlV7MGQKatycM.VwOBy7MGZfzBMuMxcAzuaVH9KBpB1JNEt736cQkBIvalaJmLuEMP**",
                    "From: <sip:bob@127.0.0.1>;tag=b1",
                    "To: <sip:alice@127.0.0.1>;tag=a1",
                    "Call-ID: topoh-1@127.0.0.1",
                    "CSeq: 5 REFER",
                    "Refer-To: <sip:bob@127.0.0.1:35080?Replaces=abc>",
                    "Max-Forwards: 70",
                    "Contact: <sip:127.0.0.8;line=sr-N6IAzEe53qyfMBN7MGZAOBF-MljAzxy*>",
                    "Content-Length: 0",
                ]))
    }

    @Test func doubleRecordRouteAsKamailio() throws {
        let config = Self.config.replacingOccurrences(
            of: "listen=udp:127.0.0.1:35060", with: "listen=udp:127.0.0.1:35060\nlisten=udp:127.0.0.2:35061"
        )
        .replacingOccurrences(
            of: "    record_route();", with: "    force_send_socket(udp:127.0.0.2:35061);\n    record_route();")
        let core = try EmbeddedCore(config: config, modulePath: productsDirectory)
        core.receive(Self.invite, from: Self.caller)
        let sent = core.takeSent()
        try #require(sent.count == 1)
        // Our second entry (r2=on, towards the caller) is masked as any but the first.
        #expect(
            Self.withoutOwnBranch(sent[0].text)
                == Self.message([
                    "INVITE sip:bob@127.0.0.1 SIP/2.0",
                    "Record-Route: <sip:127.0.0.2:35061;r2=on;lr;ftag=a1>",
                    "Record-Route: <sip:127.0.0.8;line=sr-N6IAzBFLWLZAOBy7M.vlW.y6Mx1LMBu5oB1dNB1EpSthHRFf>",
                    "Via: SIP/2.0/UDP 127.0.0.2:35061;branch=*",
                    "Via: SIP/2.0/UDP 127.0.0.8;branch=z9hG4bKsr-j4IPOlV7MGQKatycM.VwOBy7MGZfzBMuMxNAzweI36KYpEKqH.FLWLZAOBy7M.1jmxuqC93X3heroEWvH9vsCFN43qd13lFXNh05NhPQMljAWly*",
                    "Record-Route: <sip:127.0.0.8;line=sr-N6IAzBFLWLZAOBy7MlvlW.ysMx1dNc**>",
                    "From: <sip:alice@127.0.0.1>;tag=a1",
                    "To: <sip:bob@127.0.0.1>",
                    "Call-ID: !!:pSQAo6c1MjyfMBN7MGZAOBF*",
                    "CSeq: 1 INVITE",
                    "Max-Forwards: 70",
                    "Contact: <sip:127.0.0.8;line=sr-N6IAzEtdCRWIPxFLWLZAOBy7M.vlW.ywMy**>",
                    "Content-Length: 0",
                ]))
        // In the reply upstream: the downstream proxy's entry and our first one (towards
        // the callee) are masked, up to our second r2=on entry.
        var reply = ["SIP/2.0 200 OK", "Record-Route: <sip:127.0.0.4:35095;lr>"]
        for line in sent[0].text.components(separatedBy: "\r\n") {
            for name in ["Via", "Record-Route", "From", "Call-ID", "CSeq"] where line.hasPrefix(name + ": ") {
                reply.append(line)
            }
            if line.hasPrefix("To: ") { reply.append(line + ";tag=b1") }
        }
        reply += ["Contact: <sip:bob@127.0.0.1:35080>", "Content-Length: 0"]
        core.receive(Self.message(reply), from: Self.callee)
        let relayed = core.takeSent()
        try #require(relayed.count == 1)
        #expect(
            relayed[0].text
                == Self.message([
                    "SIP/2.0 200 OK",
                    "Record-Route: <sip:127.0.0.8;line=sr-N6IAzBFLWLZAOBy7WxvlW.ysW.1dNc**>",
                    "Record-Route: <sip:127.0.0.8;line=sr-N6IAzBFLWLZAOBy7MBvlW.y6M.1LMBu5oB1dNB1EpSthHRFf>",
                    "Record-Route: <sip:127.0.0.1:35060;r2=on;lr;ftag=a1>",
                    "Via: SIP/2.0/UDP 127.0.0.1:35070;received=127.0.0.1;branch=z9hG4bK-c1;rport=35070",
                    "Record-Route: <sip:127.0.0.3:35090;lr>",
                    "From: <sip:alice@127.0.0.1>;tag=a1",
                    "To: <sip:bob@127.0.0.1>;tag=b1",
                    "Call-ID: topoh-1@127.0.0.1",
                    "CSeq: 1 INVITE",
                    "Contact: <sip:127.0.0.8;line=sr-N6IAzEe53qyfMBN7MGZAOBF-MljAzxy*>",
                    "Content-Length: 0",
                ]))
    }
}

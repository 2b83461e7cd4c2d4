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

    // MARK: a call through a stateless proxy

    static let caller = "127.0.0.1:5070"
    static let callee = "127.0.0.2:5080"
    static let maskIP = "127.0.0.8"

    static let config = """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
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
            $du = "sip:127.0.0.2:5080";
            forward();
        }

        """

    static let invite =
        [
            "INVITE sip:bob@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-c1;rport",
            "Record-Route: <sip:127.0.0.3;lr>", "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>",
            "Call-ID: topoh-1@127.0.0.1", "CSeq: 1 INVITE", "Max-Forwards: 70",
            "Contact: <sip:alice@127.0.0.1:5070>", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"

    static func headers(_ text: String, _ name: String) -> [String] {
        text.components(separatedBy: "\r\n").filter { $0.hasPrefix(name + ": ") }.map {
            String($0.dropFirst(name.count + 2))
        }
    }

    static let mask = TopohMask(key: defaultKey)

    /// The clear text of a masked value (after `prefix`), as topoh would decode it.
    static func unmasked(_ value: Substring, after prefix: String) -> String? {
        guard value.hasPrefix(prefix) else { return nil }
        return mask.decode(Array(value.utf8), prefixLength: prefix.utf8.count).map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    @Test func aCallThroughAStatelessProxyIsMaskedDownstreamAndUnmaskedUpstream() throws {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        core.receive(Self.invite, from: Self.caller)
        let sent = core.takeSent()
        try #require(sent.count == 1)
        let invite = sent[0].text
        #expect(sent[0].firstLine == "INVITE sip:bob@127.0.0.1 SIP/2.0")
        #expect(sent[0].destination.address.description == Self.callee)
        // Call-ID, second Via, Contact and the upstream Record-Route are masked; our own
        // Record-Route and Via stay; the cookie (TH header) is gone.
        let callID = try #require(Self.headers(invite, "Call-ID").first)
        #expect(callID.hasPrefix("!!:"))
        #expect(Self.unmasked(callID[...], after: "!!:") == "topoh-1@127.0.0.1")
        let vias = Self.headers(invite, "Via")
        try #require(vias.count == 2)
        #expect(vias[0].hasPrefix("SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK"))
        let viaPrefix = "SIP/2.0/UDP 127.0.0.8;branch=z9hG4bKsr-"
        #expect(
            Self.unmasked(vias[1][...], after: viaPrefix)
                == "SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;TH=div;branch=z9hG4bK-c1;rport=5070")
        let contact = try #require(Self.headers(invite, "Contact").first)
        #expect(contact.hasPrefix("<sip:127.0.0.8;line=sr-") && contact.hasSuffix(">"))
        #expect(
            Self.unmasked(contact.dropFirst().dropLast(), after: "sip:127.0.0.8;line=sr-") == "sip:alice@127.0.0.1:5070"
        )
        let rrs = Self.headers(invite, "Record-Route")
        try #require(rrs.count == 2)
        #expect(rrs[0] == "<sip:127.0.0.1;lr;ftag=a1>")
        #expect(Self.unmasked(rrs[1].dropFirst().dropLast(), after: "sip:127.0.0.8;line=sr-") == "sip:127.0.0.3;lr")
        #expect(Self.headers(invite, "TH").isEmpty)

        // The callee answers with the bytes it got.
        var reply = ["SIP/2.0 200 OK"]
        for line in invite.components(separatedBy: "\r\n") {
            for name in ["Via", "Record-Route", "From", "Call-ID", "CSeq"] where line.hasPrefix(name + ": ") {
                reply.append(line)
            }
            if line.hasPrefix("To: ") { reply.append(line + ";tag=b1") }
        }
        reply += ["Contact: <sip:bob@127.0.0.2:5080>", "Content-Length: 0"]
        core.receive(reply.joined(separator: "\r\n") + "\r\n\r\n", from: Self.callee)
        let relayed = core.takeSent()
        try #require(relayed.count == 1)
        let ok = relayed[0].text
        #expect(relayed[0].firstLine == "SIP/2.0 200 OK")
        #expect(relayed[0].destination.address.description == Self.caller)
        #expect(
            Self.headers(ok, "Via") == ["SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;branch=z9hG4bK-c1;rport=5070"])
        #expect(Self.headers(ok, "Call-ID") == ["topoh-1@127.0.0.1"])
        #expect(Self.headers(ok, "Record-Route") == ["<sip:127.0.0.1;lr;ftag=a1>", "<sip:127.0.0.3;lr>"])
        let okContact = try #require(Self.headers(ok, "Contact").first)
        #expect(
            Self.unmasked(okContact.dropFirst().dropLast(), after: "sip:127.0.0.8;line=sr-") == "sip:bob@127.0.0.2:5080"
        )
        #expect(Self.headers(ok, "TH").isEmpty)

        // The callee hangs up: to the masked Contact, through the Record-Route it got.
        let bye =
            [
                "BYE \(contact.dropFirst().dropLast()) SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bK-b2",
                "Route: \(rrs[0])", "Route: \(rrs[1])", "From: <sip:bob@127.0.0.1>;tag=b1",
                "To: <sip:alice@127.0.0.1>;tag=a1", "Call-ID: \(callID)", "CSeq: 2 BYE", "Max-Forwards: 70",
                "Contact: <sip:bob@127.0.0.2:5080>", "Content-Length: 0",
            ].joined(separator: "\r\n") + "\r\n\r\n"
        core.receive(bye, from: Self.callee)
        let up = core.takeSent()
        try #require(up.count == 1)
        let byeUp = up[0].text
        #expect(up[0].firstLine == "BYE sip:alice@127.0.0.1:5070 SIP/2.0")
        #expect(up[0].destination.address.description == "127.0.0.3:5060")
        #expect(Self.headers(byeUp, "Route") == ["<sip:127.0.0.3;lr>"])
        // Upstream: the Call-ID goes in clear, the callee's Via and Contact are masked.
        #expect(Self.headers(byeUp, "Call-ID") == ["topoh-1@127.0.0.1"])
        let byeVias = Self.headers(byeUp, "Via")
        try #require(byeVias.count == 2)
        #expect(
            Self.unmasked(byeVias[1][...], after: viaPrefix)
                == "SIP/2.0/UDP 127.0.0.2:5080;TH=ucv;branch=z9hG4bK-b2")
        let byeContact = try #require(Self.headers(byeUp, "Contact").first)
        #expect(
            Self.unmasked(byeContact.dropFirst().dropLast(), after: "sip:127.0.0.8;line=sr-")
                == "sip:bob@127.0.0.2:5080")
        #expect(Self.headers(byeUp, "TH").isEmpty)
    }
}

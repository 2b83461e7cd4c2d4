import Testing

@testable import SwiftletSIP

/// Parses one message whose header lines are given (a request line is added).
func message(_ headerLines: [String], body: String = "", firstLine: String = "INVITE sip:bob@example.com SIP/2.0")
    throws
    -> SIPMessage
{
    try SIPMessage(parsing: wire([firstLine] + headerLines + [""], body: body))
}

@Suite struct SIPHeaderTests {
    @Test func everyCompactFormIsRecognised() throws {
        let pairs: [(String, HeaderName)] = [
            ("i", .callID), ("m", .contact), ("e", .contentEncoding), ("l", .contentLength), ("c", .contentType),
            ("f", .from), ("s", .subject), ("k", .supported), ("t", .to), ("v", .via), ("o", .event),
            ("u", .allowEvents), ("r", .referTo), ("b", .referredBy), ("x", .sessionExpires), ("y", .identity),
            ("a", .acceptContact), ("j", .rejectContact), ("d", .requestDisposition), ("n", .identityInfo),
        ]
        for (short, name) in pairs {
            #expect(HeaderName(name: short) == name, "\(short)")
            #expect(HeaderName(name: short.uppercased()) == name, "\(short)")
        }
    }

    @Test func everyLongNameRoundTrips() {
        for h in HeaderName.allCases where h != .other {
            #expect(HeaderName(name: h.canonicalName) == h)
            #expect(HeaderName(name: h.canonicalName.uppercased()) == h)
        }
        #expect(HeaderName(name: "X-Custom") == .other)
    }

    /// Names inside a longer buffer (as in a message: the classifier reads whole words around
    /// them) in mixed case, and near misses: one letter off, one byte longer or shorter, a CR
    /// where a `-` belongs (a CR is a `-` with its case bit cleared).
    @Test func longNamesAreClassifiedInsideABufferAndNearMissesAreNot() {
        for h in HeaderName.allCases where h != .other {
            let name = h.canonicalName
            let mixed = String(
                name.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.uppercased()) : $0.element })
            for (prefix, text) in [("", name), ("xxxxxxxxxx", name.lowercased()), ("yy", mixed)] {
                let bytes = Array((prefix + text + ": value\r\n").utf8)
                let range = prefix.utf8.count..<prefix.utf8.count + text.utf8.count
                #expect(HeaderName.classify(bytes, range) == h, "\(prefix)|\(text)")
                if text.count > 2 {  // ("T" is To's compact form)
                    #expect(HeaderName.classify(bytes, range.lowerBound..<range.upperBound - 1) != h, "\(text) shorter")
                }
                #expect(HeaderName.classify(bytes, range.lowerBound..<range.upperBound + 1) == .other, "\(text) + :")
            }
            var changed = Array(name.lowercased().utf8)
            changed[changed.count - 1] ^= 0x01
            #expect(HeaderName.classify(changed, 0..<changed.count) != h, "\(name) last byte changed")
            if let dash = changed.firstIndex(of: UInt8(ascii: "-")) {
                var cr = Array(name.lowercased().utf8)
                cr[dash] = 13
                #expect(HeaderName.classify(cr, 0..<cr.count) == .other, "\(name) with CR for -")
            }
        }
        #expect(HeaderName(name: "Vi@") == .other)
        #expect(HeaderName(name: "Call-Id ") == .other)
    }

    @Test func fromAndToNameAddrForms() throws {
        let m = try message([
            "From: \"Bob \\\"B\\\" Smith\" <sip:bob@example.com;transport=tcp>;tag=a1;x=\"q;v\"",
            "To: Alice Liddell <sips:alice@[2001:db8::9]:5061>",
            "Contact: sip:carol@192.0.2.4;expires=60",
        ])
        let b = m.buffer
        let from = try m.from()
        #expect(from.displayNameText(b) == "Bob \"B\" Smith")
        #expect(b.string(from.uri) == "sip:bob@example.com;transport=tcp")
        #expect(from.tag(b).map(b.string) == "a1")
        #expect(from.parameter(b, "x")?.value.map(b.string) == "\"q;v\"")
        let to = try m.to()
        #expect(to.displayNameText(b) == "Alice Liddell")
        #expect(to.tag(b) == nil)
        let toURI = try URIComponents.parse(b, to.uri)
        #expect(toURI.scheme == .sips)
        #expect(b.string(toURI.host) == "[2001:db8::9]")
        #expect(toURI.port == 5061)
        let contact = try #require(try m.firstContact())
        #expect(!contact.isNameAddr)
        #expect(b.string(contact.uri) == "sip:carol@192.0.2.4")
        #expect(contact.parameter(b, "expires")?.value.map(b.string) == "60")
    }

    @Test func multiValueContactRouteAndWildcard() throws {
        let m = try message([
            "Contact: <sip:a@h1>;q=0.7;expires=3600, \"X, Y\" <sip:b@h2>, sip:c@h3",
            "m: <sip:d@h4>",
            "Route: <sip:p1;lr>,<sip:p2;lr>",
            "Route: <sip:p3;lr>",
            "Record-Route: <sip:rr1;lr>",
        ])
        let b = m.buffer
        let contacts = try m.contacts()
        #expect(contacts.map { b.string($0.uri) } == ["sip:a@h1", "sip:b@h2", "sip:c@h3", "sip:d@h4"])
        #expect(contacts[0].parameter(b, "q")?.value.map(b.string) == "0.7")
        #expect(contacts[1].displayNameText(b) == "X, Y")
        #expect(try m.nameAddrs(.route).map { b.string($0.uri) } == ["sip:p1;lr", "sip:p2;lr", "sip:p3;lr"])
        #expect(try m.nameAddrs(.recordRoute).count == 1)

        let star = try message(
            ["Contact: *", "Expires: 0", "CSeq: 2 REGISTER"], firstLine: "REGISTER sip:example.com SIP/2.0")
        #expect(try star.contacts().first?.isWildcard == true)
    }

    @Test func malformedNameAddrsAreRejected() throws {
        for value in ["\"unterminated <sip:a@b>", "<sip:a@b", "Name sip:a@b>", "", "<>"] {
            let m = try message(["From: \(value)"])
            #expect(throws: SIPParseError.self, "\(value)") { try m.from() }
        }
    }

    @Test func viaParametersAndMultipleValues() throws {
        let m = try message([
            "Via: SIP/2.0/TCP proxy.example.com:5061;branch=z9hG4bK776;received=192.0.2.9;rport=5070;maddr=224.0.0.1;ttl=16;alias;i=7",
            "v: SIP/2.0/UDP a;branch=z9hG4bK1 , SIP/2.0/WS b.invalid;branch=z9hG4bK2",
        ])
        let b = m.buffer
        let top = try m.topVia()
        #expect(b.string(top.transport) == "TCP")
        #expect(top.port == 5061)
        #expect(top.hasRFC3261Branch(b))
        #expect(top.received?.value.map(b.string) == "192.0.2.9")
        #expect(top.rport?.value.map(b.string) == "5070")
        #expect(top.maddr?.value.map(b.string) == "224.0.0.1")
        #expect(top.ttl?.value.map(b.string) == "16")
        #expect(top.alias != nil && top.alias?.value == nil)
        #expect(top.i?.value.map(b.string) == "7")
        #expect(top.parameters(b).count == 7)
        let all = try m.vias()
        #expect(all.map { b.string($0.host) } == ["proxy.example.com", "a", "b.invalid"])
        #expect(all.map { b.string($0.transport) } == ["TCP", "UDP", "WS"])
    }

    @Test func cseqMaxForwardsExpiresContentLength() throws {
        let m = try message(["CSeq: 0009 INVITE", "Max-Forwards: 070", "Expires: 3600", "Content-Length: 0"])
        let cseq = try m.cseq()
        #expect(cseq.number == 9)
        #expect(cseq.method == .invite)
        #expect(try m.maxForwards() == 70)
        #expect(try m.expires() == 3600)
        #expect(try m.contentLength() == 0)
        for bad in ["CSeq: INVITE", "CSeq: 1", "CSeq: 99999999999 INVITE", "CSeq: 1 IN VITE x"] {
            let b = try message([bad])
            #expect(throws: SIPParseError.self, "\(bad)") { try b.cseq() }
            #expect(b.knownCSeqMethod == nil, "\(bad)")
        }
        // What the receive path counts replies by: a known method of a CSeq that parses.
        #expect(m.knownCSeqMethod == .invite)
        #expect(try message(["CSeq: 2 FOO"]).knownCSeqMethod == nil)
        #expect(try message(["CSeq: 3 BYE", "CSeq: 4 CANCEL"]).knownCSeqMethod == .bye)
        #expect(try message(["Max-Forwards: 70"]).knownCSeqMethod == nil)
        #expect(throws: SIPParseError.self) { try message(["Max-Forwards: 256"]).maxForwards() }
        #expect(throws: SIPParseError.self) { try message(["Expires: -1"]).expires() }
    }

    @Test func listsPrivacyEventSessionTimersAndReliability() throws {
        let m = try message([
            "Supported: timer, 100rel", "k: path", "Require: 100rel", "Allow: INVITE,ACK, BYE", "Privacy: id; header",
            "Event: presence;id=12", "Session-Expires: 1800;refresher=uac", "Min-SE: 90", "RSeq: 988789",
            "RAck: 776656 1 INVITE", "Proxy-Require: foo",
        ])
        let b = m.buffer
        #expect(m.tokens(.supported).map(b.string) == ["timer", "100rel", "path"])
        #expect(m.tokens(.allow).map(b.string) == ["INVITE", "ACK", "BYE"])
        #expect(m.privacy().map(b.string) == ["id", "header"])
        let event = try #require(try m.tokenWithParameters(.event))
        #expect(b.string(event.token) == "presence")
        #expect(HeaderScanner.find(b, event.parameters, "id")?.value.map(b.string) == "12")
        let se = try #require(try m.tokenWithParameters(.sessionExpires))
        #expect(b.string(se.token) == "1800")
        #expect(HeaderScanner.find(b, se.parameters, "refresher")?.value.map(b.string) == "uac")
        #expect(try m.rseq() == 988789)
        let rack = try #require(try m.rack())
        #expect(rack.responseNumber == 776656 && rack.cseqNumber == 1 && b.string(rack.method) == "INVITE")
    }

    @Test func digestCredentialsAndChallenges() throws {
        let m = try message([
            "Authorization: Digest username=\"alice\", realm=\"atlanta.com\",\r\n nonce=\"84a4cc6f\", uri=\"sip:bob@biloxi.com\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", opaque=\"5ccc\"",
            "WWW-Authenticate: Digest realm=\"atlanta.com\", domain=\"sip:ss1.carrier.com\", qop=\"auth\", nonce=\"f84f1cec\", opaque=\"\", stale=FALSE, algorithm=MD5",
        ])
        let b = m.buffer
        let cred = try #require(try m.digest(.authorization))
        #expect(cred.isDigest(b))
        #expect(cred.string(b, "username") == "alice")
        #expect(cred.string(b, "uri") == "sip:bob@biloxi.com")
        #expect(cred.string(b, "nc") == "00000001")
        #expect(cred.string(b, "response") == "6629fae49393a05397450978507c4ef1")
        let challenge = try #require(try m.digest(.wwwAuthenticate))
        #expect(challenge.string(b, "stale") == "FALSE")
        #expect(challenge.string(b, "opaque") == "")
        #expect(throws: SIPParseError.self) {
            try message(["Authorization: Digest username=\"x"]).digest(.authorization)
        }
    }

    @Test func identityAndPAssertedIdentity() throws {
        let m = try message([
            "Identity: \"ZYNBbHC00VMZr2kZt6VmCvPonWJMGvQTBDqghoWeLxJfzB2a1pxAr3VgrB0SsSAaifsRdiOPoQZYOy2wrVghuhcsMbHWUSFxI6p6q5TOQXHMmz6uEo3svJsSH49thyGnFVcnyaZ++yRlBYYQTLqWzJ+KVhPKbfU/pryhVn9Yc6U=\"",
            "P-Asserted-Identity: \"Cullen Jennings\" <sip:fluffy@cisco.com>, <tel:+14085264000>",
            "Diversion: <sip:+15551234@example.com>;reason=unconditional;counter=1",
        ])
        let b = m.buffer
        let id = try #require(try m.identity())
        #expect(b.string(id.signature).hasPrefix("ZYNBbHC00VMZr2kZ"))
        let pai = try m.nameAddrs(.pAssertedIdentity)
        #expect(pai.map { b.string($0.uri) } == ["sip:fluffy@cisco.com", "tel:+14085264000"])
        let tel = try URIComponents.parse(b, pai[1].uri)
        #expect(tel.scheme == .tel)
        #expect(tel.user.map(b.string) == "+14085264000")
        #expect(try m.nameAddrs(.diversion).first?.parameter(b, "reason")?.value.map(b.string) == "unconditional")
    }
}

@Suite struct URITests {
    func parse(_ s: String) throws -> (URIComponents, [UInt8]) {
        let b = Array(s.utf8)
        return (try URIComponents.parse(b, 0..<b.count), b)
    }

    @Test func sipURIParts() throws {
        let (u, b) = try parse("sip:alice:pw@atlanta.com:5080;transport=tcp;lr?subject=project%20x&priority=urgent")
        #expect(u.scheme == .sip)
        #expect(u.user.map(b.string) == "alice")
        #expect(u.password.map(b.string) == "pw")
        #expect(b.string(u.host) == "atlanta.com")
        #expect(u.port == 5080)
        #expect(u.parameters(b).map { b.string($0.name) } == ["transport", "lr"])
        #expect(u.headers.map(b.string) == "subject=project%20x&priority=urgent")
    }

    @Test func userPartMayHoldSemicolonsQuestionMarksAndEscapes() throws {
        let (u, b) = try parse("sip:user;par=u%40example.net@example.com")
        #expect(u.user.map(b.string) == "user;par=u%40example.net")
        #expect(b.string(u.host) == "example.com")
        #expect(
            URIEscaping.unescape(b, u.user!).map { String(decoding: $0, as: UTF8.self) } == "user;par=u@example.net")
        let (v, c) = try parse("sip:a?b,c@example.com;x")
        #expect(v.user.map(c.string) == "a?b,c")
        #expect(v.parameters(c).count == 1)
    }

    @Test func otherSchemesAndErrors() throws {
        let (u, b) = try parse("urn:service:sos")
        #expect(u.scheme == .other)
        #expect(u.opaque.map(b.string) == "service:sos")
        for bad in ["sip:", "sip:@host", "sip:host:99999", "sip:ho st", "sip:[::1", "nocolon", "1sip:host", "sip:a@b;"]
        {
            #expect(throws: SIPParseError.self, "\(bad)") { try parse(bad) }
        }
        #expect(URIEscaping.unescape("a%2") == nil)
        #expect(URIEscaping.unescape("%41%62c") == "Abc")
    }

    @Test func valueFormRoundTrips() throws {
        let text = "sips:+1-555@[2001:db8::1]:5061;user=phone;lr?h=v"
        let u = try #require(SIPURI(text))
        #expect(u.text == text)
        #expect(u.parameter("user") == "phone")
        #expect(u.parameter("LR") == "")
        #expect(SIPURI("tel:+123;phone-context=example.com")?.user == "+123")
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// registrar and usrloc on the embedded core: REGISTER exchanges, expiry on the virtual
/// clock, lookups into calls through tm, the `ul.*` RPCs and `$ulc`.
@Suite struct RegistrarModuleTests {
    static let phone = "127.0.0.1:5070"

    static func config(_ params: String = "", register: String = "save(\"location\")") -> String {
        """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "textops.so"
        loadmodule "corex.so"
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        modparam("usrloc", "timer_interval", 10)
        \(params)
        request_route {
            if (is_method("REGISTER")) {
                \(register);
                exit;
            }
            if ($rU == "forked") {
                append_branch("sip:bob@127.0.0.1");
                $ru = "sip:alice@127.0.0.1";
                if (lookup_branches("location")) { sl_send_reply("200", "ru=$ru br=$bR"); }
                else { sl_send_reply("404", "rc=$rc"); }
                exit;
            }
            if ($rU == "fetch") {
                if (reg_fetch_contacts("location", "sip:alice@127.0.0.1", "c")) {
                    sl_send_reply("200", "n=$ulc(c=>count) a=$ulc(c=>addr) a1=$(ulc(c=>addr)[1]) q=$ulc(c=>q)");
                    reg_free_contacts("c");
                } else {
                    sl_send_reply("404", "none");
                }
                exit;
            }
            if (!lookup("location")) {
                $var(rc) = $rc;
                sl_send_reply("404", "Not Found $var(rc)");
                exit;
            }
            if (is_method("OPTIONS")) {
                sl_send_reply("200", "ru=$ru du=$du branches=$bR");
                exit;
            }
            t_relay();
        }

        """
    }

    func core(_ params: String = "", register: String = "save(\"location\")") throws -> EmbeddedCore {
        try EmbeddedCore(config: Self.config(params, register: register), modulePath: productsDirectory)
    }

    static func register(
        user: String = "alice", contacts: [String], expires: Int? = 600, cseq: Int = 1, callID: String = "reg-1",
        extra: [String] = []
    ) -> String {
        var lines = [
            "REGISTER sip:127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-r\(cseq)\(callID);rport",
            "From: <sip:\(user)@127.0.0.1>;tag=f1", "To: <sip:\(user)@127.0.0.1>", "Call-ID: \(callID)",
            "CSeq: \(cseq) REGISTER", "Max-Forwards: 70",
        ]
        lines += contacts.map { "Contact: \($0)" }
        if let expires { lines.append("Expires: \(expires)") }
        lines += extra + ["User-Agent: phone/1.0", "Content-Length: 0"]
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    static func request(_ method: String = "INVITE", user: String, callID: String = "call-1") -> String {
        [
            "\(method) sip:\(user)@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-\(callID);rport",
            "From: <sip:carol@127.0.0.1>;tag=c1", "To: <sip:\(user)@127.0.0.1>", "Call-ID: \(callID)",
            "CSeq: 1 \(method)", "Max-Forwards: 70", "Contact: <sip:carol@127.0.0.1:5090>", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// Sends a request and returns the one reply it got.
    func exchange(_ core: EmbeddedCore, _ text: String, from: String = phone) -> ReceivedSIP {
        core.receive(text, from: from)
        let sent = core.takeSent()
        #expect(sent.count == 1, "\(sent.map(\.text))")
        return ReceivedSIP(text: sent.first?.text ?? "", sourcePort: 5060)
    }

    func rpc(_ core: EmbeddedCore, _ method: String, _ params: [RPCValue]) -> Result<RPCValue, RPCError> {
        core.context.rpcs.call(RPCRequest(method: method, params: params))
    }

    @Test func aRegisterIsAnsweredWithItsContactsAndTheirExpires() throws {
        let core = try core()
        let reply = exchange(
            core, Self.register(contacts: ["<sip:alice@127.0.0.1:5070>;q=0.5, <sip:alice@10.0.0.1:5060>;expires=120"]))
        #expect(reply.firstLine == "SIP/2.0 200 OK")
        #expect(
            reply.headers("Contact") == [
                "<sip:alice@127.0.0.1:5070>;q=0.5;expires=600, <sip:alice@10.0.0.1:5060>;expires=120"
            ])
        #expect(reply.headers("To").first?.hasPrefix("<sip:alice@127.0.0.1>;tag=") == true)
        // ul.lookup lists both, with Kamailio's fields.
        guard case .success(let found) = rpc(core, "ul.lookup", [.string("location"), .string("alice")]) else {
            Issue.record("ul.lookup failed")
            return
        }
        guard case .array(let contacts)? = found["Contacts"] else {
            Issue.record("no contacts in \(found)")
            return
        }
        #expect(contacts.count == 2)
        let first = contacts[0]["Contact"]
        #expect(first?["Address"] == .string("sip:alice@127.0.0.1:5070"))
        #expect(first?["Q"] == .double(0.5))
        #expect(first?["Call-ID"] == .string("reg-1"))
        #expect(first?["User-Agent"] == .string("phone/1.0"))
        #expect(first?["Socket"] == .string("udp:127.0.0.1:5060"))
        #expect(first?["Expires"] == .int(600))
        // The AoR hash is Kamailio's core_hash ("alice" in Kamailio 5.6.3's ul.dump).
        guard case .success(let dump) = rpc(core, "ul.dump", []) else { return }
        #expect("\(dump)".contains("1834153949"))
    }

    @Test func aRefreshKeepsTheBindingAndItsRuid() throws {
        let core = try core()
        _ = exchange(core, Self.register(contacts: ["<sip:alice@127.0.0.1:5070>"]))
        let ruid1 = ruids(core)
        let reply = exchange(core, Self.register(contacts: ["<sip:alice@127.0.0.1:5070>"], expires: 300, cseq: 2))
        #expect(reply.headers("Contact") == ["<sip:alice@127.0.0.1:5070>;expires=300"])
        #expect(ruids(core) == ruid1)
        // The same CSeq again within cseq_delay is a retransmission: 200, nothing changes.
        let again = exchange(core, Self.register(contacts: ["<sip:alice@127.0.0.1:5070>"], expires: 900, cseq: 2))
        #expect(again.headers("Contact") == ["<sip:alice@127.0.0.1:5070>;expires=300"])
        // An older CSeq is refused with the bindings listed.
        let old = exchange(core, Self.register(contacts: ["<sip:alice@127.0.0.1:5070>"], cseq: 1))
        #expect(old.firstLine == "SIP/2.0 400 Bad Request")
        #expect(old.headers("P-Registrar-Error") == ["Invalid CSeq number"])
        #expect(old.headers("Contact") == ["<sip:alice@127.0.0.1:5070>;expires=300"])
    }

    func ruids(_ core: EmbeddedCore) -> [String] {
        guard case .success(let v) = rpc(core, "ul.lookup", [.string("location"), .string("alice")]),
            case .array(let cs)? = v["Contacts"]
        else { return [] }
        return cs.compactMap { if case .string(let s)? = $0["Contact"]?["Ruid"] { s } else { nil } }
    }

    @Test func theTimerRemovesExpiredBindings() throws {
        let core = try core()
        _ = exchange(core, Self.register(contacts: ["<sip:alice@127.0.0.1:5070>"], expires: 60))
        core.advance(milliseconds: 50_000)
        #expect(
            exchange(core, Self.request("OPTIONS", user: "alice")).firstLine.hasPrefix(
                "SIP/2.0 200 ru=sip:alice@127.0.0.1:5070"))
        core.advance(milliseconds: 20_000)
        // Past its expiry, and the 10 s timer ran: the AoR is gone.
        #expect(
            exchange(core, Self.request("OPTIONS", user: "alice", callID: "c1")).firstLine == "SIP/2.0 404 Not Found -1"
        )
        #expect(
            rpc(core, "ul.lookup", [.string("location"), .string("alice")])
                == .failure(RPCError(500, "AOR not found in location table")))
    }

    @Test func starWithExpiresZeroRemovesEveryBinding() throws {
        let core = try core()
        _ = exchange(core, Self.register(contacts: ["<sip:alice@127.0.0.1:5070>", "<sip:alice@10.0.0.1>"]))
        // * needs Expires: 0.
        let bad = exchange(core, Self.register(contacts: ["*"], expires: nil, cseq: 2))
        #expect(bad.firstLine == "SIP/2.0 400 Bad Request")
        #expect(bad.headers("P-Registrar-Error") == ["* used in contact and expires is not zero"])
        let reply = exchange(core, Self.register(contacts: ["*"], expires: 0, cseq: 3))
        #expect(reply.firstLine == "SIP/2.0 200 OK")
        #expect(reply.headers("Contact") == [])
        #expect(exchange(core, Self.request(user: "alice")).firstLine == "SIP/2.0 404 Not Found -1")
    }

    @Test func expiresZeroOnOneContactRemovesOnlyThatOne() throws {
        let core = try core()
        _ = exchange(core, Self.register(contacts: ["<sip:alice@127.0.0.1:5070>", "<sip:alice@10.0.0.1>"]))
        let reply = exchange(core, Self.register(contacts: ["<sip:alice@10.0.0.1>;expires=0"], cseq: 2))
        #expect(reply.headers("Contact") == ["<sip:alice@127.0.0.1:5070>;expires=600"])
        // A REGISTER without Contact lists the bindings.
        let query = exchange(core, Self.register(contacts: [], expires: nil, cseq: 3))
        #expect(query.headers("Contact") == ["<sip:alice@127.0.0.1:5070>;expires=600"])
    }

    @Test func malformedContactsGet400() throws {
        let core = try core()
        let q = exchange(core, Self.register(contacts: ["<sip:alice@127.0.0.1:5070>;q=2"]))
        #expect(q.firstLine == "SIP/2.0 400 Bad Request")
        #expect(q.headers("P-Registrar-Error") == ["Invalid q param in contact"])
        let mixed = exchange(core, Self.register(contacts: ["*", "<sip:alice@10.0.0.1>"], expires: 0, cseq: 2))
        #expect(mixed.headers("P-Registrar-Error") == ["* used in contact and more than 1 contact"])
        let expires = exchange(
            core, Self.register(contacts: ["<sip:a@10.0.0.1>"], expires: nil, extra: ["Expires: "]))
        #expect(expires.headers("P-Registrar-Error") == ["Expires parse error"])
        #expect(exchange(core, Self.request(user: "alice")).firstLine == "SIP/2.0 404 Not Found -1")
    }

    @Test func expiresAreBoundedByMinAndMax() throws {
        let core = try core("modparam(\"registrar\", \"max_expires\", 1800)")
        let reply = exchange(
            core, Self.register(contacts: ["<sip:alice@10.0.0.1>;expires=10", "<sip:alice@10.0.0.2>"], expires: 7200))
        #expect(reply.headers("Contact") == ["<sip:alice@10.0.0.1>;expires=60, <sip:alice@10.0.0.2>;expires=1800"])
    }

    @Test func minExpiresMode1Answers423WithMinExpires() throws {
        let core = try core("modparam(\"registrar\", \"min_expires_mode\", 1)")
        let reply = exchange(core, Self.register(contacts: ["<sip:alice@10.0.0.1>"], expires: 10))
        #expect(reply.firstLine == "SIP/2.0 423 Interval Too Brief")
        #expect(reply.headers("Min-Expires") == ["60"])
        #expect(reply.headers("P-Registrar-Error") == ["Interval too brief"])
    }

    @Test func maxContactsAnswers503() throws {
        let core = try core(
            "modparam(\"registrar\", \"max_contacts\", 1)\nmodparam(\"registrar\", \"retry_after\", 30)")
        _ = exchange(core, Self.register(contacts: ["<sip:alice@10.0.0.1>"]))
        let reply = exchange(core, Self.register(contacts: ["<sip:alice@10.0.0.2>"], cseq: 2))
        #expect(reply.firstLine == "SIP/2.0 503 Service Unavailable")
        #expect(reply.headers("P-Registrar-Error") == ["Too many registered contacts"])
        #expect(reply.headers("Retry-After") == ["30"])
        #expect(reply.headers("Contact") == ["<sip:alice@10.0.0.1>;expires=600"])
    }

    @Test func lookupRewritesTheRequestURIAndAppendsBranchesByQ() throws {
        let core = try core()
        _ = exchange(
            core,
            Self.register(
                user: "show", contacts: ["<sip:s@10.0.0.1>;q=0.1", "<sip:s@10.0.0.2>;q=0.9", "<sip:s@10.0.0.3>"]))
        let reply = exchange(core, Self.request("OPTIONS", user: "show"))
        #expect(
            reply.firstLine == "SIP/2.0 200 ru=sip:s@10.0.0.2 du=<null> branches=<sip:s@10.0.0.1>;q=0.1, sip:s@10.0.0.3"
        )
    }

    @Test func aCallToARegisteredUserGoesToItsContactThroughTM() throws {
        let core = try core()
        _ = exchange(core, Self.register(user: "bob", contacts: ["<sip:bob@127.0.0.2:5080;transport=udp>"]))
        core.receive(Self.request(user: "bob"), from: "127.0.0.1:5090")
        let sent = core.takeSent()
        #expect(
            sent.map(\.firstLine) == [
                "SIP/2.0 100 trying -- your call is important to us",
                "INVITE sip:bob@127.0.0.2:5080;transport=udp SIP/2.0",
            ])
        #expect(sent.last.map { "\($0.destination.address)" } == "127.0.0.2:5080")
        // An unknown user: lookup() returns -1.
        #expect(exchange(core, Self.request(user: "nobody")).firstLine == "SIP/2.0 404 Not Found -1")
    }

    @Test func methodFilteringGivesMinus2() throws {
        let core = try core("modparam(\"registrar\", \"method_filtering\", 1)")
        _ = exchange(core, Self.register(user: "bob", contacts: ["<sip:bob@127.0.0.2:5080>;methods=\"INVITE,BYE\""]))
        #expect(exchange(core, Self.request("MESSAGE", user: "bob")).firstLine == "SIP/2.0 404 Not Found -2")
    }

    @Test func receivedAndPathSetTheDestination() throws {
        let core = try core(
            """
            modparam("registrar", "use_path", 1)
            modparam("registrar", "received_avp", "$avp(RECEIVED)")
            """,
            register: "save(\"location\")")
        let reply = exchange(
            core,
            Self.register(
                user: "show", contacts: ["<sip:s@10.0.0.1>"],
                extra: ["Path: <sip:edge@127.0.0.9:5062;lr>", "Supported: path"]))
        #expect(reply.headers("Path") == ["<sip:edge@127.0.0.9:5062;lr>"])
        #expect(
            exchange(core, Self.request("OPTIONS", user: "show")).firstLine
                == "SIP/2.0 200 ru=sip:s@10.0.0.1 du=sip:edge@127.0.0.9:5062;lr branches=<null>")
        // path_mode 2 (strict) without Supported: path: 420, the binding is saved anyway.
        let strict = exchange(
            core,
            Self.register(
                user: "strict", contacts: ["<sip:t@10.0.0.1>"], extra: ["Path: <sip:edge@127.0.0.9:5062;lr>"]))
        #expect(strict.firstLine == "SIP/2.0 420 Bad Extension")
        #expect(strict.headers("Unsupported") == ["path"])
    }

    @Test func ulcReadsTheFetchedContacts() throws {
        let core = try core()
        _ = exchange(core, Self.register(contacts: ["<sip:alice@10.0.0.1>;q=0.7", "<sip:alice@10.0.0.2>;q=0.2"]))
        #expect(
            exchange(core, Self.request("OPTIONS", user: "fetch")).firstLine
                == "SIP/2.0 200 n=2 a=sip:alice@10.0.0.1 a1=sip:alice@10.0.0.2 q=700")
    }

    @Test func rpcsAddRemoveAndDump() throws {
        let core = try core()
        let add = rpc(
            core, "ul.add",
            [
                .string("location"), .string("dave@example.com"), .string("sip:dave@10.0.0.5"), .int(0), .double(0.8),
                .string("0"), .int(0), .int(0), .int(0),
            ])
        #expect(add == .success(.null))
        let reply = exchange(core, Self.register(user: "dave", contacts: [], expires: nil))
        #expect(reply.headers("Contact") == ["<sip:dave@10.0.0.5>;q=0.8;expires=4294967295"])
        #expect(
            rpc(core, "ul.rm_contact", [.string("location"), .string("dave"), .string("sip:nope")])
                == .failure(RPCError(404, "Contact not found")))
        #expect(
            rpc(core, "ul.rm_contact", [.string("location"), .string("dave"), .string("sip:dave@10.0.0.5")])
                == .success(.null))
        #expect(
            rpc(core, "ul.lookup", [.string("location"), .string("dave")])
                == .failure(RPCError(500, "AOR not found in location table")))
        #expect(
            rpc(core, "ul.lookup", [.string("nowhere"), .string("dave")])
                == .failure(RPCError(500, "Domain table not found")))
        _ = exchange(core, Self.register(contacts: ["<sip:alice@10.0.0.1>"]))
        #expect(
            rpc(core, "ul.dump", [.string("brief")])
                == .success(
                    .object([
                        (
                            "Domains",
                            .array([
                                .object([
                                    (
                                        "Domain",
                                        .object([
                                            ("Domain", .string("location")), ("Size", .int(1024)),
                                            ("AoRs", .array([.object([("AoR", .string("alice"))])])),
                                            ("Stats", .object([("Records", .int(1)), ("Max-Slots", .int(1))])),
                                        ])
                                    )
                                ])
                            ])
                        )
                    ])))
        #expect(rpc(core, "ul.rm", [.string("location"), .string("alice")]) == .success(.null))
        #expect(exchange(core, Self.request(user: "alice")).firstLine == "SIP/2.0 404 Not Found -1")
    }

    @Test func unregisterAndRegistered() throws {
        let core = try core()
        _ = core
        let cfg = Self.config().replacingOccurrences(
            of: "if ($rU == \"fetch\") {",
            with: """
                if ($rU == "isreg") { if (registered("location", "sip:alice@127.0.0.1")) { sl_send_reply("200", "yes"); } else { sl_send_reply("404", "no"); } exit; }
                if ($rU == "unreg") { unregister("location", "sip:alice@127.0.0.1"); sl_send_reply("200", "rc=$rc"); exit; }
                if ($rU == "fetch") {
                """)
        let c2 = try EmbeddedCore(config: cfg, modulePath: productsDirectory)
        _ = exchange(c2, Self.register(contacts: ["<sip:alice@10.0.0.1>"]))
        #expect(exchange(c2, Self.request("OPTIONS", user: "isreg")).firstLine == "SIP/2.0 200 yes")
        #expect(exchange(c2, Self.request("OPTIONS", user: "unreg")).firstLine == "SIP/2.0 200 rc=1")
        #expect(exchange(c2, Self.request("OPTIONS", user: "isreg", callID: "x2")).firstLine == "SIP/2.0 404 no")
    }

    @Test func flagsReplaceAndDeferTheReply() throws {
        let replace = try core(register: "save(\"location\", \"0x04\")")
        _ = exchange(replace, Self.register(contacts: ["<sip:alice@10.0.0.1>", "<sip:alice@10.0.0.2>"]))
        let one = exchange(replace, Self.register(contacts: ["<sip:alice@10.0.0.3>"], cseq: 2))
        #expect(one.headers("Contact") == ["<sip:alice@10.0.0.3>;expires=600"])
        let deferred = try core(
            register: "save(\"location\", \"0x12\"); append_to_reply(\"X-After: 1\\r\\n\"); reg_send_reply()")
        let reply = exchange(deferred, Self.register(contacts: ["<sip:alice@10.0.0.1>"]))
        #expect(reply.firstLine == "SIP/2.0 200 OK")
        #expect(
            reply.headerLines.filter { $0.hasPrefix("Contact") || $0.hasPrefix("X-") } == [
                "Contact: <sip:alice@10.0.0.1>;expires=600", "X-After: 1",
            ])
    }

    @Test func lookupBranchesLooksUpEveryCleanBranch() throws {
        let core = try core()
        _ = exchange(core, Self.register(contacts: ["<sip:alice@10.0.0.1>"]))
        _ = exchange(
            core,
            Self.register(
                user: "bob", contacts: ["<sip:bob@10.0.0.2>;q=0.9", "<sip:bob@10.0.0.3>;q=0.1"], callID: "reg-b"))
        #expect(
            exchange(core, Self.request("OPTIONS", user: "forked")).firstLine
                == "SIP/2.0 200 ru=sip:alice@10.0.0.1 br=<sip:bob@10.0.0.2>;q=0.9, <sip:bob@10.0.0.3>;q=0.1")
    }
}

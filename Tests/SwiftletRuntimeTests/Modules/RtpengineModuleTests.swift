import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// rtpengine against Debian's real rtpengine daemon (user-space forwarding on loopback): a
/// call's SDP rewritten both ways and deleted with the BYE; a dead or silent engine makes
/// the call fail at once (or after `rtpengine_tout_ms` × `rtpengine_retr`), and is disabled.
@Suite(.serialized) struct RtpengineModuleTests {
    static let installed = rtpengineDaemonPath != nil

    static func config(port: Int, extra: String = "") -> String {
        """
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "rtpengine.so"
        modparam("rtpengine", "rtpengine_sock", "udp:127.0.0.1:\(port)")
        modparam("rtpengine", "rtpengine_tout_ms", 400)
        modparam("rtpengine", "rtpengine_retr", 2)
        \(extra)
        request_route {
            if ($rm == "INVITE" || $rm == "BYE" || $rm == "ACK") {
                if (!rtpengine_manage("replace-origin replace-session-connection")) {
                    sl_send_reply("503", "Media relay unavailable");
                    exit;
                }
            }
            if ($rm == "OPTIONS") { sl_send_reply("200", "$rtpstat"); exit; }
            forward("127.0.0.1", 5090);
        }
        onreply_route {
            if (status =~ "^2") { rtpengine_manage("replace-origin replace-session-connection"); }
        }
        """
    }

    static func sdp(_ address: String, port: Int) -> String {
        [
            "v=0", "o=- 1 1 IN IP4 \(address)", "s=-", "c=IN IP4 \(address)", "t=0 0", "m=audio \(port) RTP/AVP 0",
        ].joined(separator: "\r\n") + "\r\n"
    }

    static func invite(callID: String, sdp: String? = Self.sdp("10.0.0.5", port: 4000)) -> String {
        var lines = [
            "INVITE sip:bob@127.0.0.1:5090 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-\(callID);rport",
            "From: <sip:alice@example.com>;tag=a1", "To: <sip:bob@example.com>", "Call-ID: \(callID)",
            "CSeq: 1 INVITE", "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:5070>",
        ]
        if let sdp {
            lines += ["Content-Type: application/sdp", "Content-Length: \(sdp.utf8.count)"]
            return lines.joined(separator: "\r\n") + "\r\n\r\n" + sdp
        }
        return (lines + ["Content-Length: 0"]).joined(separator: "\r\n") + "\r\n\r\n"
    }

    static func ok(to invite: ReceivedSIP, callID: String) -> String {
        let sdp = Self.sdp("10.0.0.6", port: 5000)
        return
            ([
                "SIP/2.0 200 OK"
            ] + invite.headers("Via").map { "Via: \($0)" } + [
                "From: <sip:alice@example.com>;tag=a1", "To: <sip:bob@example.com>;tag=b1", "Call-ID: \(callID)",
                "CSeq: 1 INVITE", "Contact: <sip:bob@127.0.0.1:5090>", "Content-Type: application/sdp",
                "Content-Length: \(sdp.utf8.count)",
            ]).joined(separator: "\r\n") + "\r\n\r\n" + sdp
    }

    static func bye(callID: String) -> String {
        [
            "BYE sip:bob@127.0.0.1:5090 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-bye-\(callID);rport",
            "From: <sip:alice@example.com>;tag=a1", "To: <sip:bob@example.com>;tag=b1", "Call-ID: \(callID)",
            "CSeq: 2 BYE", "Max-Forwards: 70", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    func body(_ text: String) -> String { text.components(separatedBy: "\r\n\r\n").dropFirst().joined() }

    func mediaPort(_ sdp: String) -> Int? {
        sdp.components(separatedBy: "\r\n").first { $0.hasPrefix("m=audio ") }.flatMap {
            Int($0.split(separator: " ")[1])
        }
    }

    @Test(.enabled(if: installed, "rtpengine-daemon is not installed (apt-get install rtpengine-daemon)"))
    func aCallsMediaGoesThroughRtpengineAndTheByeDeletesIt() throws {
        let daemon = try RtpengineTestDaemon()
        defer { daemon.stop() }
        let core = try EmbeddedCore(config: Self.config(port: daemon.port), modulePath: productsDirectory)
        let callID = "rtpe-\(UUID().uuidString)"

        core.receive(Self.invite(callID: callID), from: "127.0.0.1:5070")
        let sent = core.takeSent()
        #expect(sent.map(\.firstLine) == ["INVITE sip:bob@127.0.0.1:5090 SIP/2.0"])
        let invite = ReceivedSIP(text: sent.first?.text ?? "", sourcePort: 5060)
        let offer = body(invite.text)
        #expect(offer.contains("c=IN IP4 127.0.0.1\r\n"), "\(offer)")
        #expect(offer.contains("o=- 1 1 IN IP4 127.0.0.1\r\n"))
        #expect(!offer.contains("10.0.0.5"))
        let offerPort = try #require(mediaPort(offer))
        #expect(offerPort != 4000)
        #expect(invite.headers("Content-Length") == ["\(offer.utf8.count)"])

        core.receive(Self.ok(to: invite, callID: callID), from: "127.0.0.1:5090")
        let replies = core.takeSent()
        #expect(replies.map(\.firstLine) == ["SIP/2.0 200 OK"])
        let answer = body(replies.first?.text ?? "")
        #expect(answer.contains("c=IN IP4 127.0.0.1\r\n"), "\(answer)")
        #expect(!answer.contains("10.0.0.6"))
        let answerPort = try #require(mediaPort(answer))
        #expect(answerPort != 5000 && answerPort != offerPort)

        // The engine knows the call; $rtpstat reads its totals.
        let query = "d7:call-id\(callID.utf8.count):\(callID)7:command5:querye"
        let known = try NGTestClient(port: daemon.port).command(query) ?? ""
        #expect(known.contains("6:result2:ok"), "\(known)")
        core.receive(
            Self.bye(callID: callID).replacingOccurrences(of: "BYE sip", with: "OPTIONS sip")
                .replacingOccurrences(of: "2 BYE", with: "2 OPTIONS"), from: "127.0.0.1:5070")
        #expect(
            core.takeSent().map(\.firstLine).first?.hasPrefix("SIP/2.0 200 RTP: 0 bytes, 0 packets, 0 errors; RTCP: ")
                == true)

        core.receive(Self.bye(callID: callID), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["BYE sip:bob@127.0.0.1:5090 SIP/2.0"])
        let after = try NGTestClient(port: daemon.port).command(query) ?? ""
        #expect(after.contains("5:error") && after.contains("Unknown call-id"), "\(after)")

        // The RPCs see the instance.
        let show = core.context.rpcs.call(RPCRequest(method: "rtpengine.show", params: [.string("all")]))
        let row = try show.get()
        #expect(
            row
                == .array([
                    .object([
                        ("url", .string("udp:127.0.0.1:\(daemon.port)")), ("set", .int(0)), ("index", .int(0)),
                        ("weight", .int(1)),
                        ("disabled", .int(0)), ("recheck_ticks", .int(0)),
                    ])
                ]))
        let ping = core.context.rpcs.call(RPCRequest(method: "rtpengine.ping", params: [.string("all")]))
        #expect((try? ping.get()) == .object([("url", .string("all")), ("status", .string("success"))]))
        let url = "udp:127.0.0.1:\(daemon.port)"
        let enable = core.context.rpcs.call(RPCRequest(method: "rtpengine.enable", params: [.string(url), .int(1)]))
        #expect((try? enable.get()) == .object([("url", .string(url)), ("status", .string("enable"))]))
    }

    @Test(.enabled(if: installed, "rtpengine-daemon is not installed (apt-get install rtpengine-daemon)"))
    func twoSetsChainTheirEngines() throws {
        let first = try RtpengineTestDaemon()
        defer { first.stop() }
        let second = try RtpengineTestDaemon()
        defer { second.stop() }
        let cfg = """
            listen=udp:127.0.0.1:5060
            loadmodule "sl.so"
            loadmodule "pv.so"
            loadmodule "rtpengine.so"
            modparam("rtpengine", "rtpengine_sock", "1 == udp:127.0.0.1:\(first.port)")
            modparam("rtpengine", "rtpengine_sock", "2 == udp:127.0.0.1:\(second.port)")
            request_route {
                $var(s) = 2;
                if (!set_rtpengine_set("1", "$var(s)")) { sl_send_reply("500", "set"); exit; }
                if ($rm == "INVITE") { rtpengine_offer(); }
                if ($rm == "BYE") { rtpengine_delete(); }
                forward("127.0.0.1", 5090);
            }
            onreply_route {
                set_rtpengine_set("1", "2");
                rtpengine_answer();
            }
            """
        let core = try EmbeddedCore(config: cfg, modulePath: productsDirectory)
        let callID = "two-\(UUID().uuidString)"
        core.receive(Self.invite(callID: callID), from: "127.0.0.1:5070")
        let sent = core.takeSent()
        let invite = ReceivedSIP(text: sent.first?.text ?? "", sourcePort: 5060)
        // The offer went through engine 1, then engine 2, whose ports the callee sees.
        let offerPort = try #require(mediaPort(body(invite.text)))
        let secondRange = 20000 + (second.port % 400) * 100
        #expect((secondRange..<secondRange + 100).contains(offerPort), "\(offerPort)")
        let query = "d7:call-id\(callID.utf8.count):\(callID)7:command5:querye"
        #expect(try NGTestClient(port: first.port).command(query)?.contains("6:result2:ok") == true)
        #expect(try NGTestClient(port: second.port).command(query)?.contains("6:result2:ok") == true)
        // The answer goes back through engine 2, then engine 1.
        core.receive(Self.ok(to: invite, callID: callID), from: "127.0.0.1:5090")
        let answerPort = try #require(mediaPort(body(core.takeSent().first?.text ?? "")))
        let firstRange = 20000 + (first.port % 400) * 100
        #expect((firstRange..<firstRange + 100).contains(answerPort), "\(answerPort)")
        // The BYE deletes the call in both.
        core.receive(Self.bye(callID: callID), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["BYE sip:bob@127.0.0.1:5090 SIP/2.0"])
        #expect(try NGTestClient(port: first.port).command(query)?.contains("Unknown call-id") == true)
        #expect(try NGTestClient(port: second.port).command(query)?.contains("Unknown call-id") == true)
    }

    @Test func aDeadEngineFailsTheCallAtOnce() throws {
        let port = freeUDPPort()
        let core = try EmbeddedCore(config: Self.config(port: port), modulePath: productsDirectory)
        let start = Date()
        core.receive(Self.invite(callID: "dead-1"), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 503 Media relay unavailable"])
        #expect(Date().timeIntervalSince(start) < 2)
        // Disabled for rtpengine_disable_tout (60 s).
        let show = try core.context.rpcs.call(RPCRequest(method: "rtpengine.show", params: [.string("all")])).get()
        guard case .array(let rows) = show, case .object(let members)? = rows.first else {
            Issue.record("\(show)")
            return
        }
        #expect(members.first { $0.0 == "disabled" }?.1 == .int(1))
        #expect(members.first { $0.0 == "recheck_ticks" }?.1 == .int(60))
        let ping = core.context.rpcs.call(RPCRequest(method: "rtpengine.ping", params: [.string("all")]))
        #expect((try? ping.get()) == .object([("url", .string("all")), ("status", .string("fail"))]))
        // Disabled by RPC: permanent, not pinged; enabling pings it (and it is still dead).
        let url = "udp:127.0.0.1:\(port)"
        let off = core.context.rpcs.call(RPCRequest(method: "rtpengine.enable", params: [.string(url), .int(0)]))
        #expect((try? off.get()) == .object([("url", .string(url)), ("status", .string("disable"))]))
        let permanent = try core.context.rpcs.call(RPCRequest(method: "rtpengine.show", params: [.string(url)])).get()
        guard case .array(let permanentRows) = permanent, case .object(let p)? = permanentRows.first else {
            Issue.record("\(permanent)")
            return
        }
        #expect(p.first { $0.0 == "disabled" }?.1 == .string("1(permanent)"))
        #expect(p.first { $0.0 == "recheck_ticks" }?.1 == .string("N/A"))
        let on = core.context.rpcs.call(RPCRequest(method: "rtpengine.enable", params: [.string(url), .int(1)]))
        #expect((try? on.get()) == .object([("url", .string(url)), ("status", .string("fail"))]))
        #expect(
            core.context.rpcs.call(RPCRequest(method: "rtpengine.show", params: [.string("udp:127.0.0.1:1")]))
                == .failure(RPCError(404, "Instance not found")))
        #expect(
            core.context.rpcs.call(RPCRequest(method: "rtpengine.reload", params: []))
                == .failure(RPCError(500, "No Database URL")))
    }

    @Test func aSilentEngineIsAskedRetrTimesThenDisabled() throws {
        let peer = SilentUDPPeer()
        let core = try EmbeddedCore(
            config: Self.config(port: peer.port, extra: "modparam(\"rtpengine\", \"aggressive_redetection\", 0)"),
            modulePath: productsDirectory)
        let start = Date()
        core.receive(Self.invite(callID: "silent-1"), from: "127.0.0.1:5070")
        let elapsed = Date().timeIntervalSince(start)
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 503 Media relay unavailable"])
        // rtpengine_retr (2) offers, each waited for rtpengine_tout_ms (400 ms).
        let asked = peer.commands()
        #expect(asked.count == 2, "\(asked)")
        #expect(asked.allSatisfy { $0.contains("7:command5:offer") && $0.contains("7:call-id8:silent-1") })
        #expect(elapsed >= 0.75 && elapsed < 3, "\(elapsed)")
        // Now disabled: the next call does not wait for it.
        let again = Date()
        core.receive(Self.invite(callID: "silent-2"), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 503 Media relay unavailable"])
        #expect(Date().timeIntervalSince(again) < 0.3)
        #expect(peer.drain().isEmpty)
        // After rtpengine_disable_tout it is tried again (a ping first).
        core.advance(milliseconds: 61_000)
        core.receive(Self.invite(callID: "silent-3"), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 503 Media relay unavailable"])
        #expect(peer.drain().contains { $0.contains("4:ping") })
    }
}

/// The ng request as Kamailio builds it from a flags string (captured from a silent peer; the
/// expected bytes are those Kamailio 5.6.3 sent for the same INVITE and flags).
@Suite(.serialized) struct RtpengineFlagsTests {
    static func s(_ t: String) -> String { "\(t.utf8.count):\(t)" }
    static func l(_ items: [String]) -> String { "l" + items.map(s).joined() + "e" }

    @Test func anUnknownSetIsAStartUpError() {
        let errors = ScriptHarness.errors(
            ScriptHarness.prelude + """
                loadmodule "rtpengine.so"
                modparam("rtpengine", "rtpengine_sock", "1 == udp:127.0.0.1:22222")
                request_route { set_rtpengine_set("1"); set_rtpengine_set("9"); }

                """)
        #expect(errors.count == 1 && errors[0].contains("rtpp_proxy set 9 not configured"), "\(errors)")
    }

    @Test func flagsBecomeListsAndMembers() throws {
        let peer = SilentUDPPeer()
        let cfg = """
            listen=udp:127.0.0.1:5060
            loadmodule "sl.so"
            loadmodule "rtpengine.so"
            modparam("rtpengine", "rtpengine_sock", "udp:127.0.0.1:\(peer.port)")
            modparam("rtpengine", "rtpengine_tout_ms", 50)
            modparam("rtpengine", "rtpengine_retr", 1)
            modparam("rtpengine", "aggressive_redetection", 0)
            request_route {
                rtpengine_offer("trust-address replace-origin ICE=remove RTP/SAVP direction=internal codec-strip-PCMA via-branch=1 TOS=184");
                sl_send_reply("500", "rc=$rc");
            }
            """
        let core = try EmbeddedCore(config: cfg, modulePath: productsDirectory)
        let invite = RtpengineModuleTests.invite(callID: "flags-1")
        core.receive(invite, from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 500 rc=-1"])
        let request = try #require(peer.commands().first)
        let cookie = try #require(request.firstIndex(of: " "))
        #expect(request[..<cookie].split(separator: "_").count == 3)
        let sdp = RtpengineModuleTests.sdp("10.0.0.5", port: 4000)
        let expected =
            "d" + Self.s("supports") + Self.l(["load limit"]) + Self.s("sdp") + Self.s(sdp)
            + Self.s("ICE") + Self.s("remove") + Self.s("TOS") + "i184e"
            + Self.s("direction") + Self.l(["internal"]) + Self.s("flags") + Self.l(["trust-address"])
            + Self.s("replace") + Self.l(["origin"]) + Self.s("codec") + "d" + Self.s("strip") + Self.l(["PCMA"]) + "e"
            + Self.s("transport-protocol") + Self.s("RTP/SAVP") + Self.s("call-id") + Self.s("flags-1")
            + Self.s("via-branch") + Self.s("z9hG4bK-flags-1") + Self.s("received-from") + Self.l(["IP4", "127.0.0.1"])
            + Self.s("from-tag") + Self.s("a1") + Self.s("command") + Self.s("offer") + "e"
        #expect(String(request[request.index(after: cookie)...]) == expected)
    }
}

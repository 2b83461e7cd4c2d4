import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// The dialog module on the embedded core: the state machine driven by tm's callbacks and
/// rr's `did` parameter, profiles, variables, event routes, timeouts with BYEs, RPCs and
/// statistics. Serialized: the statistics are process-wide counters.
@Suite(.serialized) struct DialogModuleTests {
    static let caller = "127.0.0.1:5070"
    static let callee = "127.0.0.2:5080"

    static func config(
        _ params: String = "", request: String = "dlg_manage();", info: String = "", reply: String = ""
    ) -> String {
        """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "pv.so"
        loadmodule "siputils.so"
        loadmodule "textops.so"
        loadmodule "htable.so"
        loadmodule "dialog.so"
        modparam("htable", "htable", "ev=>size=4")
        modparam("dialog", "profiles_no_value", "calls")
        modparam("dialog", "profiles_with_value", "caller ; dst")
        \(params)
        request_route {
            if (has_totag()) {
                if (loose_route()) {
                    if (is_method("BYE")) { $sht(ev=>bye_state) = $dlg(state); }
                    if (is_method("INFO")) { route(INFO); }
                    t_relay();
                    exit;
                }
                if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
                sl_send_reply("404", "Not here");
                exit;
            }
            if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
            t_check_trans();
            record_route();
            $dlg_var(pending) = "before";
            \(request)
            if (is_known_dlg()) {
                set_dlg_profile("calls");
                set_dlg_profile("caller", "$fU");
                $dlg_var(route) = "request";
                $sht(ev=>h_entry) = $dlg(h_entry);
                $sht(ev=>h_id) = $dlg(h_id);
            }
            $du = "sip:127.0.0.2:5080";
            t_on_reply("REPLY");
            t_relay();
        }
        route[INFO] {
            \(info)
        }
        onreply_route[REPLY] {
            \(reply)
        }
        event_route[dialog:start] { $sht(ev=>start) = $sht(ev=>start) + 1; $sht(ev=>start_var) = $dlg_var(route); }
        event_route[dialog:end] { $sht(ev=>end) = $sht(ev=>end) + 1; }
        event_route[dialog:failed] { $sht(ev=>failed) = $sht(ev=>failed) + 1; }

        """
    }

    static func core(
        _ params: String = "", request: String = "dlg_manage();", info: String = "", reply: String = ""
    ) throws -> EmbeddedCore {
        try EmbeddedCore(
            config: config(params, request: request, info: info, reply: reply), modulePath: productsDirectory)
    }

    static func invite(callID: String) -> String {
        [
            "INVITE sip:bob@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-\(callID);rport",
            "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:bob@127.0.0.1>", "Call-ID: \(callID)", "CSeq: 10 INVITE",
            "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:5070>", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    static func header(_ name: String, _ text: String) -> String? {
        text.components(separatedBy: "\r\n").first { $0.hasPrefix(name + ": ") }.map {
            String($0.dropFirst(name.count + 2))
        }
    }

    /// A reply of the callee to the INVITE as sent: Vias, From, To with its tag, Call-ID,
    /// CSeq, the Record-Route copied and the callee's Contact.
    static func reply(to request: MemoryTransport.Sent, _ code: Int, _ reason: String) -> String {
        var lines = ["SIP/2.0 \(code) \(reason)"]
        for line in request.text.components(separatedBy: "\r\n") {
            let name = line.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            switch name {
            case "Via", "From", "Call-ID", "CSeq", "Record-Route": lines.append(line)
            case "To": lines.append(line + ";tag=b1")
            default: break
            }
        }
        lines += ["Contact: <sip:bob@127.0.0.2:5080>", "Content-Length: 0"]
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    static func inDialog(
        _ method: String, callID: String, route: String, fromCaller: Bool, cseq: Int, branch: String
    ) -> String {
        let (uri, via, from, to) =
            fromCaller
            ? ("sip:bob@127.0.0.2:5080", "127.0.0.1:5070", "<sip:alice@127.0.0.1>;tag=a1", "<sip:bob@127.0.0.1>;tag=b1")
            : (
                "sip:alice@127.0.0.1:5070", "127.0.0.2:5080", "<sip:bob@127.0.0.1>;tag=b1",
                "<sip:alice@127.0.0.1>;tag=a1"
            )
        return [
            "\(method) \(uri) SIP/2.0", "Via: SIP/2.0/UDP \(via);branch=z9hG4bK-\(branch);rport", "From: \(from)",
            "To: \(to)", "Call-ID: \(callID)", "CSeq: \(cseq) \(method)", "Route: \(route)", "Max-Forwards: 70",
            "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    static func rpc(_ core: EmbeddedCore, _ method: String, _ params: RPCValue...) throws -> RPCValue {
        try core.context.rpcs.call(RPCRequest(method: method, params: params)).get()
    }

    static func dialogs(_ core: EmbeddedCore) throws -> [RPCValue] {
        guard case .array(let list) = try rpc(core, "dlg.list") else { return [] }
        return list
    }

    static func sht(_ core: EmbeddedCore, _ key: String) -> RPCValue? {
        guard
            case .success(let v) = core.context.rpcs.call(
                RPCRequest(method: "htable.get", params: [.string("ev"), .string(key)]))
        else { return nil }
        return v["item"]?["value"]
    }

    static func stat(_ name: String) -> Int {
        Counters.shared.lookup(group: "dialog", name: name).map { Counters.shared.value($0) } ?? -1
    }

    /// Runs an INVITE to the 2xx and its ACK; returns the INVITE as sent and the Route.
    static func confirmedCall(_ core: EmbeddedCore, callID: String) throws -> (MemoryTransport.Sent, String) {
        core.receive(invite(callID: callID), from: caller)
        let invite = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") })
        core.receive(reply(to: invite, 200, "OK"), from: callee)
        _ = core.takeSent()
        let route = try #require(header("Record-Route", invite.text))
        core.receive(
            inDialog("ACK", callID: callID, route: route, fromCaller: true, cseq: 10, branch: "ack-\(callID)"),
            from: caller)
        _ = core.takeSent()
        return (invite, route)
    }

    @Test func aCallGoesThroughEveryStateWithProfilesAndEvents() throws {
        let core = try Self.core()
        let watch = CounterWatch()
        let active = Self.stat("active_dialogs")
        let processed = Self.stat("processed_dialogs")
        core.receive(Self.invite(callID: "dlg-1"), from: Self.caller)
        let invite = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") })
        let route = try #require(Self.header("Record-Route", invite.text))
        // The Record-Route carries did=<h_entry>.<h_id> in Kamailio's reversed hex.
        let did = try #require(route.range(of: #"did=[0-9a-f]+\.[0-9a-f]+"#, options: .regularExpression))
        var list = try Self.dialogs(core)
        #expect(list.count == 1)
        let d = try #require(list.first)
        #expect(d["state"] == .int(1))
        #expect(d["call-id"] == .string("dlg-1"))
        #expect(d["from_uri"] == .string("sip:alice@127.0.0.1"))
        #expect(d["caller"]?["tag"] == .string("a1"))
        #expect(d["caller"]?["contact"] == .string("sip:alice@127.0.0.1:5070"))
        #expect(d["caller"]?["cseq"] == .string("10"))
        #expect(d["profiles"] == .array([.object([("caller", .string("alice"))]), .string("calls")]))
        #expect(
            d["variables"]
                == .array([.object([("route", .string("request"))]), .object([("pending", .string("before"))])]))
        guard case .int(let entry)? = d["h_entry"], case .int(let id)? = d["h_id"] else {
            Issue.record("no h_entry/h_id")
            return
        }
        let encoded = String(route[did]).dropFirst(4).split(separator: ".")
        #expect(ReverseHexCheck.decode(encoded[0]) == entry && ReverseHexCheck.decode(encoded[1]) == id)
        #expect(Self.sht(core, "h_entry") == .int(entry))
        if let value = watch.stat("processed_dialogs") { #expect(value == processed + 1) }
        #expect(try Self.rpc(core, "dlg.profile_get_size", .string("calls")) == .int(1))
        #expect(try Self.rpc(core, "dlg.profile_get_size", .string("caller"), .string("alice")) == .int(1))
        #expect(try Self.rpc(core, "dlg.profile_get_size", .string("caller"), .string("carol")) == .int(0))

        core.receive(Self.reply(to: invite, 180, "Ringing"), from: Self.callee)
        _ = core.takeSent()
        #expect(try Self.dialogs(core).first?["state"] == .int(2))
        #expect(try Self.rpc(core, "dlg.stats_active")["connecting"] == .int(1))

        core.receive(Self.reply(to: invite, 200, "OK"), from: Self.callee)
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 OK"])
        list = try Self.dialogs(core)
        #expect(list.first?["state"] == .int(3))
        #expect(list.first?["callee"]?["tag"] == .string("b1"))
        #expect(list.first?["callee"]?["contact"] == .string("sip:bob@127.0.0.2:5080"))
        #expect(list.first?["callee"]?["route_set"] == .string(""))  // only our own Record-Route
        #expect(Self.sht(core, "start") == .int(1))
        #expect(Self.sht(core, "start_var") == .string("request"))
        if let value = watch.stat("active_dialogs") { #expect(value == active + 1) }

        core.receive(
            Self.inDialog("ACK", callID: "dlg-1", route: route, fromCaller: true, cseq: 10, branch: "ack1"),
            from: Self.caller)
        #expect(core.takeSent().map(\.firstLine) == ["ACK sip:bob@127.0.0.2:5080 SIP/2.0"])
        #expect(try Self.dialogs(core).first?["state"] == .int(4))
        #expect(try Self.rpc(core, "dlg.stats_active")["ongoing"] == .int(1))

        core.receive(
            Self.inDialog("BYE", callID: "dlg-1", route: route, fromCaller: false, cseq: 1, branch: "bye1"),
            from: Self.callee)
        let bye = core.takeSent()
        #expect(bye.map(\.firstLine).contains("BYE sip:alice@127.0.0.1:5070 SIP/2.0"))
        #expect(Self.sht(core, "bye_state") == .int(5))
        #expect(Self.sht(core, "end") == .int(1))
        #expect(try Self.rpc(core, "dlg.profile_get_size", .string("calls")) == .int(0))
        #expect(try Self.rpc(core, "dlg.profile_get_size", .string("caller"), .string("alice")) == .int(0))
        if let value = watch.stat("active_dialogs") { #expect(value == active) }
        #expect(try Self.dialogs(core).first?["state"] == .int(5))
        // The BYE's transaction ends (200, then tm's wait timer): the dialog is gone.
        let sentBye = try #require(bye.first { $0.firstLine.hasPrefix("BYE") })
        core.receive(TMModuleTests.reply(to: sentBye, 200, "OK", toTag: nil), from: Self.caller)
        core.advance(milliseconds: 6000)
        #expect(try Self.dialogs(core).isEmpty)
    }

    @Test func aCancelledCallFailsAndLeavesItsProfiles() throws {
        let core = try Self.core()
        let watch = CounterWatch()
        let failed = Self.stat("failed_dialogs")
        core.receive(Self.invite(callID: "dlg-2"), from: Self.caller)
        let invite = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") })
        core.receive(Self.reply(to: invite, 180, "Ringing"), from: Self.callee)
        _ = core.takeSent()
        #expect(try Self.rpc(core, "dlg.profile_get_size", .string("calls")) == .int(1))
        let cancel = Self.invite(callID: "dlg-2").replacingOccurrences(of: "INVITE sip:", with: "CANCEL sip:")
            .replacingOccurrences(of: "CSeq: 10 INVITE", with: "CSeq: 10 CANCEL")
        core.receive(cancel, from: Self.caller)
        _ = core.takeSent()
        core.receive(Self.reply(to: invite, 487, "Request Terminated"), from: Self.callee)
        #expect(core.takeSent().map(\.firstLine).contains("SIP/2.0 487 Request Terminated"))
        #expect(Self.sht(core, "failed") == .int(1))
        #expect(Self.sht(core, "start") == nil)
        if let value = watch.stat("failed_dialogs") { #expect(value == failed + 1) }
        #expect(try Self.rpc(core, "dlg.profile_get_size", .string("calls")) == .int(0))
        #expect(try Self.dialogs(core).isEmpty)
    }

    @Test func theTimeoutSendsByeToBothSides() throws {
        let core = try Self.core(
            """
            modparam("dialog", "default_timeout", 30)
            modparam("dialog", "send_bye", 1)
            """)
        let watch = CounterWatch()
        let expired = Self.stat("expired_dialogs")
        _ = try Self.confirmedCall(core, callID: "dlg-3")
        core.advance(milliseconds: 29_000)
        #expect(core.takeSent().filter { $0.firstLine.hasPrefix("BYE") }.isEmpty)
        core.advance(milliseconds: 2_000)
        let byes = core.takeSent().filter { $0.firstLine.hasPrefix("BYE") }
        #expect(
            Set(byes.map { "\($0.firstLine) -> \($0.destination.address)" }) == [
                "BYE sip:alice@127.0.0.1:5070 SIP/2.0 -> 127.0.0.1:5070",
                "BYE sip:bob@127.0.0.2:5080 SIP/2.0 -> 127.0.0.2:5080",
            ])
        let toCaller = try #require(byes.first { $0.firstLine.contains("alice") })
        let toCallee = try #require(byes.first { $0.firstLine.contains("bob") })
        #expect(Self.header("From", toCaller.text) == "<sip:bob@127.0.0.1>;tag=b1")
        #expect(Self.header("To", toCaller.text) == "<sip:alice@127.0.0.1>;tag=a1")
        // Kamailio's callee CSeq starts at "0" (the INVITE had none from the callee).
        #expect(Self.header("CSeq", toCaller.text) == "1 BYE")
        #expect(Self.header("From", toCallee.text) == "<sip:alice@127.0.0.1>;tag=a1")
        #expect(Self.header("To", toCallee.text) == "<sip:bob@127.0.0.1>;tag=b1")
        #expect(Self.header("CSeq", toCallee.text) == "11 BYE")
        #expect(Self.sht(core, "end") == .int(1))
        if let value = watch.stat("expired_dialogs") { #expect(value == expired + 1) }
        for bye in byes {
            core.receive(TMModuleTests.reply(to: bye, 200, "OK", toTag: nil), from: bye.destination.address.description)
        }
        #expect(try Self.dialogs(core).isEmpty)
    }

    @Test func endDialogRPCSendsByesAndUnknownDialogsAre404() throws {
        let core = try Self.core()
        _ = try Self.confirmedCall(core, callID: "dlg-4")
        let d = try #require(try Self.dialogs(core).first)
        #expect(d["state"] == .int(4))
        guard case .int(let entry)? = d["h_entry"], case .int(let id)? = d["h_id"] else { return }
        #expect(throws: RPCError(404, "Dialog not found")) {
            try Self.rpc(core, "dlg.end_dlg", .int(entry), .int(id + 1))
        }
        _ = try Self.rpc(core, "dlg.end_dlg", .int(entry), .int(id), .string("X-Reason: rpc\r\n"))
        let byes = core.takeSent().filter { $0.firstLine.hasPrefix("BYE") }
        #expect(byes.count == 2)
        #expect(byes.allSatisfy { Self.header("X-Reason", $0.text) == "rpc" })
        for bye in byes {
            core.receive(TMModuleTests.reply(to: bye, 200, "OK", toTag: nil), from: bye.destination.address.description)
        }
        #expect(try Self.dialogs(core).isEmpty)
    }

    @Test func dlgFlagCreatesTheDialogAndFlagsAreKept() throws {
        let core = try Self.core(
            #"modparam("dialog", "dlg_flag", 4)"#,
            request: #"dlg_setflag(3); setflag(4); if (dlg_isflagset(3)) { $sht(ev=>pre) = 1; }"#)
        core.receive(Self.invite(callID: "dlg-5"), from: Self.caller)
        let invite = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") })
        #expect(Self.sht(core, "pre") == .int(1))
        let d = try #require(try Self.dialogs(core).first)
        #expect(d["sflags"] == .int(8))
        #expect(d["call-id"] == .string("dlg-5"))
        #expect(Self.header("Record-Route", invite.text)?.contains(";did=") == true)
        // Created by tm's request-in: the script ran before, so no profile.
        #expect(d["profiles"] == .array([]))
    }

    @Test func profileFunctionsAndStateMachine() throws {
        let core = try Self.core(
            request: """
                dlg_manage();
                set_dlg_profile("dst", "x");
                set_dlg_profile("dst", "x");
                if (is_in_profile("dst", "x")) { $sht(ev=>in) = 1; }
                if (!is_in_profile("dst", "y")) { $sht(ev=>notin) = 1; }
                get_profile_size("dst", "x", "$var(n)");
                $sht(ev=>n) = $var(n);
                """)
        core.receive(Self.invite(callID: "dlg-6"), from: Self.caller)
        _ = core.takeSent()
        #expect(Self.sht(core, "in") == .int(1))
        #expect(Self.sht(core, "notin") == .int(1))
        #expect(Self.sht(core, "n") == .int(2))
        #expect(try Self.rpc(core, "dlg.profile_list", .string("dst"), .string("x")).count == 1)
        #expect(throws: RPCError(404, "Profile not found: nope")) {
            try Self.rpc(core, "dlg.profile_get_size", .string("nope"))
        }
    }
}

extension DialogModuleTests {
    @Test func keepAlivesThatFailEndTheDialog() throws {
        let core = try Self.core(
            """
            modparam("dialog", "ka_timer", 1)
            modparam("dialog", "ka_interval", 2)
            """,
            request: #"dlg_manage(); dlg_set_property("ka-src");"#)
        let watch = CounterWatch()
        let expired = Self.stat("expired_dialogs")
        _ = try Self.confirmedCall(core, callID: "dlg-ka")
        core.advance(milliseconds: 3_000)
        // (tm retransmits an unanswered OPTIONS: the same request again)
        let options = core.takeSent().filter { $0.firstLine.hasPrefix("OPTIONS") }
        #expect(
            Set(options.map { "\($0.firstLine) -> \($0.destination.address)" }) == [
                "OPTIONS sip:alice@127.0.0.1:5070 SIP/2.0 -> 127.0.0.1:5070"
            ])
        #expect(Set(options.map(\.text)).count == 1)
        let ka = try #require(options.first)
        // One below the callee's CSeq, not below 0 (Kamailio's `dlg_send_ka`): the callee
        // sent no request, its CSeq is "0".
        #expect(Self.header("CSeq", ka.text) == "0 OPTIONS")
        #expect(Self.header("From", ka.text) == "<sip:bob@127.0.0.1>;tag=b1")
        core.receive(TMModuleTests.reply(to: ka, 481, "Call Does Not Exist", toTag: nil), from: Self.caller)
        // ka_failed_limit 1: the dialog has 10 s left.
        #expect(try Self.dialogs(core).first?["lifetime"] == .int(10))
        core.advance(milliseconds: 11_000)
        #expect(try Self.dialogs(core).isEmpty)
        if let value = watch.stat("expired_dialogs") { #expect(value == expired + 1) }
        #expect(Self.sht(core, "end") == .int(1))
    }

    @Test func inDialogFunctionsByeGetAndContext() throws {
        let core = try Self.core(
            info: """
                $sht(ev=>dir) = $dlg_ctx(dir);
                $sht(ev=>set) = $dlg_ctx(set);
                $sht(ev=>callid) = $dlg(callid);
                $sht(ev=>known) = 0;
                if (is_known_dlg()) { $sht(ev=>known) = 1; }
                if (dlg_get("$ci", "$tt", "$ft")) { $sht(ev=>got) = 1; }
                dlg_bye("all");
                """)
        let (_, route) = try Self.confirmedCall(core, callID: "dlg-7")
        core.receive(
            Self.inDialog("INFO", callID: "dlg-7", route: route, fromCaller: false, cseq: 5, branch: "info7"),
            from: Self.callee)
        let sent = core.takeSent()
        #expect(Self.sht(core, "dir") == .int(2))  // upstream: from the callee
        #expect(Self.sht(core, "set") == .int(1))
        #expect(Self.sht(core, "callid") == .string("dlg-7"))
        #expect(Self.sht(core, "known") == .int(1))
        #expect(Self.sht(core, "got") == .int(1))
        let byes = sent.filter { $0.firstLine.hasPrefix("BYE") }
        #expect(
            Set(byes.map(\.firstLine)) == [
                "BYE sip:alice@127.0.0.1:5070 SIP/2.0", "BYE sip:bob@127.0.0.2:5080 SIP/2.0",
            ])
        // The INFO from the callee (CSeq 5) moved the callee's CSeq: its BYE to the caller has 6.
        let toCaller = try #require(byes.first { $0.firstLine.contains("alice") })
        #expect(Self.header("CSeq", toCaller.text) == "6 BYE")
        #expect(Self.sht(core, "end") == .int(1))
    }

    @Test func unsetProfileInAReplyRouteAndPerDialogTimeoutBye() throws {
        let core = try Self.core(
            #"modparam("dialog", "timeout_avp", "$avp(dlgto)")"#,
            request: #"$avp(dlgto) = 5; $dlg_ctx(timeout_bye) = 1; dlg_manage();"#,
            reply: #"if ($rs == 180) { unset_dlg_profile("calls"); $sht(ev=>unset) = $rc; }"#)
        core.receive(Self.invite(callID: "dlg-8"), from: Self.caller)
        let invite = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INVITE") })
        #expect(try Self.rpc(core, "dlg.profile_get_size", .string("calls")) == .int(1))
        core.receive(Self.reply(to: invite, 180, "Ringing"), from: Self.callee)
        _ = core.takeSent()
        #expect(Self.sht(core, "unset") == .int(1))
        #expect(try Self.rpc(core, "dlg.profile_get_size", .string("calls")) == .int(0))
        #expect(try Self.dialogs(core).first?["lifetime"] == .int(5))
        core.receive(Self.reply(to: invite, 200, "OK"), from: Self.callee)
        _ = core.takeSent()
        core.advance(milliseconds: 6_000)
        let byes = core.takeSent().filter { $0.firstLine.hasPrefix("BYE") }
        // $dlg_ctx(timeout_bye): BYEs to both sides without send_bye (and tm's retransmissions)
        #expect(
            Set(byes.map(\.firstLine)) == [
                "BYE sip:alice@127.0.0.1:5070 SIP/2.0", "BYE sip:bob@127.0.0.2:5080 SIP/2.0",
            ])
    }
}

extension RPCValue {
    var count: Int {
        if case .array(let a) = self { return a.count }
        return -1
    }
}

/// Kamailio's reversed hex (`reverse_hex2int`), written independently of the module.
enum ReverseHexCheck {
    static func decode<S: StringProtocol>(_ s: S) -> Int {
        s.reversed().reduce(0) { $0 * 16 + Int(String($1), radix: 16)! }
    }
}

/// Counters are process-wide, and every configuration load (another suite's, running in
/// parallel) removes and registers them again. A watch registers a sentinel counter before the
/// baselines are read; a later value is compared only while the sentinel is still there.
struct CounterWatch {
    let sentinel = "watch-\(UUID().uuidString)"

    init() { _ = try? Counters.shared.register(group: "test", name: sentinel) }

    /// The dialog counter `name`, or nil when a configuration load has started the counters
    /// over since the watch began (then there is nothing to compare with).
    func stat(_ name: String) -> Int? {
        let value = DialogModuleTests.stat(name)
        return Counters.shared.lookup(group: "test", name: sentinel) == nil ? nil : value
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// dialog's RPCs that find dialogs by match or by Call-ID and tags (`dlg.list_match`,
/// `dlg.briefing`, `dlg.is_alive`, `dlg.set_state`, `dlg.terminate_dlg`) and the functions
/// `dlg_set_timeout_by_profile` and `dlg_set_ruri`. In `DialogModuleTests`' serialized
/// suite, because `dlg.set_state` moves the process-wide active-dialog counter.
extension DialogModuleTests {
    static func array(_ v: RPCValue) -> [RPCValue] {
        if case .array(let a) = v { return a }
        return []
    }

    static func names(_ v: RPCValue) -> [String] {
        if case .object(let members) = v { return members.map(\.0) }
        return []
    }

    @Test func listMatchBriefingIsAliveAndSetState() throws {
        let core = try Self.core()
        _ = try Self.confirmedCall(core, callID: "dlg-m1")
        func match(_ key: String, _ op: String, _ value: String) throws -> [RPCValue] {
            Self.array(try Self.rpc(core, "dlg.list_match", .string(key), .string(op), .string(value)))
        }
        #expect(try match("callid", "eq", "dlg-m1").first?["call-id"] == .string("dlg-m1"))
        #expect(try match("furi", "re", "^SIP:ALICE@").count == 1)  // case-insensitive
        #expect(try match("turi", "sw", "sip:bob").count == 1)
        #expect(try match("ruri", "eq", "sip:bob@127.0.0.1").count == 1)
        #expect(try match("start_ts", "gt", "1").count == 1)
        #expect(throws: RPCError(404, "Not found")) { try match("callid", "eq", "dlg-other") }
        #expect(throws: RPCError(404, "Not found")) { try match("start_ts", "lt", "1") }
        #expect(throws: RPCError(500, "Matching operator not supported with start_ts key")) {
            try match("start_ts", "eq", "1")
        }
        #expect(throws: RPCError(500, "Matching operator not supported")) { try match("callid", "gt", "1") }
        #expect(throws: RPCError(500, "Invalid matching key parameter")) { try match("contact", "eq", "x") }
        #expect(throws: RPCError(500, "Invalid matching operator parameter")) { try match("callid", "ne", "x") }
        let ctx = Self.array(
            try Self.rpc(core, "dlg.list_match_ctx", .string("callid"), .string("eq"), .string("dlg-m1")))
        #expect(ctx.first?["caller"]?["tag"] == .string("a1"))

        let brief = try #require(Self.array(try Self.rpc(core, "dlg.briefing")).first)
        #expect(Self.names(brief) == ["h_entry", "h_id", "from_uri", "to_uri", "call-id", "from_tag", "to_tag"])
        #expect(brief["from_uri"] == .string("sip:alice@127.0.0.1"))
        #expect(brief["from_tag"] == .string("a1"))
        #expect(brief["to_tag"] == .string("b1"))  // Kamailio 5.6.3 prints the From tag here
        let states = try #require(Self.array(try Self.rpc(core, "dlg.briefing", .string("sE"))).first)
        #expect(Self.names(states) == ["h_entry", "h_id", "state", "end_ts"])
        #expect(states["state"] == .int(4))

        let key: [RPCValue] = [.string("dlg-m1"), .string("a1"), .string("b1")]
        #expect(try core.context.rpcs.call(RPCRequest(method: "dlg.is_alive", params: key)).get() == .string("Alive"))
        // The tags the other way round: the same dialog, seen from the callee.
        #expect(try Self.rpc(core, "dlg.is_alive", .string("dlg-m1"), .string("b1"), .string("a1")) == .string("Alive"))
        #expect(throws: RPCError(404, "Dialog not found")) {
            try Self.rpc(core, "dlg.is_alive", .string("dlg-m1"), .string("zz"), .string("b1"))
        }
        #expect(throws: RPCError(400, "Too few parameters (required callid, from-tag, to-tag)")) {
            try Self.rpc(core, "dlg.is_alive", .string("dlg-m1"))
        }
        #expect(throws: RPCError(500, "Invalid state value")) {
            try Self.rpc(core, "dlg.set_state", .string("dlg-m1"), .string("a1"), .string("b1"), .int(9))
        }
        let watch = CounterWatch()
        let active = Self.stat("active_dialogs")
        #expect(
            try Self.rpc(core, "dlg.set_state", .string("dlg-m1"), .string("a1"), .string("b1"), .int(5))
                == .string("Done"))
        if let value = watch.stat("active_dialogs") { #expect(value == active - 1) }
        let d = try #require(try Self.dialogs(core).first)
        #expect(d["state"] == .int(5))
        guard case .int(let end)? = d["end_ts"] else { throw RPCError(0, "no end_ts") }
        #expect(end > 0)
        #expect(throws: RPCError(500, "Dialog not in confirmed state")) {
            try Self.rpc(core, "dlg.is_alive", .string("dlg-m1"), .string("a1"), .string("b1"))
        }
    }

    @Test func terminateDialogRPCSendsByesToBothSides() throws {
        let core = try Self.core()
        _ = try Self.confirmedCall(core, callID: "dlg-m2")
        #expect(throws: RPCError(500, "Couldnt find callid in dialog")) {
            try Self.rpc(core, "dlg.terminate_dlg", .string("dlg-none"), .string("a1"), .string("b1"))
        }
        _ = try Self.rpc(core, "dlg.terminate_dlg", .string("dlg-m2"), .string("a1"), .string("b1"))
        let byes = core.takeSent().filter { $0.firstLine.hasPrefix("BYE") }
        #expect(
            Set(byes.map(\.firstLine)) == [
                "BYE sip:alice@127.0.0.1:5070 SIP/2.0", "BYE sip:bob@127.0.0.2:5080 SIP/2.0",
            ])
        for bye in byes {
            core.receive(TMModuleTests.reply(to: bye, 200, "OK", toTag: nil), from: bye.destination.address.description)
        }
        #expect(try Self.dialogs(core).isEmpty)
    }

    @Test func timeoutByProfileAndRequestURIFromTheDialog() throws {
        let core = try Self.core(
            info: """
                if ($hdr(X-Step) == "value") { dlg_set_timeout_by_profile("caller", "alice", 7); }
                if ($hdr(X-Step) == "other") { dlg_set_timeout_by_profile("caller", "carol", 8); }
                if ($hdr(X-Step) == "all") { dlg_set_timeout_by_profile("calls", "9"); }
                dlg_set_ruri();
                $sht(ev=>ruri) = $ru;
                """)
        let (_, route) = try Self.confirmedCall(core, callID: "dlg-m3")
        func info(_ step: String, fromCaller: Bool, cseq: Int) {
            var text = Self.inDialog(
                "INFO", callID: "dlg-m3", route: route, fromCaller: fromCaller, cseq: cseq, branch: "i\(cseq)")
            let firstLineEnd = text.range(of: "\r\n")!
            text.replaceSubrange(
                text.startIndex..<firstLineEnd.lowerBound, with: "INFO sip:somewhere@127.0.0.9 SIP/2.0")
            text = text.replacingOccurrences(of: "Max-Forwards: 70", with: "Max-Forwards: 70\r\nX-Step: \(step)")
            core.receive(text, from: fromCaller ? Self.caller : Self.callee)
        }
        info("value", fromCaller: true, cseq: 11)
        #expect(try Self.dialogs(core).first?["lifetime"] == .int(7))
        #expect(Self.sht(core, "ruri") == .string("sip:bob@127.0.0.2:5080"))
        let relayed = try #require(core.takeSent().first { $0.firstLine.hasPrefix("INFO") })
        #expect(relayed.firstLine == "INFO sip:bob@127.0.0.2:5080 SIP/2.0")
        info("other", fromCaller: false, cseq: 3)
        #expect(try Self.dialogs(core).first?["lifetime"] == .int(7))
        #expect(Self.sht(core, "ruri") == .string("sip:alice@127.0.0.1:5070"))
        info("all", fromCaller: true, cseq: 12)
        #expect(try Self.dialogs(core).first?["lifetime"] == .int(9))
    }

    @Test func dumpFileAppendsOneJSONLinePerDialog() throws {
        let core = try Self.core()
        _ = try Self.confirmedCall(core, callID: "dlg-m4")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dlg-dump-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "old line\n".write(toFile: path, atomically: true, encoding: .utf8)
        _ = try Self.rpc(core, "dlg.dump_file", .string(path))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0] == "old line")
        let line = String(lines[1])
        #expect(line.hasPrefix("{\"h_entry\":"))
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["call_id"] as? String == "dlg-m4")
        #expect(object["state"] as? Int == 4)
        #expect(object["from_uri"] as? String == "sip:alice@127.0.0.1")
        let caller = try #require(object["caller"] as? [String: Any])
        #expect(caller["tag"] as? String == "a1")
        #expect(caller["contact"] as? String == "sip:alice@127.0.0.1:5070")
        let callee = try #require(object["callee"] as? [String: Any])
        #expect(callee["tag"] as? String == "b1")
        let profiles = try #require(object["profiles"] as? [String: Any])
        #expect(profiles["calls"] as? String == "")
        #expect(profiles["caller"] as? String == "alice")
        let variables = try #require(object["variables"] as? [String: Any])
        #expect(variables["route"] as? String == "request")
        #expect(line.contains(",\"profiles\":{") && line.hasSuffix("}}"))
    }

    @Test func remoteProfileItemsCountUntilRemovedOrExpired() throws {
        let core = try Self.core(
            request: """
                if (is_method("OPTIONS")) {
                    dlg_remote_profile("$hdr(X-Cmd)", "$hdr(X-Profile)", "$hdr(X-Value)", "$hdr(X-Uid)", "$hdr(X-Expires)");
                    $sht(ev=>remote) = $rc;
                    sl_send_reply("200", "OK");
                    exit;
                }
                dlg_manage();
                """)
        var n = 0
        func remote(_ cmd: String, _ profile: String, _ value: String, _ uid: String, _ expires: Int) -> RPCValue? {
            n += 1
            core.receive(
                [
                    "OPTIONS sip:127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-rp\(n)",
                    "From: <sip:alice@127.0.0.1>;tag=r\(n)", "To: <sip:127.0.0.1>", "Call-ID: rp-\(n)",
                    "CSeq: 1 OPTIONS", "X-Cmd: \(cmd)", "X-Profile: \(profile)", "X-Value: \(value)",
                    "X-Uid: \(uid)", "X-Expires: \(expires)", "Content-Length: 0",
                ].joined(separator: "\r\n") + "\r\n\r\n", from: Self.caller)
            _ = core.takeSent()
            return Self.sht(core, "remote")
        }
        func size(_ profile: String, _ value: String? = nil) throws -> RPCValue {
            try Self.rpc(core, "dlg.profile_get_size", .string(profile), value.map { .string($0) } ?? .string(""))
        }
        let t = Int(time(nil))
        #expect(remote("add", "caller", "bob", "u1", t + 30) == .int(1))
        #expect(remote("add", "caller", "bob", "u2", 0) == .int(1))
        #expect(remote("add", "calls", "", "u3", t + 1000) == .int(1))
        #expect(try size("caller", "bob") == .int(2))
        #expect(try size("calls") == .int(1))
        #expect(remote("rm", "caller", "bob", "u2", 0) == .int(1))
        #expect(try size("caller", "bob") == .int(1))
        #expect(remote("add", "caller", "", "u4", 0) == .int(-1))  // the profile needs a value
        #expect(remote("add", "nope", "x", "u5", 0) == .int(-1))
        #expect(remote("set", "calls", "", "u6", 0) == .int(-1))
        _ = try Self.confirmedCall(core, callID: "dlg-rp")
        #expect(try size("calls") == .int(2))  // the local dialog and the remote item
        core.advance(milliseconds: 91_000)  // the clean-up timer (90 s): u1 has expired
        #expect(try size("caller", "bob") == .int(0))
        #expect(try size("calls") == .int(2))
    }
}

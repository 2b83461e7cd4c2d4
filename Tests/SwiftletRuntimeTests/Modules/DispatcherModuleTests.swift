import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// The dispatcher module on the embedded core: list loading and order, the algorithms,
/// failover through the XAVPs, states, call load and the RPCs.
@Suite struct DispatcherModuleTests {
    static let list = """
        # set 1: three targets, listed in reverse as Kamailio does at equal priority
        1 sip:127.0.0.2:5081
        1 sip:127.0.0.2:5082 0 0 duid=b;weight=20
        1 sip:127.0.0.2:5083
        2 sip:127.0.0.3:5090 0 10
        2 sip:127.0.0.3:5091 0 20 duid=x;socket=udp:127.0.0.1:5060

        """

    static func config(_ route: String, list: String, extra: String = "") -> String {
        """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"
        loadmodule "tm.so"
        loadmodule "pv.so"
        loadmodule "xlog.so"
        loadmodule "dispatcher.so"
        modparam("dispatcher", "list_file", "\(list)")
        modparam("dispatcher", "flags", 2)
        modparam("pv", "shvset", "down=s:")
        modparam("pv", "shvset", "up=s:")
        \(extra)
        request_route {
        \(route)
        }

        """
    }

    let dir = TemporaryDirectory()

    func core(_ route: String, list: String = DispatcherModuleTests.list, extra: String = "") throws -> EmbeddedCore {
        let path = dir.write("dispatcher.list", list)
        return try EmbeddedCore(config: Self.config(route, list: path, extra: extra), modulePath: productsDirectory)
    }

    static func request(_ method: String = "OPTIONS", callID: String = "c1", from: String = "alice", extra: String = "")
        -> String
    {
        [
            "\(method) sip:bob@example.com SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-\(callID);rport",
            "From: <sip:\(from)@127.0.0.1>;tag=a1", "To: <sip:bob@example.com>", "Call-ID: \(callID)",
            "CSeq: 1 \(method)", "Max-Forwards: 70", "Contact: <sip:alice@127.0.0.1:5070>",
        ].joined(separator: "\r\n") + extra + "\r\nContent-Length: 0\r\n\r\n"
    }

    func rpc(_ core: EmbeddedCore, _ method: String, _ params: [RPCValue] = []) -> Result<RPCValue, RPCError> {
        core.context.rpcs.call(RPCRequest(method: method, params: params))
    }

    /// Where the stateless forwards of `count` requests went.
    func destinations(_ core: EmbeddedCore, _ count: Int, callIDs: [String]? = nil) -> [String] {
        var out: [String] = []
        for i in 0..<count {
            core.receive(Self.request(callID: callIDs?[i] ?? "rr-\(i)"), from: "127.0.0.1:5070")
            out += core.takeSent().map { "\($0.destination.address)" }
        }
        return out
    }

    @Test func roundRobinGoesThroughTheSetInKamailiosOrderAndSkipsInactiveTargets() throws {
        let core = try core(
            """
            if (!ds_select_dst("1", "4")) { sl_send_reply("503", "none"); exit; }
            forward();
            """)
        #expect(
            destinations(core, 4) == ["127.0.0.2:5083", "127.0.0.2:5082", "127.0.0.2:5081", "127.0.0.2:5083"])
        #expect(
            try rpc(core, "dispatcher.set_state", [.string("ip"), .int(1), .string("sip:127.0.0.2:5081")]).get()
                == .string("Ok. Dispatcher state updated."))
        #expect(destinations(core, 3) == ["127.0.0.2:5082", "127.0.0.2:5083", "127.0.0.2:5082"])
        _ = try rpc(core, "dispatcher.set_state", [.string("d"), .int(1), .string("all")]).get()
        core.receive(Self.request(callID: "none"), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 503 none"])
    }

    @Test func hashesAreKamailios() throws {
        // Values from Kamailio 5.6's dispatcher.hash RPC.
        let core = try core("exit;")
        func hash(_ params: [RPCValue]) throws -> RPCValue { try rpc(core, "dispatcher.hash", params).get() }
        #expect(try hash([.int(0), .string("abc")]) == .object([("hashid", .int(7_167_810)), ("slot", .int(0))]))
        #expect(
            try hash([.int(7), .string("call-1@host")])
                == .object([("hashid", .int(2_552_170_930)), ("slot", .int(1))]))
        #expect(
            try hash([.int(0), .string("alice"), .string("127.0.0.1")])
                == .object([("hashid", .int(3_668_210_421)), ("slot", .int(0))]))
        #expect(try hash([.int(0), .string("alice"), .string("127.0.0.1:5070")])["hashid"] == .int(295_875_386))
        // Bytes above 127 count as signed chars, as in Kamailio's C.
        #expect(try hash([.int(0), .string("b\u{e9}xyz")])["hashid"] == .int(1_846_321_872))
    }

    @Test func callIDHashPicksTheSameTargetForTheSameCall() throws {
        let core = try core(
            """
            ds_select_dst("1", "0");
            forward();
            """)
        // hash("call-1@host") = 2552170930: 2552170930 % 3 = 1 -> the second target.
        #expect(
            destinations(core, 2, callIDs: ["call-1@host", "call-1@host"]) == ["127.0.0.2:5082", "127.0.0.2:5082"])
        // hash("abc") = 7167810 % 3 = 0 -> the first.
        #expect(destinations(core, 1, callIDs: ["abc"]) == ["127.0.0.2:5083"])
    }

    @Test func fromAndPVHashesUseUserAndHost() throws {
        // From sip:alice@127.0.0.1 -> hash("alice", "127.0.0.1") = 3668210421 % 3 = 0.
        let core = try core(
            """
            if ($rm == "OPTIONS") { ds_select_dst("1", "1"); } else { ds_select_dst("1", "7"); }
            forward();
            """, extra: "modparam(\"dispatcher\", \"hash_pvar\", \"$ci\")")
        #expect(destinations(core, 1) == ["127.0.0.2:5083"])
        core.receive(Self.request("MESSAGE", callID: "call-1@host"), from: "127.0.0.1:5070")
        // hash("call-1@host") % 3 = 1.
        #expect(core.takeSent().map { "\($0.destination.address)" } == ["127.0.0.2:5082"])
    }

    @Test func priorityOrdersTheSetAndSerialTakesTheFirst() throws {
        let core = try core(
            """
            ds_select_dst("2", "8");
            forward();
            """)
        #expect(destinations(core, 1) == ["127.0.0.3:5091"])
        let list = try rpc(core, "dispatcher.list").get()
        guard case .array(let records)? = list["RECORDS"] else {
            Issue.record("no records")
            return
        }
        #expect(list["NRSETS"] == .int(2))
        // Kamailio walks its tree of sets children first: set 2 (the right child of 1) first.
        #expect(records[1]["SET"]?["ID"] == .int(1))
        #expect(
            records[0]
                == .object([
                    (
                        "SET",
                        .object([
                            ("ID", .int(2)),
                            (
                                "TARGETS",
                                .array([
                                    .object([
                                        (
                                            "DEST",
                                            .object([
                                                ("URI", .string("sip:127.0.0.3:5091")), ("FLAGS", .string("AX")),
                                                ("PRIORITY", .int(20)),
                                                (
                                                    "ATTRS",
                                                    .object([
                                                        ("BODY", .string("duid=x;socket=udp:127.0.0.1:5060")),
                                                        ("DUID", .string("x")), ("MAXLOAD", .int(0)),
                                                        ("WEIGHT", .int(0)), ("RWEIGHT", .int(0)),
                                                        ("SOCKET", .string("udp:127.0.0.1:5060")),
                                                        ("SOCKNAME", .null), ("OBPROXY", .null),
                                                    ])
                                                ),
                                            ])
                                        )
                                    ]),
                                    .object([
                                        (
                                            "DEST",
                                            .object([
                                                ("URI", .string("sip:127.0.0.3:5090")), ("FLAGS", .string("AX")),
                                                ("PRIORITY", .int(10)),
                                            ])
                                        )
                                    ]),
                                ])
                            ),
                        ])
                    )
                ]))
    }

    /// The `$shv(...)` values the event routes left, as the reason of a 200 to an OPTIONS.
    static let report = """
        if ($rm == "OPTIONS") { sl_send_reply("200", "down=$shv(down) up=$shv(up)"); exit; }
        """

    func report(_ core: EmbeddedCore) -> String {
        core.receive(Self.request(callID: "report-\(UUID().uuidString)"), from: "127.0.0.1:5070")
        return core.takeSent().first.map { String($0.firstLine.dropFirst("SIP/2.0 200 ".count)) } ?? ""
    }

    static let eventRoutes = """
        event_route[dispatcher:dst-down] {
            $shv(down) = $shv(down) + "[" + $ru + " " + $dsv(code) + " " + $dsv(flags) + "]";
        }
        event_route[dispatcher:dst-up] {
            $shv(up) = $shv(up) + "[" + $ru + " " + $dsv(code) + " " + $dsv(reason) + "]";
        }
        """

    @Test func failureRouteTakesTheNextTargetAndMarksTheFailedOneDown() throws {
        let core = try core(
            """
            \(Self.report)
            if (!ds_select_dst("1", "4")) { sl_send_reply("503", "none"); exit; }
            t_on_failure("NEXT");
            t_relay();
            exit;
            }
            failure_route[NEXT] {
                if (t_is_canceled()) exit;
                ds_mark_dst("ip");
                if (ds_next_dst()) { t_on_failure("NEXT"); t_relay(); exit; }
                t_reply("503", "all down");
            }
            \(Self.eventRoutes)
            route[UNUSED] {
            """)
        core.receive(TMModuleTests.invite(callID: "f1"), from: TMModuleTests.caller)
        var sent = core.takeSent()
        #expect(
            sent.map { "\($0.firstLine) -> \($0.destination.address)" }.last
                == "INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5083")
        core.receive(TMModuleTests.reply(to: sent.last!, 503, "Busy"), from: "127.0.0.2:5083")
        sent = core.takeSent()
        #expect(
            sent.map { "\($0.firstLine) -> \($0.destination.address)" }.contains(
                "INVITE sip:bob@127.0.0.1 SIP/2.0 -> 127.0.0.2:5082"))
        #expect(report(core) == "down=[sip:bob@127.0.0.1 820 0] up=")
        let list = try rpc(core, "dispatcher.list").get()
        guard case .array(let records)? = list["RECORDS"], case .array(let targets)? = records[1]["SET"]?["TARGETS"]
        else {
            Issue.record("no targets")
            return
        }
        #expect(targets.map { $0["DEST"]?["FLAGS"] } == [.string("IP"), .string("AX"), .string("AX")])
        let invite = sent.last { $0.firstLine.hasPrefix("INVITE") }!
        core.receive(TMModuleTests.reply(to: invite, 500, "Error"), from: "127.0.0.2:5082")
        sent = core.takeSent()
        let third = sent.last { $0.firstLine.hasPrefix("INVITE") }!
        #expect("\(third.destination.address)" == "127.0.0.2:5081")
        core.receive(TMModuleTests.reply(to: third, 486, "Busy Here"), from: "127.0.0.2:5081")
        #expect(core.takeSent().map(\.firstLine).contains("SIP/2.0 503 all down"))
    }
}

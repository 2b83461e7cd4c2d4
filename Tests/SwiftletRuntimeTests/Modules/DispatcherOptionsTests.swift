import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// Dispatcher's parameters and less common paths: the auth-user hash, `use_default`, the
/// record limit, `force_dst`, `ds_next_domain`, failover moving a call's load, `ds_load_unset`,
/// `ds_is_from_list` with only active targets.
@Suite struct DispatcherOptionsTests {
    let base = DispatcherModuleTests()

    func reply(_ core: EmbeddedCore, _ request: String) -> String {
        core.receive(request, from: "127.0.0.1:5070")
        return core.takeSent().map(\.firstLine).joined(separator: " | ")
    }

    @Test func authUserHashesTheDigestUsernameAndFallsBackToRoundRobin() throws {
        let core = try base.core(#"ds_select_dst("1", "5"); sl_send_reply("200", "$du");"#)
        // hash("abc") % 3 = 0, whatever the realm part of the username.
        let auth =
            "\r\nProxy-Authorization: Digest username=\"abc@example.com\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"0\""
        #expect(
            reply(core, DispatcherModuleTests.request(callID: "a1", extra: auth)) == "SIP/2.0 200 sip:127.0.0.2:5083")
        #expect(
            reply(core, DispatcherModuleTests.request(callID: "a2", extra: auth)) == "SIP/2.0 200 sip:127.0.0.2:5083")
        // Without credentials: round robin from the set's position.
        #expect(reply(core, DispatcherModuleTests.request(callID: "a3")) == "SIP/2.0 200 sip:127.0.0.2:5083")
        #expect(reply(core, DispatcherModuleTests.request(callID: "a4")) == "SIP/2.0 200 sip:127.0.0.2:5082")
    }

    @Test func useDefaultKeepsTheLastTargetForWhenAllOthersAreDown() throws {
        let core = try base.core(
            #"if (!ds_select_dst("1", "4")) { sl_send_reply("503", "x"); exit; } sl_send_reply("200", "$du $xavp(_dsdst_[1]=>uri) $xavp(_dsctx_=>cnt)");"#,
            extra: "modparam(\"dispatcher\", \"use_default\", 1)")
        // The set is 5083, 5082, 5081: 5081 is the default, last in the records.
        #expect(
            reply(core, DispatcherModuleTests.request(callID: "u1"))
                == "SIP/2.0 200 sip:127.0.0.2:5083 sip:127.0.0.2:5082 3")
        #expect(
            reply(core, DispatcherModuleTests.request(callID: "u2"))
                == "SIP/2.0 200 sip:127.0.0.2:5082 sip:127.0.0.2:5083 3")
        #expect(
            reply(core, DispatcherModuleTests.request(callID: "u3"))
                == "SIP/2.0 200 sip:127.0.0.2:5083 sip:127.0.0.2:5082 3")
        for uri in ["sip:127.0.0.2:5083", "sip:127.0.0.2:5082"] {
            _ = try base.rpc(core, "dispatcher.set_state", [.string("i"), .int(1), .string(uri)]).get()
        }
        #expect(reply(core, DispatcherModuleTests.request(callID: "u4")) == "SIP/2.0 200 sip:127.0.0.2:5081 <null> 1")
        _ = try base.rpc(core, "dispatcher.set_state", [.string("d"), .int(1), .string("sip:127.0.0.2:5081")]).get()
        #expect(reply(core, DispatcherModuleTests.request(callID: "u5")) == "SIP/2.0 503 x")
    }

    @Test func limitBoundsTheRecordsAndForceDstZeroKeepsADestination() throws {
        let core = try base.core(
            """
            if ($rU == "keep") { $du = "sip:10.0.0.1"; if (!ds_select_dst("1", "8")) { sl_send_reply("500", "kept $du"); exit; } }
            ds_select_dst("1", "8", "2");
            sl_send_reply("200", "$du $xavp(_dsdst_[1]=>uri) $xavp(_dsdst_[2]=>uri) $xavp(_dsctx_=>cnt)");
            """, extra: "modparam(\"dispatcher\", \"force_dst\", 0)")
        #expect(
            reply(core, DispatcherModuleTests.request(callID: "l1"))
                == "SIP/2.0 200 sip:127.0.0.2:5083 sip:127.0.0.2:5082 <null> 2")
        #expect(
            reply(
                core,
                DispatcherModuleTests.request(callID: "l2").replacingOccurrences(of: "sip:bob@", with: "sip:keep@"))
                == "SIP/2.0 500 kept sip:10.0.0.1")
    }

    @Test func nextDomainRewritesTheRequestURIToTheNextTarget() throws {
        let core = try base.core(
            #"ds_select_domain("1", "8"); ds_next_domain(); $var(a) = $ru; ds_next_domain(); $var(b) = $ru; if (!ds_next_domain()) { sl_send_reply("200", "$var(a) $var(b) $ru"); }"#
        )
        #expect(
            reply(core, DispatcherModuleTests.request(callID: "n1"))
                == "SIP/2.0 200 sip:bob@127.0.0.2:5082 sip:bob@127.0.0.2:5081 sip:bob@127.0.0.2:5081")
    }

    @Test func failoverMovesTheCallsLoadAndUnsetReleasesIt() throws {
        let core = try base.core(
            """
            if ($rm == "CANCEL") { ds_load_unset(); sl_send_reply("200", "unset"); exit; }
            if ($rU == "next") { ds_select_dst("4", "10"); ds_next_dst(); sl_send_reply("200", "$du"); exit; }
            if (!ds_select_dst("4", "10")) { sl_send_reply("503", "full"); exit; }
            sl_send_reply("200", "$du");
            """,
            list: """
                4 sip:127.0.0.5:5001 0 0 duid=a;maxload=1
                4 sip:127.0.0.5:5002 0 0 duid=b;maxload=1

                """, extra: "modparam(\"dispatcher\", \"ds_hash_size\", 4)")
        func loads() throws -> [RPCValue?] {
            let list = try base.rpc(core, "dispatcher.list").get()
            guard case .array(let r)? = list["RECORDS"], case .array(let t)? = r[0]["SET"]?["TARGETS"] else {
                return []
            }
            return t.map { $0["DEST"]?["RUNTIME"]?["DLGLOAD"] }
        }
        // Selected 5002 (first, least loaded), moved to 5001 by ds_next_dst.
        #expect(
            reply(
                core,
                DispatcherModuleTests.request("INVITE", callID: "m1").replacingOccurrences(
                    of: "sip:bob@", with: "sip:next@"))
                == "SIP/2.0 200 sip:127.0.0.5:5001")
        #expect(try loads() == [.int(0), .int(1)])
        #expect(reply(core, DispatcherModuleTests.request("CANCEL", callID: "m1")) == "SIP/2.0 200 unset")
        #expect(try loads() == [.int(0), .int(0)])
    }

    /// The failover records' fields as Kamailio 5.6.3 fills them (checked against it with the
    /// same list and `xavp_dst_mode` 2): `attrs` (the body), `sock` only for a destination with
    /// a socket (Kamailio prints its pointer; Swiftlet the socket), `socket` (mode 2), `dstid`
    /// only with call load, which fails on a further destination without a `duid` after `$du`
    /// and the first record are set (and no count).
    @Test func failoverRecordsCarryAttrsSocketAndDstidAsKamailio() throws {
        let fields =
            "$du $xavp(_dsctx_=>cnt) $xavp(_dsdst_[0]=>uri) $xavp(_dsdst_[0]=>grp) $xavp(_dsdst_[0]=>attrs) "
            + "$xavp(_dsdst_[0]=>sock) $xavp(_dsdst_[0]=>socket) $xavp(_dsdst_[0]=>dstid) $xavp(_dsdst_[1]=>uri) "
            + "$xavp(_dsdst_[1]=>attrs) $xavp(_dsdst_[1]=>sock) $xavp(_dsdst_[1]=>dstid) $xavp(_dsdst_[2]=>uri) "
            + "$xavp(_dsdst_[2]=>sock) $xavp(_dsdst_[2]=>dstid)"
        let core = try base.core(
            """
            if ($rm == "INVITE") { ds_select_dst("1", "10"); } else { ds_select_dst("1", "4"); }
            sl_send_reply("200", "\(fields)");
            """,
            list: """
                1 sip:127.0.0.2:5081 0 0 duid=d1;socket=udp:127.0.0.1:5060;maxload=5;x=y
                1 sip:127.0.0.2:5082 0 0 x=1
                1 sip:127.0.0.2:5083 0 0 duid=d3

                """,
            extra: "modparam(\"dispatcher\", \"xavp_dst_mode\", 2)\nmodparam(\"dispatcher\", \"ds_hash_size\", 9)")
        #expect(
            reply(core, DispatcherModuleTests.request(callID: "r1"))
                == "SIP/2.0 200 sip:127.0.0.2:5083 3 sip:127.0.0.2:5083 1 duid=d3 <null> <null> <null> "
                + "sip:127.0.0.2:5082 x=1 <null> <null> sip:127.0.0.2:5081 udp:127.0.0.1:5060 <null>")
        #expect(
            reply(core, DispatcherModuleTests.request(callID: "r2"))
                == "SIP/2.0 200 sip:127.0.0.2:5082 3 sip:127.0.0.2:5082 1 x=1 <null> <null> <null> "
                + "sip:127.0.0.2:5081 duid=d1;socket=udp:127.0.0.1:5060;maxload=5;x=y udp:127.0.0.1:5060 <null> "
                + "sip:127.0.0.2:5083 <null> <null>")
        #expect(
            reply(core, DispatcherModuleTests.request(callID: "r3"))
                == "SIP/2.0 200 sip:127.0.0.2:5081 3 sip:127.0.0.2:5081 1 duid=d1;socket=udp:127.0.0.1:5060;maxload=5;x=y "
                + "udp:127.0.0.1:5060 udp:127.0.0.1:5060 <null> sip:127.0.0.2:5083 duid=d3 <null> <null> "
                + "sip:127.0.0.2:5082 <null> <null>")
        #expect(
            reply(core, DispatcherModuleTests.request("INVITE", callID: "r4"))
                == "SIP/2.0 200 sip:127.0.0.2:5083 <null> sip:127.0.0.2:5083 1 duid=d3 <null> <null> d3 "
                + "<null> <null> <null> <null> <null> <null> <null>")
    }

    @Test func isFromListModeFourSkipsInactiveTargets() throws {
        let core = try base.core(
            #"if (ds_is_from_list("1", "6")) { sl_send_reply("200", "yes"); } else { sl_send_reply("200", "no"); }"#)
        core.receive(DispatcherModuleTests.request(callID: "f1"), from: "127.0.0.2:5082")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 yes"])
        _ = try base.rpc(core, "dispatcher.set_state", [.string("i"), .int(1), .string("sip:127.0.0.2:5082")]).get()
        core.receive(DispatcherModuleTests.request(callID: "f2"), from: "127.0.0.2:5082")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 no"])
    }

    @Test(arguments: [(0, "no"), (1, "yes"), (2, "yes")])
    func dnsModeSaysWhenHostsAreResolved(mode: Int, expected: String) throws {
        let core = try base.core(
            #"if (ds_is_from_list("1", "3")) { sl_send_reply("200", "yes"); } else { sl_send_reply("200", "no"); }"#,
            list: "1 sip:localhost:5099\n", extra: "modparam(\"dispatcher\", \"ds_dns_mode\", \(mode))")
        core.receive(DispatcherModuleTests.request(callID: "dns"), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 \(expected)"])
    }
}

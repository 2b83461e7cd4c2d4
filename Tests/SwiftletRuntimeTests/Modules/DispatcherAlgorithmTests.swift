import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// Dispatcher's other algorithms, selection modes and checks on the embedded core.
@Suite struct DispatcherAlgorithmTests {
    let base = DispatcherModuleTests()

    func counts(_ d: [String]) -> [String: Int] { d.reduce(into: [:]) { $0[$1, default: 0] += 1 } }

    @Test func weightsDivideEachHundredCallsExactly() throws {
        let core = try base.core(
            "ds_select_dst(\"3\", \"9\"); forward();",
            list: """
                3 sip:127.0.0.4:5001 0 0 weight=20
                3 sip:127.0.0.4:5002 0 0 weight=30
                3 sip:127.0.0.4:5003 0 0 weight=50

                """)
        #expect(
            counts(base.destinations(core, 100))
                == ["127.0.0.4:5001": 20, "127.0.0.4:5002": 30, "127.0.0.4:5003": 50])
    }

    @Test func relativeWeightsFollowTheActiveTargets() throws {
        let core = try base.core(
            "ds_select_dst(\"3\", \"11\"); forward();",
            list: """
                3 sip:127.0.0.4:5001 0 0 rweight=25
                3 sip:127.0.0.4:5002 0 0 rweight=25
                3 sip:127.0.0.4:5003 0 0 rweight=50

                """)
        #expect(
            counts(base.destinations(core, 100))
                == ["127.0.0.4:5001": 25, "127.0.0.4:5002": 25, "127.0.0.4:5003": 50])
        _ = try base.rpc(core, "dispatcher.set_state", [.string("i"), .int(3), .string("sip:127.0.0.4:5003")]).get()
        #expect(counts(base.destinations(core, 100)) == ["127.0.0.4:5001": 50, "127.0.0.4:5002": 50])
    }

    @Test func randomStaysInTheSet() throws {
        let core = try base.core("ds_select_dst(\"1\", \"6\"); forward();")
        let d = Set(base.destinations(core, 60))
        #expect(d.isSubset(of: ["127.0.0.2:5081", "127.0.0.2:5082", "127.0.0.2:5083"]) && d.count >= 2)
    }

    @Test func callLoadPicksTheLeastLoadedAndBYEReleasesIt() throws {
        let core = try base.core(
            """
            if ($rm == "BYE") { ds_load_update(); sl_send_reply("200", "bye"); exit; }
            if (!ds_select_dst("4", "10")) { sl_send_reply("503", "full"); exit; }
            forward();
            """,
            list: """
                4 sip:127.0.0.5:5001 0 0 duid=a;maxload=1
                4 sip:127.0.0.5:5002 0 0 duid=b;maxload=2

                """, extra: "modparam(\"dispatcher\", \"ds_hash_size\", 4)")
        func invite(_ id: String) -> String {
            core.receive(DispatcherModuleTests.request("INVITE", callID: id), from: "127.0.0.1:5070")
            return core.takeSent().map { $0.firstLine.hasPrefix("INVITE") ? "\($0.destination.address)" : $0.firstLine }
                .joined()
        }
        #expect(invite("l1") == "127.0.0.5:5002")
        #expect(invite("l2") == "127.0.0.5:5001")
        #expect(invite("l3") == "127.0.0.5:5002")
        #expect(invite("l4") == "SIP/2.0 503 full")
        let list = try base.rpc(core, "dispatcher.list").get()
        guard case .array(let records)? = list["RECORDS"], case .array(let t)? = records[0]["SET"]?["TARGETS"] else {
            Issue.record("no targets")
            return
        }
        #expect(t.map { $0["DEST"]?["RUNTIME"]?["DLGLOAD"] } == [.int(2), .int(1)])
        core.receive(DispatcherModuleTests.request("BYE", callID: "l2"), from: "127.0.0.1:5070")
        _ = core.takeSent()
        #expect(invite("l5") == "127.0.0.5:5001")
        // A request other than INVITE takes the first target without counting.
        core.receive(DispatcherModuleTests.request(callID: "o1"), from: "127.0.0.1:5070")
        #expect(core.takeSent().map { "\($0.destination.address)" } == ["127.0.0.5:5002"])
    }

    @Test func callLoadEntriesExpireWithTheTimer() throws {
        let core = try base.core(
            "if (!ds_select_dst(\"4\", \"10\")) { sl_send_reply(\"503\", \"full\"); exit; } forward();",
            list: "4 sip:127.0.0.5:5001 0 0 duid=a;maxload=1\n",
            extra: """
                modparam("dispatcher", "ds_hash_size", 4)
                modparam("dispatcher", "ds_hash_initexpire", 5)
                modparam("dispatcher", "ds_hash_check_interval", 1)
                """)
        core.receive(DispatcherModuleTests.request("INVITE", callID: "e1"), from: "127.0.0.1:5070")
        #expect(core.takeSent().first?.firstLine.hasPrefix("INVITE") == true)
        core.receive(DispatcherModuleTests.request("INVITE", callID: "e2"), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 503 full"])
        core.advance(milliseconds: 8000)
        core.receive(DispatcherModuleTests.request("INVITE", callID: "e3"), from: "127.0.0.1:5070")
        #expect(core.takeSent().first?.firstLine.hasPrefix("INVITE") == true)
    }

    @Test func parallelForksToTheWholeSet() throws {
        let core = try base.core(#"ds_select_dst("1", "12"); t_relay();"#)
        core.receive(TMModuleTests.invite(callID: "p1"), from: TMModuleTests.caller)
        let invites = core.takeSent().filter { $0.firstLine.hasPrefix("INVITE") }.map { "\($0.destination.address)" }
        #expect(invites == ["127.0.0.2:5083", "127.0.0.2:5082", "127.0.0.2:5081"])
    }

    @Test func selectDomainRewritesTheRequestURIHost() throws {
        let core = try base.core(#"ds_select_domain("2", "8"); sl_send_reply("200", "$ru $xavp(_dsdst_[1]=>uri)");"#)
        core.receive(DispatcherModuleTests.request(callID: "d1"), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 sip:bob@127.0.0.3:5091 sip:127.0.0.3:5090"])
    }

    @Test func selectFillsTheXAVPsAndRoutesChainSets() throws {
        let core = try base.core(
            """
            if ($rU == "x") {
                ds_select("1", "4");
                sl_send_reply("200", "du=$du cnt=$xavp(_dsctx_=>cnt) $xavp(_dsdst_=>uri) $xavp(_dsdst_[2]=>uri) $xavp(_dsdst_=>grp)");
                exit;
            }
            ds_select_routes("2=8;1=4", "0", "3");
            sl_send_reply("200", "du=$du cnt=$xavp(_dsctx_=>cnt) $xavp(_dsdst_[0]=>uri) $xavp(_dsdst_[1]=>uri) $xavp(_dsdst_[2]=>uri) $xavp(_dsdst_[2]=>grp) $xavp(_dsdst_[3]=>uri)");
            """)
        core.receive(
            DispatcherModuleTests.request(callID: "x1").replacingOccurrences(of: "sip:bob@", with: "sip:x@"),
            from: "127.0.0.1:5070")
        #expect(
            core.takeSent().map(\.firstLine)
                == ["SIP/2.0 200 du=<null> cnt=3 sip:127.0.0.2:5083 sip:127.0.0.2:5081 1"])
        core.receive(DispatcherModuleTests.request(callID: "x2"), from: "127.0.0.1:5070")
        #expect(
            core.takeSent().map(\.firstLine) == [
                "SIP/2.0 200 du=sip:127.0.0.3:5091 cnt=3 sip:127.0.0.3:5091 sip:127.0.0.3:5090 sip:127.0.0.2:5082 1 <null>"
            ])
    }

    @Test func isFromListMatchesAddressPortAndProtocol() throws {
        let core = try base.core(
            """
            $var(r) = "";
            if (ds_is_from_list()) { $var(r) = $var(r) + "any "; }
            if (ds_is_from_list("1")) { $var(r) = $var(r) + "set1 "; }
            if (ds_is_from_list("2")) { $var(r) = $var(r) + "set2 "; }
            if (ds_is_from_list("1", "0")) { $var(r) = $var(r) + "proto "; }
            if (ds_is_from_list("-1", "2", "sip:127.0.0.3:5090")) { $var(r) = $var(r) + "uri=" + $avp(ds) + " "; }
            if (ds_list_exists("2") && !ds_list_exists("9")) { $var(r) = $var(r) + "exists "; }
            if (ds_is_active("1", "sip:127.0.0.2:5082")) { $var(r) = $var(r) + "active"; }
            sl_send_reply("200", "$var(r) set=$avp(ds)");
            """, extra: "modparam(\"dispatcher\", \"setid_pvname\", \"$avp(ds)\")")
        core.receive(DispatcherModuleTests.request(callID: "i1"), from: "127.0.0.2:5082")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 any set1 uri=2 exists active set=2"])
        core.receive(DispatcherModuleTests.request(callID: "i2"), from: "127.0.0.2:5999")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 uri=2 exists active set=2"])
    }

    @Test func latencyAlgorithmOrdersByPriority() throws {
        let core = try base.core(
            #"ds_select_dst("2", "13"); sl_send_reply("200", "$du $xavp(_dsdst_[1]=>uri)");"#)
        core.receive(DispatcherModuleTests.request(callID: "t1"), from: "127.0.0.1:5070")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 sip:127.0.0.3:5091 sip:127.0.0.3:5090"])
    }

    @Test func isFromListComparesPortAndProtocolAsKamailio() throws {
        // Kamailio 5.6 answers "s1 uri0" to this script (a URI without port matches any port;
        // one without transport matches only with mode 2, or a URI without transport).
        let core = try base.core(
            """
            $var(r) = "";
            if (ds_is_from_list("1")) { $var(r) = $var(r) + "s1 "; }
            if (ds_is_from_list("1", "0")) { $var(r) = $var(r) + "s1m0 "; }
            if (ds_is_from_list("2")) { $var(r) = $var(r) + "s2 "; }
            if (ds_is_from_list("1", "0", "sip:127.0.0.1:7000")) { $var(r) = $var(r) + "uri0 "; }
            if (ds_is_from_list("1", "0", "sip:127.0.0.1:7000;transport=udp")) { $var(r) = $var(r) + "uriudp "; }
            sl_send_reply("200", "r=$var(r)");
            """, list: "1 sip:127.0.0.1\n2 sip:127.0.0.1:5999\n")
        core.receive(DispatcherModuleTests.request(callID: "k1"), from: "127.0.0.1:40000")
        #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 r=s1 uri0 "])
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// pike on the embedded core: the stock configuration's `WITH_ANTIFLOOD` block blocks a
/// flooding source (and bans it in htable's `ipban`) while other sources are served, and
/// `pike_check_ip` returns Kamailio's codes as the sampling intervals pass on the virtual
/// clock.
@Suite struct PikeModuleTests {
    /// The modules, parameters and REQINIT lines of Kamailio's stock kamailio.cfg with
    /// WITH_ANTIFLOOD (then a 200 for what gets through).
    static let antiflood = """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"
        loadmodule "xlog.so"
        loadmodule "htable.so"
        loadmodule "pike.so"
        modparam("pike", "sampling_time_unit", 2)
        modparam("pike", "reqs_density_per_unit", 16)
        modparam("pike", "remove_latency", 4)
        modparam("htable", "htable", "ipban=>size=8;autoexpire=300;")
        request_route {
            if ($rU == "ip") {
                $var(i) = 0; $var(s) = "";
                while ($var(i) < $(hdr(X-Count){s.int})) {
                    pike_check_ip("$hdr(X-IP)");
                    $var(s) = $var(s) + $rc + ",";
                    $var(i) = $var(i) + 1;
                }
                sl_send_reply("200", "$var(s)");
                exit;
            }
            if(src_ip!=myself) {
                if($sht(ipban=>$si)!=$null) {
                    # ip is already blocked
                    xdbg("request from blocked IP - $rm from $fu (IP:$si:$sp)\\n");
                    exit;
                }
                if (!pike_check_req()) {
                    xlog("L_ALERT","ALERT: pike blocking $rm from $fu (IP:$si:$sp)\\n");
                    $sht(ipban=>$si) = 1;
                    exit;
                }
            }
            sl_send_reply("200", "OK");
        }
        """

    static func options(_ n: Int, headers: [String] = [], user: String = "x") -> String {
        ([
            "OPTIONS sip:\(user)@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK-p\(n)",
            "From: <sip:flood@example.org>;tag=f\(n)", "To: <sip:\(user)@127.0.0.1>", "Call-ID: pike-\(n)",
            "CSeq: 1 OPTIONS", "Max-Forwards: 70",
        ] + headers + ["Content-Length: 0"]).joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// Sends `count` requests from `source`; the number answered.
    static func flood(_ core: EmbeddedCore, from source: String, count: Int) -> Int {
        var answered = 0
        for i in 0..<count {
            core.receive(options(i), from: source)
            answered += core.takeSent().filter { $0.firstLine == "SIP/2.0 200 OK" }.count
        }
        return answered
    }

    @Test func aFloodingSourceIsBlockedWhileAnotherIsServed() throws {
        let core = try EmbeddedCore(config: Self.antiflood, modulePath: productsDirectory)
        // The prefix nodes 127, 127.0, 127.0.0 and the address take the first 6 requests;
        // the address turns red at its 16th hit: 21 answered, the rest dropped.
        #expect(Self.flood(core, from: "127.0.0.5:5070", count: 40) == 21)
        #expect(Self.flood(core, from: "127.0.0.9:5070", count: 5) == 5)
        let ban = try core.context.rpcs.call(
            RPCRequest(method: "htable.get", params: [.string("ipban"), .string("127.0.0.5")])
        ).get()
        #expect(ban["item"]?["value"] == .int(1))
        let top = try core.context.rpcs.call(RPCRequest(method: "pike.top", params: [])).get()
        #expect(top["max_hits"] == .int(16))
        guard case .array(let rows)? = top["list"], rows.count == 1 else {
            Issue.record("pike.top: \(top)")
            return
        }
        #expect(rows[0]["ip_addr"] == .string("127.0.0.5"))
        #expect(rows[0]["status"] == .string("HOT"))
        // Pike forgets the source after remove_latency, but the ban holds for autoexpire (300 s).
        core.advance(milliseconds: 60_000)
        #expect(Self.flood(core, from: "127.0.0.5:5070", count: 3) == 0)
        core.advance(milliseconds: 241_000)
        #expect(Self.flood(core, from: "127.0.0.5:5070", count: 3) == 3)
    }

    /// Kamailio's return codes: 1 while under the limit, -2 when the address turns red, -1
    /// while it stays red; an interval below the limit unblocks it.
    @Test func pikeCheckIPReturnCodesFollowTheSamplingIntervals() throws {
        let core = try EmbeddedCore(config: Self.antiflood, modulePath: productsDirectory)
        func check(_ ip: String, _ count: Int) -> [Int] {
            core.receive(
                Self.options(0, headers: ["X-IP: \(ip)", "X-Count: \(count)"], user: "ip"), from: "127.0.0.1:5070")
            let sent = core.takeSent()
            guard sent.count == 1 else { return [] }
            return sent[0].firstLine.dropFirst("SIP/2.0 200 ".count).split(separator: ",").compactMap { Int($0) }
        }
        #expect(check("10.1.2.3", 25) == Array(repeating: 1, count: 21) + [-2, -1, -1, -1])
        #expect(check("2001:db8::1", 3) == [1, 1, 1])
        // The next interval still counts the previous one's hits (average of the two).
        core.advance(milliseconds: 2000)
        #expect(check("10.1.2.3", 1) == [-1])
        core.advance(milliseconds: 2000)
        core.advance(milliseconds: 2000)
        #expect(check("10.1.2.3", 1) == [1])
        #expect(check("not-an-ip", 1) == [-1])
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// htable on the embedded core: the script reads and writes the tables, and the test reads
/// the results from the reason phrase of the reply (`sl_send_reply("200", "...")`), with
/// expiry on the virtual clock.
@Suite struct HTableModuleTests {
    static let caller = "127.0.0.1:5070"

    static func config(_ routes: String, tables: [String], extra: String = "") -> String {
        """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"
        loadmodule "xlog.so"
        loadmodule "htable.so"
        \(tables.map { "modparam(\"htable\", \"htable\", \"\($0)\")" }.joined(separator: "\n"))
        \(extra)
        \(routes)
        """
    }

    static func request(_ user: String, callID: String = "ht-1", header: String? = nil) -> String {
        var lines = [
            "OPTIONS sip:\(user)@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-\(callID)",
            "From: <sip:alice@127.0.0.1>;tag=a1", "To: <sip:\(user)@127.0.0.1>", "Call-ID: \(callID)",
            "CSeq: 1 OPTIONS", "Max-Forwards: 70",
        ]
        if let header { lines.append(header) }
        lines.append("Content-Length: 0")
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// Sends a request for `user` and returns the reason phrase of the reply.
    static func ask(_ core: EmbeddedCore, _ user: String) -> String {
        core.receive(request(user), from: caller)
        let sent = core.takeSent()
        guard sent.count == 1 else { return "<\(sent.count) messages sent>" }
        return String(sent[0].firstLine.dropFirst("SIP/2.0 200 ".count))
    }

    static func rpc(_ core: EmbeddedCore, _ method: String, _ params: [RPCValue] = []) -> Result<RPCValue, RPCError> {
        core.context.rpcs.call(RPCRequest(method: method, params: params))
    }

    static let itemRoutes = """
        request_route {
            if ($rU == "set") {
                $sht(t=>a) = "one"; $sht(t=>n) = 5; $sht(c=>plain) = "kept";
                sl_send_reply("200", "set"); exit;
            }
            if ($rU == "get") {
                sl_send_reply("200", "a=$sht(t=>a) n=$sht(t=>n) x=$sht(t=>x) ex=$shtex(t=>a) c=$sht(c=>plain)"); exit;
            }
            if ($rU == "inc") {
                $var(i) = $shtinc(t=>n); $var(d) = $shtdec(t=>fresh); $var(s) = $shtinc(t=>a);
                sl_send_reply("200", "i=$var(i) d=$var(d) s=$var(s)"); exit;
            }
            if ($rU == "itex") {
                sht_iterator_start("i4", "t");
                sht_iterator_next("i4");
                sht_iterator_setex("i4", 7);
                $var(k) = $shtitkey(i4);
                sht_iterator_end("i4");
                sl_send_reply("200", "$shtex(t=>$var(k))"); exit;
            }
            if ($rU == "del") { $sht(t=>a) = $null; sl_send_reply("200", "a=$sht(t=>a)"); exit; }
            if ($rU == "setx") {
                sht_setxs("t", "short", "s", 3); sht_setxi("t", "long", 7, 100);
                $shtex(t=>n) = 2;
                sl_send_reply("200", "short=$shtex(t=>short) long=$shtex(t=>long) n=$shtex(t=>n)"); exit;
            }
            if ($rU == "expired") { sl_send_reply("200", "$sht(log=>a)|$sht(log=>n)|$sht(log=>short)|$shtcn(log=>**)"); exit; }
        }
        event_route[htable:expired:t] {
            $sht(log=>$shtrecord(key)) = $shtrecord(value);
        }
        """

    @Test func setGetIncrementAndDelete() throws {
        let core = try EmbeddedCore(
            config: Self.config(
                Self.itemRoutes, tables: ["t=>size=4;autoexpire=60;initval=0", "c=>size=2", "log=>size=2"]),
            modulePath: productsDirectory)
        #expect(Self.ask(core, "get") == "a=0 n=0 x=0 ex=0 c=<null>")
        #expect(Self.ask(core, "set") == "set")
        #expect(Self.ask(core, "get") == "a=one n=5 x=0 ex=60 c=kept")
        // $shtinc on an integer adds one; a missing item starts from initval; a string gives
        // $null (0 once assigned to $var).
        #expect(Self.ask(core, "inc") == "i=6 d=-1 s=0")
        #expect(Self.ask(core, "itex") == "7")
        #expect(Self.ask(core, "del") == "a=0")
    }

    @Test func itemsExpireOnTheClockAndRunTheExpiredRoute() throws {
        let core = try EmbeddedCore(
            config: Self.config(
                Self.itemRoutes, tables: ["t=>size=4;autoexpire=60", "log=>size=2"],
                extra: "modparam(\"htable\", \"timer_interval\", 5)"), modulePath: productsDirectory)
        #expect(Self.ask(core, "set") == "set")
        #expect(Self.ask(core, "setx") == "short=3 long=100 n=2")
        core.advance(milliseconds: 2000)
        #expect(Self.ask(core, "get") == "a=one n=5 x=<null> ex=58 c=<null>")
        // The sweep at 5 s removes what expired at 3 s and 4 s (n: 2 s after 0 s, short: 3 s).
        core.advance(milliseconds: 3000)
        #expect(Self.ask(core, "expired") == "<null>|5|s|2")
        // 'a' expires 60 s after it was set; it is invisible at once and removed at the next sweep.
        core.advance(milliseconds: 56_000)
        #expect(Self.ask(core, "get") == "a=<null> n=<null> x=<null> ex=0 c=<null>")
        core.advance(milliseconds: 4000)
        #expect(Self.ask(core, "expired") == "one|5|s|3")
        // 'long' (100 s) is still there.
        #expect(try Self.rpc(core, "htable.get", [.string("t"), .string("long")]).get()["item"]?["value"] == .int(7))
    }

    @Test func updateexpireZeroKeepsTheFirstExpiry() throws {
        let core = try EmbeddedCore(
            config: Self.config(Self.itemRoutes, tables: ["t=>size=4;autoexpire=60;updateexpire=0", "log=>size=1"]),
            modulePath: productsDirectory)
        #expect(Self.ask(core, "set") == "set")
        core.advance(milliseconds: 10_000)
        #expect(Self.ask(core, "set") == "set")
        #expect(Self.ask(core, "get") == "a=one n=5 x=<null> ex=50 c=<null>")
    }

    static let scanRoutes = """
        request_route {
            if ($rU == "fill") {
                $sht(c=>k1) = "alpha"; $sht(c=>k2) = "beta"; $sht(c=>k3) = "alphabet"; $sht(c=>pre-x) = 1;
                $sht(c=>pre-y) = 2; $sht(c=>other) = "gamma";
                sl_send_reply("200", "filled"); exit;
            }
            if ($rU == "count") {
                sl_send_reply("200", "$shtcn(c=>^k) $shtcv(c=>^alpha) $shtcn(c=>%~pre) $shtcv(c=>~%bet) $shtcv(c=>==beta) $shtcv(c=>eq2) $shtcn(c=>**)");
                exit;
            }
            if ($rU == "iterate") {
                $var(s) = "";
                sht_iterator_start("i1", "c");
                while (sht_iterator_next("i1")) { $var(s) = $var(s) + $shtitkey(i1) + "=" + $shtitval(i1) + ";"; }
                sht_iterator_end("i1");
                sl_send_reply("200", "$var(s)"); exit;
            }
            if ($rU == "rewrite") {
                sht_iterator_start("i2", "c");
                while (sht_iterator_next("i2")) {
                    if ($shtitkey(i2) == "other") { sht_iterator_sets("i2", "changed"); }
                    if ($shtitkey(i2) == "pre-x") { sht_iterator_seti("i2", 10); }
                }
                sht_iterator_end("i2");
                sl_send_reply("200", "$sht(c=>other) $sht(c=>pre-x)"); exit;
            }
            if ($rU == "match") {
                $var(s) = "";
                if (sht_match_name("c", "eq", "k2")) { $var(s) = $var(s) + "eq "; }
                if (!sht_has_name("c", "sw", "zz")) { $var(s) = $var(s) + "!sw "; }
                if (sht_has_str_value("c", "re", "^gam")) { $var(s) = $var(s) + "re "; }
                if (sht_match_str_value("c", "ne", "alpha")) { $var(s) = $var(s) + "ne"; }
                sl_send_reply("200", "$var(s)"); exit;
            }
            if ($rU == "rm") {
                sht_rm_name_re("c=>^k[12]");
                sht_rm_value_re("c=>^gam");
                sht_rm_name("c", "sw", "pre-");
                sl_send_reply("200", "$shtcn(c=>**)"); exit;
            }
            if ($rU == "rm2") { sht_rm_value("c", "re", "bet"); sht_rm("c", "k1"); sl_send_reply("200", "$shtcn(c=>**)"); exit; }
            if ($rU == "itrm") {
                $var(n) = 0;
                sht_iterator_start("i3", "c");
                if (sht_iterator_next("i3")) { while (sht_iterator_rm("i3")) { $var(n) = $var(n) + 1; } }
                sht_iterator_end("i3");
                sl_send_reply("200", "$var(n) $shtcn(c=>**)"); exit;
            }
            if ($rU == "many") {
                $var(r) = "";
                sht_iterator_start("a", "c"); sht_iterator_start("b", "c"); sht_iterator_start("c", "c");
                sht_iterator_start("d", "c");
                if (!sht_iterator_start("e", "c")) { $var(r) = "fifth refused"; }
                sht_iterator_end("a"); sht_iterator_end("b"); sht_iterator_end("c"); sht_iterator_end("d");
                if (!sht_iterator_next("a")) { $var(r) = $var(r) + ", ended"; }
                sl_send_reply("200", "$var(r)"); exit;
            }
            if ($rU == "reset") { sht_reset("c"); sl_send_reply("200", "$shtcn(c=>**)"); exit; }
        }
        """

    @Test func countsMatchesAndRegexRemoval() throws {
        let core = try EmbeddedCore(
            config: Self.config(Self.scanRoutes, tables: ["c=>size=3"]), modulePath: productsDirectory)
        #expect(Self.ask(core, "fill") == "filled")
        #expect(Self.ask(core, "count") == "3 2 2 1 1 1 6")
        #expect(Self.ask(core, "match") == "eq !sw re ne")
        #expect(Self.ask(core, "rm") == "1")
        #expect(
            try Self.rpc(core, "htable.get", [.string("c"), .string("k3")]).get()["item"]?["value"]
                == .string("alphabet"))
        #expect(Self.ask(core, "fill") == "filled")
        #expect(Self.ask(core, "rm2") == "3")
        #expect(Self.ask(core, "reset") == "0")
    }

    @Test func iteratorsWalkEveryItemInDumpOrder() throws {
        let core = try EmbeddedCore(
            config: Self.config(Self.scanRoutes, tables: ["c=>size=3"]), modulePath: productsDirectory)
        #expect(Self.ask(core, "fill") == "filled")
        let walked = Self.ask(core, "iterate").split(separator: ";").map(String.init)
        #expect(
            Set(walked) == ["k1=alpha", "k2=beta", "k3=alphabet", "pre-x=1", "pre-y=2", "other=gamma"])
        // The walk follows the slots in order, as htable.dump lists them.
        guard case .success(.array(let slots)) = Self.rpc(core, "htable.dump", [.string("c")]) else {
            Issue.record("htable.dump failed")
            return
        }
        var dumped: [String] = []
        for slot in slots {
            guard case .array(let items)? = slot["slot"] else { continue }
            for item in items {
                if case .string(let n)? = item["name"] { dumped.append(n) }
            }
        }
        #expect(walked.map { String($0.split(separator: "=")[0]) } == dumped)
        #expect(Self.ask(core, "rewrite") == "changed 10")
        #expect(Self.ask(core, "many") == "fifth refused, ended")
        // sht_iterator_rm removes the item and stands on the next one: 1 while there is one.
        #expect(Self.ask(core, "itrm") == "5 0")
        // The iterator released its slot: another worker thread writes there at once.
        let done = DispatchSemaphore(value: 0)
        Thread {
            _ = Self.rpc(core, "htable.seti", [.string("c"), .string("other"), .int(3)])
            done.signal()
        }.start()
        #expect(done.wait(timeout: .now() + 30) == .success)
    }

    @Test func slotLockMakesReadModifyWriteAtomic() throws {
        let core = try EmbeddedCore(
            config: Self.config(
                """
                request_route {
                    sht_lock("c=>counter");
                    $var(v) = $sht(c=>counter);
                    $sht(c=>counter) = $var(v) + 1;
                    sht_unlock("c=>counter");
                }
                """, tables: ["c=>size=2;initval=0"]), modulePath: productsDirectory)
        let perThread = 2000
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for i in 0..<perThread {
                let ctx = try! ScriptHarness.context(
                    Self.request("x", callID: "lock-\(t)-\(i)"), sourceIP: "127.0.0.1", core: core.context)
                core.loaded.script.runRequestRoute(ctx)
            }
        }
        #expect(
            try Self.rpc(core, "htable.get", [.string("c"), .string("counter")]).get()["item"]?["value"]
                == .int(4 * perThread))
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// `$xavi(root[i]=>field[j])` and the pv module's xavi functions on the embedded core: the
/// script's results come back as reply headers.
@Suite struct XAVIVariableTests {
    static func header(_ route: String) throws -> String? {
        let core = try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                loadmodule "sl.so"
                loadmodule "textops.so"
                loadmodule "pv.so"
                request_route {
                \(route)
                    sl_send_reply("200", "OK");
                }
                """, modulePath: productsDirectory)
        core.receive(ScriptHarness.request(), from: "127.0.0.1:5070")
        let lines = core.takeSent().last?.text.components(separatedBy: "\r\n") ?? []
        return lines.first { $0.hasPrefix("X-R: ") }.map { String($0.dropFirst(5)) }
    }

    @Test func namesMatchWithoutRegardToCase() throws {
        #expect(
            try Self.header(
                #"""
                    $xavi(Gw=>Addr) = "10.0.0.1";
                    $xavi(GW[0]=>port) = 5080;
                    $xavi(gw=>addr) = "10.0.0.2";
                    $xavp(gw=>addr) = "xavp";
                    append_to_reply("X-R: $xavi(GW=>ADDR) $xavi(gw[1]=>aDDr) $xavi(gW[1]=>PORT) $xavi(gw[0]=>port) $xavp(Gw=>addr) $xavp(gw=>addr) $xavi(gw)\r\n");
                """#) == "10.0.0.2 10.0.0.1 5080 <null> <null> xavp <<xavi>>")
    }

    @Test func indexesReplaceAndNullDeletes() throws {
        let h = try Self.header(
            #"""
                $xavi(a=>x) = 1;
                $xavi(a[0]=>x) = 2;
                $xavi(a[0]=>x) = 3;
                $xavi(A[0]=>X[1]) = 20;
                $var(all) = $xavi(a=>x[*]);
                $xavi(a[0]=>x[0]) = $null;
                $var(after) = $xavi(a=>x[*]);
                $xavi(b=>y) = "one";
                $xavi(b=>y) = "two";
                $xavi(B[*]) = $null;
                $var(b) = $xavi(b=>y);
                $xavi(v) = "plain";
                append_to_reply("X-R: $var(all) | $var(after) | $var(b) | $xavi(V)\r\n");
            """#)
        #expect(h == "3, 20, 1 | 20, 1 | 0 | plain")
    }

    @Test func pvFunctionsSetAndRemoveFields() throws {
        #expect(
            try Self.header(
                #"""
                    $var(r) = "";
                    xavi_child_seti("Caller", "Id", "42"); $var(r) = $var(r) + $rc;
                    xavi_child_sets("caller", "NAME", "alice $rU"); $var(r) = $var(r) + $rc;
                    xavi_child_sets("caller", "name", "bob");
                    $var(names) = $xavi(caller=>name[*]);
                    xavi_child_rm("CALLER", "name"); $var(r) = $var(r) + $rc;
                    $var(left) = $xavi(caller=>name[*]);
                    $xavi(plain) = 1;
                    xavi_child_seti("plain", "f", 2); $var(r) = $var(r) + " " + $rc;
                    xavi_rm("caller"); $var(r) = $var(r) + " " + $rc;
                    xavi_rm("caller"); $var(r) = $var(r) + " " + $rc;
                    append_to_reply("X-R: $var(r) | $var(names) | $var(left) | $xavi(caller=>id)\r\n");
                """#) == "111 -1 1 1 | bob, alice alice | alice alice | <null>")
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// `group.name = value desc "..."` custom variables, `$sel(cfg_get.group.name)`, and the
/// expression functions `strlen`, `strempty`, `selval` (as the stock kamailio.cfg's PSTN
/// part uses them).
@Suite(.serialized) struct CustomParameterTests {
    @Test func customVariablesAreReadWithSel() throws {
        let server = try TestServer(
            config: """
                pstn.gw_ip = "192.0.2.101" desc "My PSTN GW Address"
                pstn.gw_port = 5070
                voicemail.srv_ip = "" desc "VoiceMail IP Address"
                log_stderror=yes
                debug=2
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "xlog.so"
                request_route {
                    $var(len) = strlen($sel(cfg_get.pstn.gw_ip));
                    xlog("L_INFO", "gw $sel(cfg_get.pstn.gw_ip):$sel(cfg_get.pstn.gw_port) len=$var(len)\\n");
                    if (strempty($sel(cfg_get.voicemail.srv_ip)) && !strempty($sel(cfg_get.pstn.gw_ip))) {
                        $var(r) = "gw " + selval($sel(cfg_get.pstn.gw_port) == 5070, "default", "other");
                        sl_send_reply("200", "$var(r)");
                        exit;
                    }
                    sl_send_reply("500", "wrong");
                }
                """)
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: server.port)
        #expect(client.receive().map { replyLines($0)[0] } == "SIP/2.0 200 gw default")
        #expect(server.waitForLog("INFO: <script>: gw 192.0.2.101:5070 len=11\n"))
    }

    @Test func groupInstancesAreSelectedPerMessage() throws {
        let (ctx, _) = try ScriptHarness.run(
            """
            pstn.gw_ip = "192.0.2.1" desc "PSTN gateway"
            pstn.gw_port = 5060 desc "its port"
            pstn[2].gw_ip = "192.0.2.2"
            request_route {
                $avp(r) = @cfg_get.pstn.gw_ip;
                if (cfg_select("pstn", 2)) { $avp(r) = @cfg_get.pstn.gw_ip; $avp(r) = $sel(cfg_get.pstn.gw_port); }
                $var(i) = 3;
                if (!cfg_select("pstn", $var(i))) { $avp(r) = @cfg_get.pstn.gw_ip; }
                cfg_reset("pstn");
                $avp(r) = @cfg_get.pstn.gw_ip;
            }
            """)
        #expect(
            (ctx.avps["r"] ?? []).reversed().map(\.stringValue) == [
                "192.0.2.1", "192.0.2.2", "5060", "192.0.2.2", "192.0.2.1",
            ])
        let errors = ScriptHarness.errors(
            "a.b = 1 desc \"x\"\na[1].c = 2\na[1].b = \"s\"\nrequest_route { cfg_select(\"zz\", 1); }\n",
            file: "g.cfg")
        #expect(
            errors == [
                "g.cfg:2:1: error: group instance variable 'a[1].c': 'a.c' is not declared before it",
                "g.cfg:3:10: error: the value of 'a[1].b' must have the type of 'a.b'",
                "g.cfg:4:28: error: configuration group 'zz' not found",
            ])
    }

    @Test func errorsNameTheirPosition() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write(
            "c.cfg",
            """
            a.b = "x" desc
            a.b = 1
            a.c = yes
            loadmodule "xlog.so"
            request_route {
                xlog("$sel(cfg_get.a.zz)");
                xlog("$sel(from.nosuch)");
                if (strlen()) { exit; }
            }
            """)
        let r = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory])
        #expect(r.status == 1)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix(cfg) }.map(String.init)
        #expect(
            errors == [
                "\(cfg):1:11: error: expected 'desc \"text\"' after the value of 'a.b'",
                "\(cfg):3:7: error: the value of 'a.c' must be a string or an integer",
                "\(cfg):6:10: error: xlog: unknown configuration variable 'a.zz' in $sel(cfg_get.a.zz)",
                "\(cfg):7:10: error: xlog: unknown select in $sel(from.nosuch)",
                "\(cfg):8:9: error: strlen() takes 1 parameter(s), 0 given",
            ])
    }
}

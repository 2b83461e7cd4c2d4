import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// `$xavu(root=>field)` on the embedded core (what topos' `xavu_*` parameters read).
@Suite struct XAVUPseudoVariableTests {
    /// `$xavu`: unique names (assigning replaces), `$null` removes, and the lists are emptied
    /// once a received message has been handled.
    @Test func xavuListsLastForOneMessage() throws {
        let core = try EmbeddedCore(
            config: """
                listen=udp:127.0.0.1:35060
                loadmodule "sl.so"
                request_route {
                    $var(before) = $xavu(t=>n);
                    $xavu(t=>n) = "one";
                    $xavu(t=>n) = "two";
                    $xavu(t=>m) = 3;
                    $var(set) = $xavu(t=>n) + "," + $xavu(t=>m) + "," + $xavu(t);
                    $xavu(t=>n) = $null;
                    sl_send_reply("200", "[$var(before)] [$var(set)] [$xavu(t=>n)] [$xavu(t=>m)]");
                }
                """, modulePath: productsDirectory)
        let options = ToposModuleTests.message([
            "OPTIONS sip:x@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-o1",
            "From: <sip:a@example.com>;tag=a1", "To: <sip:x@example.com>", "Call-ID: xavu-1", "CSeq: 1 OPTIONS",
            "Content-Length: 0",
        ])
        for _ in 0..<2 {
            core.receive(options, from: "127.0.0.3:35090")
            #expect(
                ToposModuleTests.firstLine(core.takeSent()[0].text) == "SIP/2.0 200 [0] [two,3,<<xavu>>] [<null>] [3]")
        }
    }
}

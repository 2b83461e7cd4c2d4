import Foundation
import Testing

/// Many calls through tm + rr (the proxy of SIPpTransactionScenarioTests) with no failed
/// call on any side: 10,000 record-routed calls at 500 calls/s, and 1,000 calls forked in
/// parallel to two callees (one answers, the other is cancelled) at 250 calls/s.
///
/// Over UDP a request sent right after another (the BYE after the ACK) may overtake it in
/// the proxy's other worker (Kamailio's too, whose UDP workers also share the socket): the
/// callee then gets the ACK after the BYE; likewise a retransmission of the INVITE that the
/// proxy sent before a late 180 reached it (on a loaded machine) can come after the callee
/// moved on. The stock SIPp UAS counts such a message as a failed call, so the UASes here
/// go on (`-default_behaviors all,-abortunexp`) and the tests check that every unexpected
/// message they logged was such an ACK or INVITE. The callers stay strict.
@Suite(.serialized, .enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
struct SIPpLoadScenarioTests {
    /// A UAS for `calls` calls of `scenario` that logs (and survives) unexpected messages.
    static func uas(_ scenario: String, port: Int, calls: Int, errors: String) -> [String] {
        [
            "-sf", scenario, "-i", "127.0.0.1", "-p", String(port), "-m", String(calls),
            "-default_behaviors", "all,-abortunexp", "-trace_err", "-error_file", errors,
        ]
    }

    /// Every call of every run succeeded, and the UASes' unexpected messages were late ACKs
    /// or INVITE retransmissions only.
    static func expectAllCallsSucceeded(
        _ caller: SIPpParties.Run, _ callees: [SIPpParties.Run], calls: Int, errorLogs: [String], _ server: TestServer
    ) {
        #expect(caller.status == 0, "UAC: \(caller.text.suffix(2500))\nserver: \(server.log.suffix(1500))")
        for run in [caller] + callees {
            #expect(
                run.text.range(of: #"Successful call\s+\|\s+\d+\s+\|\s+\#(calls)\s"#, options: .regularExpression)
                    != nil, "\(run.text.suffix(2500))")
            #expect(run.text.range(of: #"Failed call\s+\|\s+\d+\s+\|\s+0\s"#, options: .regularExpression) != nil)
            #expect(run.status == 0, "\(run.text.suffix(2500))")
        }
        for log in errorLogs {
            let unexpected = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
                .components(separatedBy: "Continuing call on unexpected message").dropFirst()
            let others = unexpected.filter {
                !$0.contains("received 'ACK sip:") && !$0.contains("received 'INVITE sip:")
            }
            #expect(others.isEmpty, "\(others.prefix(3))")
        }
    }

    /// 10,000 record-routed calls (INVITE … BYE, the scenarios of SIPpStatefulCallTests) at
    /// 500 calls/s.
    @Test func tenThousandCallsWithoutAFailure() throws {
        let calls = 10_000
        let uasPort = freeUDPPort()
        let directory = TemporaryDirectory()
        let errors = directory.path + "/uas-errors.log"
        let server = try TestServer(
            config: SIPpTransactionScenarioTests.config(target: #"$du = "sip:127.0.0.1:\#(uasPort)";"#)
                .replacingOccurrences(of: "debug=2", with: "debug=1"))
        let (caller, callees) = try SIPpParties.run(
            uases: [Self.uas(scenariosDirectory + "/stateful/uas.xml", port: uasPort, calls: calls, errors: errors)],
            uac: [
                "-sf", scenariosDirectory + "/stateful/uac.xml", "-i", "127.0.0.1", "-p", String(freeUDPPort()),
                "-m", String(calls), "-r", "500", "127.0.0.1:\(server.port)",
            ], timeout: 60, uasGrace: 15, trace: false)
        Self.expectAllCallsSucceeded(caller, callees, calls: calls, errorLogs: [errors], server)
        #expect(server.stop() == 0)
    }

    /// 1,000 calls forked in parallel (`append_branch`): the first callee answers, the other
    /// rings and is cancelled (200, 487, the proxy's ACK), each time.
    @Test func parallelForkingUnderLoad() throws {
        let calls = 1_000
        let (a, b) = (freeUDPPort(), freeUDPPort())
        let directory = TemporaryDirectory()
        let errors = [directory.path + "/a-errors.log", directory.path + "/b-errors.log"]
        let scenarios = SIPpTransactionScenarioTests.scenarios
        let server = try TestServer(
            config: SIPpTransactionScenarioTests.config(
                target: #"$ru = "sip:a@127.0.0.1:\#(a)"; append_branch("sip:b@127.0.0.1:\#(b)");"#
            ).replacingOccurrences(of: "debug=2", with: "debug=1"))
        let (caller, callees) = try SIPpParties.run(
            uases: [
                Self.uas(scenarios + "uas-answer.xml", port: a, calls: calls, errors: errors[0]),
                Self.uas(scenarios + "uas-ring-cancelled.xml", port: b, calls: calls, errors: errors[1]),
            ],
            uac: [
                "-sf", scenarios + "uac-call.xml", "-i", "127.0.0.1", "-p", String(freeUDPPort()), "-m", String(calls),
                "-r", "250", "127.0.0.1:\(server.port)",
            ], timeout: 40, uasGrace: 10, trace: false)
        Self.expectAllCallsSucceeded(caller, callees, calls: calls, errorLogs: errors, server)
        #expect(server.stop() == 0)
    }
}

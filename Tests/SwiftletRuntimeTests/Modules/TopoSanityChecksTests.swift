import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// `sanity_checks=1` of topoh and topos: the sanity module's default checks run on every
/// received request (SDK `SanityCheckAPI`); a request that fails them is left as it came
/// (not unmasked, not given its stored route) and nothing answers it but the script, as in
/// Kamailio 5.6.3 (checked with `kamailio -f`: its sanity module's reply cannot be sent from
/// the raw data, `sanity checks failed` is logged and the script runs).
@Suite struct TopoSanityChecksTests {
    static let topohConfig = TopohModuleTests.config.replacingOccurrences(
        of: "loadmodule \"topoh.so\"", with: "loadmodule \"sanity.so\"\nloadmodule \"topoh.so\""
    ).replacingOccurrences(
        of: "modparam(\"topoh\", \"mask_callid\", 1)",
        with: "modparam(\"topoh\", \"mask_callid\", 1)\nmodparam(\"topoh\", \"sanity_checks\", 1)")

    /// The caller's BYE to the callee's masked Contact (`TopohModuleTests`), with `cseq`.
    static func topohBye(cseq: String) -> String {
        TopohModuleTests.message([
            "BYE sip:127.0.0.8;line=sr-N6IAzEe53qyfMBN7MGZAOBF-MljAzxy* SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p3",
            "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-a3;rport",
            "Route: <sip:127.0.0.1:35060;lr;ftag=a1>", "From: <sip:alice@127.0.0.1>;tag=a1",
            "To: <sip:bob@127.0.0.1>;tag=b1", "Call-ID: topoh-1@127.0.0.1", "CSeq: \(cseq)", "Max-Forwards: 69",
            "Content-Length: 0",
        ])
    }

    @Test func topohUnmasksARequestThatPassesAndLeavesOneThatFails() throws {
        let core = try EmbeddedCore(config: Self.topohConfig, modulePath: productsDirectory)
        core.receive(Self.topohBye(cseq: "3 BYE"), from: "127.0.0.3:35090")
        let passed = core.takeSent()
        try #require(passed.count == 1)
        #expect(passed[0].destination.address.description == TopohModuleTests.callee)
        #expect(ToposModuleTests.firstLine(passed[0].text) == "BYE sip:bob@127.0.0.1:35080 SIP/2.0")

        // CSeq method other than the request's: sanity's check 32 fails; the Request-URI
        // stays masked, so the BYE goes to the mask address.
        core.receive(Self.topohBye(cseq: "3 INVITE"), from: "127.0.0.3:35090")
        let failed = core.takeSent()
        try #require(failed.count == 1)
        #expect(failed[0].destination.address.description != TopohModuleTests.callee)
        #expect(
            ToposModuleTests.firstLine(failed[0].text)
                == "BYE sip:127.0.0.8;line=sr-N6IAzEe53qyfMBN7MGZAOBF-MljAzxy* SIP/2.0")
        #expect(!failed[0].text.hasPrefix("SIP/2.0 400"))
    }

    static let toposConfig = ToposModuleTests.config.replacingOccurrences(
        of: "loadmodule \"topos.so\"",
        with: "loadmodule \"sanity.so\"\nloadmodule \"topos.so\"\nmodparam(\"topos\", \"sanity_checks\", 1)")

    @Test func toposRoutesARequestThatPassesAndLeavesOneThatFails() throws {
        let (core, _, uid) = try ToposModuleTests().establish(config: Self.toposConfig)
        func ack(_ cseq: String) -> String {
            ToposModuleTests.message([
                "ACK sip:a\(uid)@127.0.0.1:35060 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.3:35090;branch=z9hG4bK-p2",
                "Via: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-c2;rport", "From: <sip:alice@example.com>;tag=a1",
                "To: <sip:bob@example.com>;tag=b1", "Call-ID: topos-1@127.0.0.1", "CSeq: \(cseq)",
                "Max-Forwards: 70", "Content-Length: 0",
            ])
        }
        // A CSeq method other than ACK fails sanity's check 32: topos leaves the request as
        // it is (no Route, its Request-URI this proxy's), the script answers it.
        core.receive(ack("1 INVITE"), from: ToposModuleTests.upstreamProxy)
        let failed = core.takeSent()
        #expect(failed.allSatisfy { $0.destination.address.description != ToposModuleTests.downstreamProxy })

        // The same ACK with a good CSeq gets the dialog's route to the callee.
        core.receive(ack("1 ACK"), from: ToposModuleTests.upstreamProxy)
        let passed = core.takeSent()
        try #require(passed.count == 1)
        #expect(passed[0].destination.address.description == ToposModuleTests.downstreamProxy)
        #expect(ToposModuleTests.firstLine(passed[0].text) == "ACK sip:bob@127.0.0.1:35080 SIP/2.0")
    }

    @Test func toposSanityChecksWithoutTheSanityModuleStopStartUp() {
        let config = ToposModuleTests.config.replacingOccurrences(
            of: "loadmodule \"topos.so\"", with: "loadmodule \"topos.so\"\nmodparam(\"topos\", \"sanity_checks\", 1)")
        do {
            _ = try EmbeddedCore(config: config, modulePath: productsDirectory)
            Issue.record("started with sanity_checks=1 without sanity")
        } catch {
            #expect("\(error)".contains("cannot bind to sanity module"))
        }
    }
}

import Foundation
import Testing

/// Full calls (INVITE/180/200/ACK/BYE/200) from a SIPp UAC through the stateless proxy to a
/// SIPp UAS, over UDP and TCP, IPv4 and IPv6. sipp exits 0 only when every call succeeded.
@Suite(.serialized) struct SIPpStatelessCallTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let transport: String  // udp | tcp
        let ip: String
        var testDescription: String { "\(transport) over \(ip)" }
        var hostPort: String { ip.contains(":") ? "[\(ip)]" : ip }
        var sippTransport: [String] { transport == "tcp" ? ["-t", "t1"] : ["-t", "u1"] }
    }

    static let cases = [
        Case(transport: "udp", ip: "127.0.0.1"), Case(transport: "tcp", ip: "127.0.0.1"),
        Case(transport: "udp", ip: "::1"), Case(transport: "tcp", ip: "::1"),
    ]

    static func sipp(_ arguments: [String]) throws -> (SpawnedProcess, Pipe) {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: sippPath!)
        p.arguments = arguments + ["-nostdin", "-timeout", "30s"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        return (p, out)
    }

    /// A SIPp run's exit status and output.
    struct Run {
        let status: Int32
        let text: String
    }

    /// Starts the UAS, then runs the UAC to its end, then waits (at most 10 s) for the UAS.
    static func call(uas uasArguments: [String], uac uacArguments: [String]) throws -> (uac: Run, uas: Run) {
        let (uas, uasOut) = try sipp(uasArguments)
        usleep(300_000)
        let (uac, uacOut) = try sipp(uacArguments)
        let uacText = String(decoding: uacOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let uacStatus = uac.waitForExit(timeout: 60)
        let uasStatus = uas.waitForExit(timeout: 10)
        let uasText = String(decoding: uasOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (Run(status: uacStatus, text: uacText), Run(status: uasStatus, text: uasText))
    }

    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"), arguments: cases)
    func statelessCallsGoThrough(_ c: Case) throws {
        let calls = 30
        let uasPort = freeUDPPort()
        let server = try TestServer(
            config: """
                #!KAMAILIO
                debug=1
                log_stderror=yes
                children=2
                tcp_children=2
                listen=\(c.hostPort):PORT
                request_route {
                    $du = "sip:\(c.hostPort):\(uasPort);transport=\(c.transport)";
                    forward();
                    exit;
                }
                """)
        let (uac, uas) = try Self.call(
            uas: ["-sn", "uas", "-i", c.ip, "-p", String(uasPort), "-m", String(calls)] + c.sippTransport,
            uac: [
                "-sf", scenariosDirectory + "/stateless/uac.xml", "-i", c.ip, "-p", String(freeUDPPort()),
                "-m", String(calls), "-r", "20", "\(c.hostPort):\(server.port)",
            ] + c.sippTransport)
        #expect(uac.status == 0, "UAC: \(uac.text.suffix(1200)) server: \(server.log.suffix(1500))")
        #expect(
            uac.text.range(of: #"Successful call\s+\|\s+\d+\s+\|\s+\#(calls)"#, options: .regularExpression) != nil)
        #expect(uas.status == 0, "UAS: \(uas.text.suffix(1200))")
        #expect(server.stop() == 0)
    }
}

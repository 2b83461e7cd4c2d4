import Foundation
import Testing

/// sipp from Debian's sip-tester (.ci/run installs it).
let sippPath = ["/usr/bin/sipp", "/usr/local/bin/sipp"].first { FileManager.default.isExecutableFile(atPath: $0) }

let scenariosDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Scenarios").path

@Suite(.serialized) struct SIPpTests {
    /// SIPp's UAC sends OPTIONS at 100/s; every one must get a 200 whose To-tag and Via
    /// (rport, received) the scenario checks. sipp exits 0 only if all calls succeeded.
    @Test(.enabled(if: sippPath != nil, "sipp is not installed (apt-get install sip-tester)"))
    func sippOptionsScenario() throws {
        let server = try TestServer(config: basicConfig.replacingOccurrences(of: "debug=2", with: "debug=0"))
        let sippPort = freeUDPPort()
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: sippPath!)
        p.arguments = [
            "-sf", scenariosDirectory + "/options/uac.xml", "-m", "200", "-r", "100", "-i", "127.0.0.1",
            "-p", String(sippPort), "-timeout", "30s", "-nostdin", "127.0.0.1:\(server.port)",
        ]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "sipp failed: \(output.suffix(1500))")
        #expect(output.range(of: #"Successful call\s+\|\s+0\s+\|\s+200"#, options: .regularExpression) != nil)
        #expect(server.stop() == 0)
    }
}

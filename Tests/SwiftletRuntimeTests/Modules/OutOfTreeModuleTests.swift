import Foundation
import Testing

/// examples/hello-module, built on its own (scripts/test.sh builds it before the tests).
let exampleModulePath: String = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent("examples/hello-module/.build/debug/libhello.so").path
}()

@Suite(.serialized) struct OutOfTreeModuleTests {
    /// A module from another package loads into the server, uses its parameter, its PV and
    /// the sl module's API (found by name in mod_init), and answers over UDP.
    @Test(
        .enabled(
            if: FileManager.default.fileExists(atPath: exampleModulePath),
            "build examples/hello-module first (scripts/test.sh does)"))
    func exampleModuleAnswersThroughTheSlAPI() throws {
        let server = try TestServer(
            config: """
                debug=2
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "xlog.so"
                loadmodule "\(exampleModulePath)"
                loadmodule "sl.so"
                modparam("hello", "greeting", "Hi there")
                request_route {
                    hello_reply();
                    xlog("L_INFO", "hello count $hello(count)\\n");
                }
                """)
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: server.port)
        #expect(client.receive().map { replyLines($0)[0] } == "SIP/2.0 200 Hi there")
        client.send(sipRequest(optionsRequest(callID: "second"), clientPort: client.port), to: server.port)
        #expect(client.receive().map { replyLines($0)[0] } == "SIP/2.0 200 Hi there")
        #expect(server.waitForLog("hello count 2"))
        #expect(logHasLine(server.log, nil, "hello", "mod_init: greeting is 'Hi there'"))
        #expect(server.stop() == 0)
        #expect(logHasLine(server.log, nil, "hello", "mod_destroy after 2 replies"))
    }

    /// A timer registered in mod_init runs on the timer thread after every child_init
    /// (the timer thread's own is child_init(-1)) and stops before mod_destroy.
    @Test(
        .enabled(
            if: FileManager.default.fileExists(atPath: exampleModulePath),
            "build examples/hello-module first (scripts/test.sh does)"))
    func aModuleTimerRunsBetweenChildInitAndModDestroy() throws {
        let server = try TestServer(
            config: """
                debug=3
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "\(exampleModulePath)"
                loadmodule "sl.so"
                modparam("hello", "report_interval", 1)
                request_route { hello_reply(); }
                """)
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: server.port)
        #expect(client.receive() != nil)
        #expect(server.waitForLog("(): 1 replies so far", timeout: 10))
        #expect(logHasLine(server.log, nil, "hello", "1 replies so far"))
        #expect(server.stop() == 0)
        let log = server.log
        let firstReport = try #require(log.range(of: "replies so far")).lowerBound
        for rank in [-1, 0, 1] {
            let initLine = try #require(log.range(of: "(): child_init(\(rank))"), "child_init(\(rank))")
            #expect(initLine.lowerBound < firstReport)
        }
        let destroy = try #require(log.range(of: "(): mod_destroy after 1 replies"))
        #expect(log.range(of: "replies so far", options: .backwards)!.lowerBound < destroy.lowerBound)
    }

    @Test(
        .enabled(
            if: FileManager.default.fileExists(atPath: exampleModulePath),
            "build examples/hello-module first (scripts/test.sh does)"))
    func aMissingProviderModuleIsNamed() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write(
            "nosl.cfg",
            "log_stderror=yes\nlisten=udp:127.0.0.1:\(freeUDPPort())\nloadmodule \"\(exampleModulePath)\"\nrequest_route { hello_reply(); }\n"
        )
        let r = try runSwiftlet(["-f", cfg, "-DD", "-L", productsDirectory])
        #expect(r.status == 1)
        #expect(
            r.stderr.contains(
                "initialisation of module 'hello' failed: module 'hello' needs the StatelessReplyAPI API of module 'sl': add loadmodule \"sl.so\""
            ))
    }
}

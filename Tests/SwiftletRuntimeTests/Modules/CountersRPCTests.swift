import Foundation
import Testing

/// The counters framework seen from outside: the core's "core" counters and the counters
/// module's script counters, changed by SIP traffic and by the script, read and reset over
/// the RPC socket with the counters (`cnt.*`) and kex (`stats.*`) commands, with the result
/// shapes Kamailio 5.6's jsonrpcs gives.
@Suite(.serialized) struct CountersRPCTests {
    static let config = """
        log_stderror=yes
        debug=2
        children=1
        listen=udp:127.0.0.1:PORT
        loadmodule "sl.so"
        loadmodule "xlog.so"
        loadmodule "pv.so"
        loadmodule "kex.so"
        loadmodule "counters.so"
        loadmodule "jsonrpcs.so"
        modparam("jsonrpcs", "dgram_socket", "SOCKET")
        modparam("jsonrpcs", "transport", 4)
        modparam("counters", "script_counter", "foo")
        modparam("counters", "script_counter", "grp2.bar: my bar counter")
        request_route {
            cnt_inc("foo");
            cnt_add("grp2.bar", 5);
            xlog("L_INFO", "got $rm rcv=$stat(rcv_requests) foo=$stat(foo) none=$stat(nope)\\n");
            if ($rm == "MESSAGE") { cnt_reset("foo"); }
            sl_send_reply("200", "OK");
        }
        """

    /// Runs swiftletctl against `socket`; returns the decoded reply document.
    static func call(_ socket: String, _ args: [String]) throws -> [String: Any] {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: productsDirectory + "/swiftletctl")
        p.arguments = ["-s", socket] + args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// A server with the configuration above and its RPC socket ready.
    static func start() throws -> (TestServer, (([String]) throws -> [String: Any])) {
        let dir = TemporaryDirectory()
        let socket = dir.path + "/rpc.sock"
        let server = try TestServer(config: config.replacingOccurrences(of: "SOCKET", with: socket))
        let call = { (args: [String]) throws -> [String: Any] in
            _ = dir
            return try Self.call(socket, args)
        }
        for _ in 0..<50 where (try call(["core.version"]))["result"] == nil { usleep(50_000) }
        return (server, call)
    }

    static func reply(code: Int, reason: String, method: String, clientPort: Int) -> String {
        sipRequest(
            [
                "SIP/2.0 \(code) \(reason)", "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-r\(code)",
                "From: <sip:alice@example.com>;tag=abc", "To: <sip:bob@example.com>;tag=x", "Call-ID: r-\(code)",
                "CSeq: 7 \(method)", "Content-Length: 0",
            ], clientPort: clientPort)
    }

    @Test func trafficAndScriptCountersOverRPC() throws {
        let (server, call) = try Self.start()
        let client = UDPClient()
        for (method, id) in [("OPTIONS", "c1"), ("OPTIONS", "c2"), ("INVITE", "c3"), ("FOO", "c4")] {
            client.send(
                sipRequest(optionsRequest(method: method, callID: id), clientPort: client.port), to: server.port)
            _ = try #require(client.receive(), "no reply; log: \(server.log)")
        }
        client.send(
            Self.reply(code: 486, reason: "Busy Here", method: "INVITE", clientPort: client.port), to: server.port)
        client.send(Self.reply(code: 183, reason: "Progress", method: "BYE", clientPort: client.port), to: server.port)
        #expect(server.waitForLog("got FOO rcv=4 foo=4 none=<null>"), "\(server.log)")
        #expect(server.log.contains("got OPTIONS rcv=1 foo=1 none=<null>"))
        #expect(logHasLine(server.log, "WARNING", "pv", "No stat variable ``nope''"))

        // cnt.*: groups and names sorted bytewise, values as Kamailio's jsonrpcs prints them.
        #expect(try call(["cnt.grps_list"])["result"] as? [String] == ["core", "grp2", "script", "shmem", "sl"])
        #expect(try call(["cnt.get", "script", "foo"])["result"] as? Int == 4)
        #expect(try call(["cnt.get", "grp2"])["result"] as? [String: Int] == ["bar": 20])
        #expect(try call(["cnt.grp_get_all", "grp2"])["result"] as? [String: Int] == ["bar": 20])
        #expect(try call(["cnt.get_raw", "grp2", "bar"])["result"] as? Int == 20)
        #expect(try call(["cnt.var_list", "grp2"])["result"] as? [String] == ["bar"])
        #expect(try call(["cnt.list_vars", "nope"])["result"] as? [String] == [])
        #expect(try call(["cnt.get_vars", "nope"])["result"] as? [String: Int] == [:])
        #expect(try call(["cnt.help", "grp2", "bar"])["result"] as? String == "my bar counter")
        #expect(try call(["cnt.help", "script", "foo"])["result"] as? String == "custom script counter.")
        let missing = try call(["cnt.get", "nope", "x"])["error"] as? [String: Any]
        #expect(missing?["code"] as? Int == 400)
        #expect(missing?["message"] as? String == "non-existent counter nope.x\n")
        #expect(try call(["cnt.reset", "script", "foo"])["result"] as? [String: Int] == [:])
        #expect(try call(["cnt.get", "script", "foo"])["result"] as? Int == 0)
        let core = try #require(try call(["cnt.get", "core"])["result"] as? [String: Int])
        #expect(core.count == 85)
        #expect(core["rcv_requests"] == 4)
        #expect(core["rcv_requests_options"] == 2)
        #expect(core["rcv_requests_invite"] == 1)
        #expect(core["unsupported_methods"] == 1)
        #expect(core["rcv_replies"] == 2)
        #expect(core["rcv_replies_4xx"] == 1)
        #expect(core["rcv_replies_486"] == 1)
        #expect(core["rcv_replies_4xx_invite"] == 1)
        #expect(core["rcv_replies_1xx"] == 1)
        #expect(core["rcv_replies_18x"] == 1)
        #expect(core["rcv_replies_1xx_bye"] == 1)
        #expect(core["rcv_replies_2xx"] == 0)

        // stats.*: kex's line format, fetch objects, clear printing the old value.
        let lines = try #require(try call(["stats.get_statistics", "core:"])["result"] as? [String])
        #expect(lines.count == 85)
        #expect(lines.prefix(3) == ["core:bad_URIs_rcvd = 0", "core:bad_msg_hdr = 0", "core:drop_replies = 0"])
        #expect(lines.contains("core:rcv_requests = 4"))
        #expect(
            try call(["stats.get_statistics", "rcv_requests_options", "bar", "nope"])["result"] as? [String] == [
                "core:rcv_requests_options = 2", "grp2:bar = 20",
            ])
        // + the sl group and kex's shmem group
        #expect((try call(["stats.get_statistics", "all"])["result"] as? [String])?.count == 87 + 24 + 6)
        #expect(
            try call(["stats.fetch", "rcv_requests", "grp2:", "core.fwd_requests", "script:foo", "script.nope"])[
                "result"]
                as? [String: String] == [
                    "core.rcv_requests": "4", "grp2.bar": "20", "core.fwd_requests": "0", "script.foo": "0",
                ])
        #expect(try call(["stats.fetchn", "grp2:"])["result"] as? [String: Int] == ["grp2.bar": 20])
        #expect(
            try call(["stats.clear_statistics", "grp2:", "rcv_requests"])["result"] as? String
                == "core:rcv_requests = 0 (4)")
        #expect(try call(["stats.clear_statistics", "bar"])["result"] as? String == "grp2:bar = 0")
        #expect(try call(["stats.reset_statistics", "rcv_requests_options"])["result"] as? [String: Int] == [:])
        #expect(
            try call(["stats.fetchn", "rcv_requests_options"])["result"] as? [String: Int] == [
                "core.rcv_requests_options": 0
            ])
        let none = try call(["stats.get_statistics"])["error"] as? [String: Any]
        #expect(none?["code"] as? Int == 400)
        #expect(none?["message"] as? String == "Please provide which stats to retrieve")

        // cnt_reset() from the script, counting on after a reset.
        client.send(
            sipRequest(optionsRequest(method: "MESSAGE", callID: "c5"), clientPort: client.port), to: server.port)
        _ = try #require(client.receive())
        #expect(try call(["cnt.get", "script", "foo"])["result"] as? Int == 0)
        #expect(try call(["cnt.get", "grp2", "bar"])["result"] as? Int == 5)
        #expect(try call(["cnt.get", "core", "rcv_requests_message"])["result"] as? Int == 1)
    }

    /// Four workers count into their own rows; the values are the sums of the rows, and an
    /// RPC reset starts them from 0 again. All four receive from the start
    /// (`udp_standby_workers=0`): with a standby pool, a light burst may stay on worker 0.
    @Test func countsFromSeveralWorkersAddUp() throws {
        let dir = TemporaryDirectory()
        let socket = dir.path + "/rpc.sock"
        let server = try TestServer(
            config: Self.config.replacingOccurrences(of: "SOCKET", with: socket).replacingOccurrences(
                of: "children=1", with: "children=4\nudp_standby_workers=0"))
        for _ in 0..<50 where (try Self.call(socket, ["core.version"]))["result"] == nil { usleep(50_000) }
        let port = server.port
        func burst(_ tag: String) {
            DispatchQueue.concurrentPerform(iterations: 4) { c in
                let client = UDPClient()
                for i in 0..<50 {
                    let request = optionsRequest(callID: "\(tag)-\(c)-\(i)")
                    client.send(sipRequest(request, clientPort: client.port), to: port)
                    _ = client.receive()
                }
            }
        }
        burst("a")
        #expect(try Self.call(socket, ["cnt.get", "script", "foo"])["result"] as? Int == 200)
        #expect(try Self.call(socket, ["cnt.get", "core", "rcv_requests_options"])["result"] as? Int == 200)
        let workers = Set(server.log.split(separator: "\n").filter { $0.contains("got OPTIONS") }.map { $0.prefix(3) })
        #expect(workers.count > 1, "one worker took every request")
        #expect(try Self.call(socket, ["cnt.reset", "script", "foo"])["result"] as? [String: Int] == [:])
        burst("b")
        #expect(try Self.call(socket, ["cnt.get", "script", "foo"])["result"] as? Int == 200)
        #expect(try Self.call(socket, ["cnt.get", "grp2", "bar"])["result"] as? Int == 2000)
    }

    @Test func unknownCountersAreConfigurationErrors() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write(
            "c.cfg",
            """
            loadmodule "counters.so"
            modparam("counters", "script_cnt_grp_name", "mine")
            modparam("counters", "script_counter", "a")
            request_route {
                cnt_inc("mine.a");
                cnt_inc("a");
                cnt_add("b", 2);
                cnt_reset("other.a");
            }
            """)
        let r = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory])
        #expect(r.status == 1)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix(cfg) }
        #expect(
            errors == [
                "\(cfg):7:13: error: cnt_add: counter mine.b does not exist (forgot to define it?)",
                "\(cfg):8:15: error: cnt_reset: counter other.a does not exist (forgot to define it?)",
            ], "\(r.stderr)")
    }
}

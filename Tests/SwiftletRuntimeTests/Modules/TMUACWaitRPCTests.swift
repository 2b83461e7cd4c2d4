import Foundation
import Synchronization
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// `tm.t_uac_wait`: a delayed RPC reply once the local request's final reply came — on the
/// embedded core (virtual clock) through `RPCRegistry.call(_:reply:)`, and with the running
/// binary over jsonrpcs' datagram socket, which goes on serving other commands meanwhile.
@Suite(.serialized) struct TMUACWaitRPCTests {
    final class Box: @unchecked Sendable {
        let lock = Mutex<[Result<RPCValue, RPCError>]>([])
        func add(_ r: Result<RPCValue, RPCError>) { lock.withLock { $0.append(r) } }
        var all: [Result<RPCValue, RPCError>] { lock.withLock { $0 } }
    }

    static let params: [RPCValue] = [
        .string("OPTIONS"), .string("sip:bob@127.0.0.2:5080"), .string("."), .string("."),
        .string("From: <sip:alice@127.0.0.1>;tag=f1\r\nTo: <sip:bob@127.0.0.2>\r\nCall-ID: wait-1\r\n"),
    ]

    @Test func theReplyComesWithTheFinalReply() throws {
        let core = try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                loadmodule "tm.so"
                modparam("tm", "fr_timer", 2000)
                request_route { exit; }

                """, modulePath: productsDirectory)
        let rpcs = core.context.rpcs
        // A transport that cannot wait gets Kamailio's fault.
        #expect(
            rpcs.call(RPCRequest(method: "tm.t_uac_wait", params: Self.params))
                == .failure(RPCError(600, "Reply wait/async mode not supported by this rpc transport")))
        _ = core.takeSent()
        let box = Box()
        rpcs.call(RPCRequest(method: "tm.t_uac_wait", params: Self.params)) { box.add($0) }
        let sent = core.takeSent()
        #expect(sent.map(\.firstLine) == ["OPTIONS sip:bob@127.0.0.2:5080 SIP/2.0"])
        #expect(box.all.isEmpty)
        core.receive(TMModuleTests.reply(to: sent[0], 100, "Trying", toTag: nil), from: "127.0.0.2:5080")
        #expect(box.all.isEmpty)
        var ok = TMModuleTests.reply(to: sent[0], 200, "OK", toTag: "b1")
        ok = ok.replacingOccurrences(
            of: "Content-Length: 0",
            with:
                "Contact: <sip:bob@127.0.0.2:5080>\r\nRecord-Route: <sip:p2.example;lr>, <sip:p1.example;lr>\r\nContent-Length: 0"
        )
        core.receive(ok, from: "127.0.0.2:5080")
        guard case .success(.array(let result))? = box.all.first, box.all.count == 1 else {
            Issue.record("no delayed reply: \(box.all)")
            return
        }
        #expect(result.count == 6)
        #expect(
            Array(result.prefix(5)) == [
                .int(200), .string("OK"), .string("sip:bob@127.0.0.2:5080"), .string("sip:p1.example;lr"),
                .string("Route: <sip:p1.example;lr>, <sip:p2.example;lr>"),
            ])
        guard case .string(let rest) = result[5] else { return }
        #expect(rest.contains("Call-ID: wait-1\r\n"))
        // Another request that gets no reply: tm's 408 at fr_timer.
        rpcs.call(
            RPCRequest(
                method: "tm.t_uac_wait",
                params: Array(Self.params.prefix(4)) + [.string("From: <sip:a@127.0.0.1>\r\nTo: <sip:b@127.0.0.2>\r\n")]
            )
        ) { box.add($0) }
        core.advance(milliseconds: 2_000)
        #expect(
            box.all.last
                == .success(
                    .array([.int(408), .string("Request Timeout"), .string(""), .string(""), .string(""), .string("")]))
        )
    }

    /// The binary: `tm.t_uac_wait` over jsonrpcs answers once the callee replies, and
    /// `core.version` sent meanwhile is answered at once.
    @Test func jsonrpcsAnswersLaterAndServesOthersMeanwhile() throws {
        let dir = TemporaryDirectory()
        let socket = dir.path + "/rpc.sock"
        let server = try TestServer(
            config: """
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "tm.so"
                loadmodule "jsonrpcs.so"
                modparam("jsonrpcs", "dgram_socket", "\(socket)")
                modparam("jsonrpcs", "transport", 4)
                request_route { exit; }
                """)
        let callee = SIPSocketParty(user: "bob")
        let ctl = productsDirectory + "/swiftletctl"
        func start(_ args: [String]) throws -> (SpawnedProcess, Pipe) {
            let p = SpawnedProcess()
            p.executableURL = URL(fileURLWithPath: ctl)
            p.arguments = ["-s", socket] + args
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            return (p, out)
        }
        func result(_ run: (SpawnedProcess, Pipe)) -> Any? {
            let data = run.1.fileHandleForReading.readDataToEndOfFile()
            run.0.waitUntilExit()
            return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["result"]
        }
        // The socket appears once the main process ran child_init(0).
        var version: Any?
        for _ in 0..<50 where version == nil {
            version = result(try start(["core.version"]))
            if version == nil { usleep(50_000) }
        }
        let uri = "sip:bob@127.0.0.1:\(callee.port)"
        let waiting = try start([
            "tm.t_uac_wait", "OPTIONS", uri, ".", ".", "From: <sip:alice@127.0.0.1>\r\nTo: <\(uri)>\r\n",
        ])
        guard let options = callee.next(timeout: 3), options.firstLine.hasPrefix("OPTIONS ") else {
            waiting.0.terminate()
            let out = String(decoding: waiting.1.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            Issue.record("no OPTIONS came; tm.t_uac_wait answered: \(out)")
            return
        }
        #expect(waiting.0.isRunning)
        // Served meanwhile.
        #expect(result(try start(["core.version"])) as? String == version as? String)
        callee.reply(options, "200 OK", toTag: "b1")
        let answer = result(waiting) as? [Any]
        #expect(answer?.first as? Int == 200)
        #expect(answer?[1] as? String == "OK")
        #expect(answer?[2] as? String == callee.contact)
        server.stop()
    }
}

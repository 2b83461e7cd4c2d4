import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Graceful shutdown: SIGTERM while requests are queued in the socket; every one of them
/// still gets its reply before the process exits 0.
@Suite(.serialized) struct ShutdownTests {
    @Test func shutdownUnderLoadLosesNoReply() throws {
        let server = try TestServer(config: basicConfig.replacingOccurrences(of: "debug=2", with: "debug=0"))
        let client = UDPClient()
        var size: Int32 = 8 << 20
        setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let count = 400
        for i in 0..<count {
            client.send(sipRequest(optionsRequest(callID: "down-\(i)@test"), clientPort: client.port), to: server.port)
        }
        // Every datagram is in the server's socket buffer now (loopback delivers at sendto).
        kill(server.process.processIdentifier, SIGTERM)
        var callIDs = Set<String>()
        while let reply = client.receive(timeout: 3) {
            let lines = replyLines(reply)
            #expect(lines[0] == "SIP/2.0 200 OK")
            if let c = lines.first(where: { $0.hasPrefix("Call-ID: ") }) { callIDs.insert(c) }
            if callIDs.count == count { break }
        }
        #expect(callIDs.count == count, "replies: \(callIDs.count) of \(count); log: \(server.log.suffix(800))")
        #expect(server.stop() == 0)
    }
}

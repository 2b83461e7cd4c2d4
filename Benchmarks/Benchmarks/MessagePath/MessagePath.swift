import Benchmark
import Foundation
import SwiftletRuntime
import SwiftletSDK

/// The per-message work of a stateless proxy without the socket calls: parse a received
/// INVITE, run the `stateless` scenario's script (`$du = ...; forward();`), build the
/// forwarded request; then parse the 180 coming back and build the forwarded reply. The
/// transport is a stand-in that keeps the bytes, so the figures are user-space work only
/// (the recvfrom/sendto syscall floor is about 10-13 µs per request on the 2-core VM).
final class DiscardingTransport: TransportLayer, @unchecked Sendable {
    let sockets: [ListeningSocket]
    var sent = 0

    init() {
        let listen = ListenAddress(proto: .udp, address: "127.0.0.1", port: 5060)
        sockets = [
            ListeningSocket(
                index: 0, listen: listen, address: SocketAddress(numericHost: "127.0.0.1", port: 5060)!, fd: -1)
        ]
    }

    func sendSocket(for proto: TransportProtocol, to address: SocketAddress, received: ListeningSocket?)
        -> ListeningSocket?
    { sockets[0] }

    func send(_ bytes: [UInt8], to destination: Destination, from socket: ListeningSocket) -> Bool {
        sent &+= bytes.count
        return true
    }

    func isMyself(host: String, port: Int?, proto: TransportProtocol?) -> Bool { host == "127.0.0.1" && port == 5060 }
}

let invite = Array(
    ("INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\n"
        + "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-19638-1-0\r\n"
        + "From: sipp <sip:sipp@127.0.0.1:5080>;tag=19638SIPpTag001\r\n"
        + "To: service <sip:service@127.0.0.1:5060>\r\n" + "Call-ID: 1-19638@127.0.0.1\r\n" + "CSeq: 1 INVITE\r\n"
        + "Contact: sip:sipp@127.0.0.1:5080\r\n" + "Max-Forwards: 70\r\n" + "Subject: Performance Test\r\n"
        + "Content-Type: application/sdp\r\n" + "Content-Length:   129\r\n\r\n" + "v=0\r\n"
        + "o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n" + "s=-\r\n" + "c=IN IP4 127.0.0.1\r\n" + "t=0 0\r\n"
        + "m=audio 6004 RTP/AVP 0\r\n" + "a=rtpmap:0 PCMU/8000\r\n").utf8)

let ringing = Array(
    ("SIP/2.0 180 Ringing\r\n"
        + "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKa0709fbbd7fc9dd08760e03b052ae265, SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-19638-1-0\r\n"
        + "From: sipp <sip:sipp@127.0.0.1:5080>;tag=19638SIPpTag001\r\n"
        + "To: service <sip:service@127.0.0.1:5060>;tag=19615SIPpTag011\r\n" + "Call-ID: 1-19638@127.0.0.1\r\n"
        + "CSeq: 1 INVITE\r\n" + "Contact: <sip:127.0.0.1:5070;transport=UDP>\r\n" + "Content-Length: 0\r\n\r\n").utf8)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 10_000
    )
    let transport = DiscardingTransport()
    var options = CommandLineOptions()
    options.modulePath = "/nonexistent"
    let loaded = try! ConfigurationLoader.load(
        text: "listen=udp:127.0.0.1:5060\nrequest_route {\n $du = \"sip:127.0.0.1:5070\";\n forward();\n exit;\n}\n",
        file: "stateless.cfg", options: options)
    loaded.install(transport: transport)
    let script = loaded.script
    let receive = ReceiveInfo(
        proto: .udp, sourceIP: "127.0.0.1", sourcePort: 5080, localIP: "127.0.0.1", localPort: 5060,
        socket: transport.sockets[0])
    let fromUAS = ReceiveInfo(
        proto: .udp, sourceIP: "127.0.0.1", sourcePort: 5070, localIP: "127.0.0.1", localPort: 5060,
        socket: transport.sockets[0])

    Benchmark("stateless: INVITE in -> script -> forwarded INVITE built") { benchmark in
        for _ in benchmark.scaledIterations {
            let ctx = MessageContext(message: try SIPMessage(parsing: invite), receive: receive, core: loaded.context)
            script.runRequestRoute(ctx)
        }
        blackHole(transport.sent)
    }

    Benchmark("stateless: 180 in -> reply route -> forwarded 180 built") { benchmark in
        for _ in benchmark.scaledIterations {
            let ctx = MessageContext(message: try SIPMessage(parsing: ringing), receive: fromUAS, core: loaded.context)
            if script.runReplyRoute(ctx) { blackHole(StatelessForwarding.forwardReply(ctx)) }
        }
        blackHole(transport.sent)
    }
}

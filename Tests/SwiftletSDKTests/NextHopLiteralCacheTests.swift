import Testing

@testable import SwiftletSDK

/// The per-thread cache of next hops resolved from URIs with an IP-literal host: the same
/// answer without asking the resolver again, never for a host name or another resolver.
@Suite struct NextHopLiteralCacheTests {
    /// Answers every host with `answer` and counts the questions.
    final class CountingResolver: SIPNameResolver, @unchecked Sendable {
        var questions: [String] = []
        let answer: SocketAddress
        init(_ answer: SocketAddress) { self.answer = answer }
        func resolve(host: String, port: Int?, proto: TransportProtocol?) -> ResolvedTarget? {
            questions.append(host)
            return ResolvedTarget(address: answer, proto: proto ?? .udp)
        }
    }

    @Test func anIPLiteralURIIsResolvedOncePerResolver() throws {
        let a = CountingResolver(SocketAddress(numericHost: "10.0.0.1", port: 5070)!)
        let b = CountingResolver(SocketAddress(numericHost: "10.0.0.2", port: 5071)!)
        let uri = "sip:192.0.2.7:5070;transport=tcp"
        let first = try NextHop.destination(forURI: uri, resolver: a)
        let second = try NextHop.destination(forURI: String("sip:192.0.2.7:5070;transport=tcp"), resolver: a)
        #expect(a.questions == ["192.0.2.7"])
        #expect(first.address == second.address && first.proto == .tcp && second.proto == .tcp)
        let other = try NextHop.destination(forURI: uri, resolver: b)
        #expect(b.questions == ["192.0.2.7"])
        #expect(other.address == SocketAddress(numericHost: "10.0.0.2", port: 5071)!)
        // Another protocol override is another entry.
        let udp = try NextHop.destination(forURI: uri, resolver: a, proto: .udp)
        #expect(udp.proto == .udp)
        #expect(a.questions == ["192.0.2.7", "192.0.2.7"])
    }

    @Test func aHostNameIsAskedEveryTime() throws {
        let r = CountingResolver(SocketAddress(numericHost: "10.0.0.3", port: 5060)!)
        for _ in 0..<3 { _ = try NextHop.destination(forURI: "sip:proxy.example.com", resolver: r) }
        #expect(r.questions == ["proxy.example.com", "proxy.example.com", "proxy.example.com"])
    }

    @Test func aBadURIStillFailsEachTime() {
        let r = CountingResolver(SocketAddress(numericHost: "10.0.0.4", port: 5060)!)
        for _ in 0..<2 {
            #expect(throws: NextHop.Failure.self) {
                try NextHop.destination(forURI: "sip:1.2.3.4;transport=xyz", resolver: r)
            }
        }
        #expect(r.questions.isEmpty)
    }
}

import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// RFC 3263 resolution (NAPTR, SRV, A/AAAA) through libresolv against a fake DNS server
/// on 127.0.0.1: the order of SRV records, NAPTR choices, the protocol that comes back,
/// the fallbacks, the cache, and IP literals that never touch DNS.
@Suite(.serialized) struct DNSResolutionTests {
    /// Runs `body` with the resolver pointed at `dns` and `configure`d settings; restores them.
    func withResolver(
        _ dns: FakeDNSServer, _ configure: (inout DNSSettings) -> Void = { _ in }, _ body: () throws -> Void
    ) rethrows {
        var s = DNSSettings()
        s.server = ("127.0.0.1", dns.port)
        s.retransmitSeconds = 1
        s.retransmissions = 1
        s.useSearchList = false
        configure(&s)
        // A task-local override: suites that load configurations in parallel write
        // `DNSResolver.settings` and must not redirect these lookups.
        DNSResolver.shared.flush()
        defer { DNSResolver.shared.flush() }
        try DNSResolver.$taskSettings.withValue(s) { try body() }
    }

    func resolve(_ host: String, port: Int? = nil, proto: TransportProtocol? = nil) -> String? {
        SIPResolver.resolve(host: host, port: port, proto: proto)?.description
    }

    @Test func srvRecordsAreTriedByPriorityThenHighestWeight() {
        let dns = FakeDNSServer([
            "_sip._udp.order.test": [
                .srv(priority: 20, weight: 100, port: 7003, target: "low.order.test"),
                .srv(priority: 10, weight: 10, port: 7002, target: "light.order.test"),
                .srv(priority: 10, weight: 50, port: 7001, target: "heavy.order.test"),
            ],
            "heavy.order.test": [.a("127.0.0.1")], "light.order.test": [.a("127.0.0.1")],
            "low.order.test": [.a("127.0.0.1")],
        ])
        withResolver(dns) {
            #expect(resolve("order.test") == "udp:127.0.0.1:7001")
        }
        let records = [(20, 100, "c"), (10, 10, "b"), (10, 50, "a"), (10, 50, "a2")].map { p, w, t in
            var r = DNSRecord(kind: .srv)
            r.priority = p
            r.weight = w
            r.target = t
            return r
        }
        #expect(SIPResolver.orderedSRV(records, loadBalancing: false).map(\.target) == ["a", "a2", "b", "c"])
    }

    @Test func aTargetWithoutAddressFallsToTheNextSRVRecord() {
        let dns = FakeDNSServer([
            "_sip._udp.fall.test": [
                .srv(priority: 1, weight: 0, port: 7101, target: "gone.fall.test"),
                .srv(priority: 2, weight: 0, port: 7102, target: "here.fall.test"),
            ],
            "here.fall.test": [.a("127.0.0.1")],
        ])
        withResolver(dns) {
            #expect(resolve("fall.test") == "udp:127.0.0.1:7102")
            #expect(dns.queries("gone.fall.test", 1) == 1)
        }
    }

    @Test func srvLoadBalancingFollowsTheWeights() {
        var a = DNSRecord(kind: .srv)
        a.priority = 1
        a.weight = 75
        a.target = "a"
        var b = a
        b.weight = 25
        b.target = "b"
        var c = a
        c.priority = 2
        c.target = "c"
        var firstA = 0
        for _ in 0..<2000 {
            let order = SIPResolver.orderedSRV([b, c, a], loadBalancing: true).map(\.target)
            #expect(order.last == "c")
            if order.first == "a" { firstA += 1 }
        }
        // 75 % expected; far outside this band means the weights are not used.
        #expect((1300...1700).contains(firstA), "a first \(firstA) times of 2000")
        #expect(SIPResolver.orderedSRV([b, c, a], loadBalancing: false).map(\.target) == ["a", "b", "c"])
    }

    @Test func withoutSRVTheNameIsResolvedAtTheDefaultPort() {
        let dns = FakeDNSServer(["plain.test": [.a("127.0.0.1")], "six.test": [.aaaa("::1")]])
        withResolver(dns) {
            #expect(resolve("plain.test") == "udp:127.0.0.1:5060")
            #expect(dns.queries("_sip._udp.plain.test", 33) == 1)
            #expect(resolve("plain.test", proto: .tls) == "tls:127.0.0.1:5061")
            #expect(dns.queries("_sips._tcp.plain.test", 33) == 1)
            // AAAA only after A, and only with dns_try_ipv6.
            #expect(resolve("six.test") == "udp:[::1]:5060")
        }
        withResolver(dns, { $0.tryIPv6 = false }) {
            #expect(resolve("six.test") == nil)
            #expect(dns.queries("six.test", 28) == 1)
        }
    }

    @Test func aGivenPortMeansAddressRecordsOnly() {
        let dns = FakeDNSServer([
            "_sip._udp.port.test": [.srv(priority: 1, weight: 1, port: 7201, target: "port.test")],
            "_sip._tcp.port.test": [.srv(priority: 1, weight: 1, port: 7202, target: "port.test")],
            "port.test": [
                .a("127.0.0.1"),
                .naptr(
                    order: 1, preference: 1, flags: "s", services: "SIP+D2T", regexp: "",
                    replacement: "_sip._tcp.port.test"),
            ],
        ])
        withResolver(dns, { $0.tryNAPTR = true }) {
            #expect(resolve("port.test", port: 7777) == "udp:127.0.0.1:7777")
            #expect(resolve("port.test", port: 7778, proto: .tcp) == "tcp:127.0.0.1:7778")
            #expect(dns.queries("_sip._udp.port.test", 33) == 0)
            #expect(dns.queries("port.test", 35) == 0)
            // Without a port, NAPTR chooses TCP and its SRV the port.
            #expect(resolve("port.test") == "tcp:127.0.0.1:7202")
        }
    }

    @Test func naptrChoosesTheProtocolThenSRVThenA() {
        let dns = FakeDNSServer([
            "chain.test": [
                .naptr(
                    order: 10, preference: 10, flags: "S", services: "SIP+D2T", regexp: "",
                    replacement: "_sip._tcp.chain.test"),
                .naptr(
                    order: 20, preference: 10, flags: "s", services: "SIP+D2U", regexp: "",
                    replacement: "_sip._udp.chain.test"),
                .naptr(
                    order: 5, preference: 10, flags: "s", services: "SIPS+D2T", regexp: "",
                    replacement: "_sips._tcp.chain.test"),
                .naptr(
                    order: 1, preference: 1, flags: "s", services: "SIP+D2T", regexp: "!^.*$!sip:x@y!",
                    replacement: "."),
            ],
            "_sip._tcp.chain.test": [.srv(priority: 0, weight: 0, port: 7302, target: "tcp.chain.test")],
            "_sip._udp.chain.test": [.srv(priority: 0, weight: 0, port: 7301, target: "udp.chain.test")],
            "_sips._tcp.chain.test": [.srv(priority: 0, weight: 0, port: 7303, target: "tcp.chain.test")],
            "tcp.chain.test": [.a("127.0.0.1")], "udp.chain.test": [.a("127.0.0.1")],
        ])
        // Kamailio's default (dns_naptr_ignore_rfc=yes): UDP is preferred over TCP whatever
        // the order; TLS is not a protocol this server sends over.
        withResolver(dns, { $0.tryNAPTR = true }) {
            #expect(resolve("chain.test") == "udp:127.0.0.1:7301")
        }
        // By the RFC: the lowest order among supported protocols wins.
        withResolver(
            dns,
            {
                $0.tryNAPTR = true; $0.naptrIgnoreRFC = false
            }
        ) {
            #expect(resolve("chain.test") == "tcp:127.0.0.1:7302")
            #expect(dns.queries("_sips._tcp.chain.test", 33) == 0)
        }
        // With TLS supported, the TLS record comes last (lowest preference), the one with a
        // regexp never.
        withResolver(
            dns,
            {
                $0.tryNAPTR = true; $0.supportedProtocols = [.udp, .tcp, .tls]
            }
        ) {
            let ordered = SIPResolver.orderedNAPTR(
                DNSResolver.shared.lookup("chain.test", .naptr), DNSResolver.settings)
            #expect(ordered.map(\.1) == [.udp, .tcp, .tls])
            #expect(
                ordered.map(\.0.target) == ["_sip._udp.chain.test", "_sip._tcp.chain.test", "_sips._tcp.chain.test"])
        }
        // A protocol given (transport=udp) skips NAPTR.
        let naptrQueries = dns.queries("chain.test", 35)
        withResolver(
            dns,
            {
                $0.tryNAPTR = true; $0.naptrIgnoreRFC = false
            }
        ) {
            #expect(resolve("chain.test", proto: .udp) == "udp:127.0.0.1:7301")
        }
        // NAPTR off (Kamailio's default): straight to the UDP SRV.
        withResolver(dns) {
            #expect(resolve("chain.test") == "udp:127.0.0.1:7301")
        }
        #expect(dns.queries("chain.test", 35) == naptrQueries)
    }

    @Test func withoutNAPTRRecordsEachProtocolsSRVIsTriedInPreferenceOrder() {
        let dns = FakeDNSServer([
            "_sip._tcp.notr.test": [.srv(priority: 0, weight: 0, port: 7402, target: "host.notr.test")],
            "host.notr.test": [.a("127.0.0.1")],
            "bare.test": [.a("127.0.0.1")],
        ])
        withResolver(dns, { $0.tryNAPTR = true }) {
            #expect(resolve("notr.test") == "tcp:127.0.0.1:7402")
            #expect(dns.queries("notr.test", 35) == 1)
            #expect(dns.queries("_sip._udp.notr.test", 33) == 1)
            // Nothing but an A record: UDP at 5060, after the UDP and TCP SRV lookups.
            #expect(resolve("bare.test") == "udp:127.0.0.1:5060")
            #expect(dns.queries("_sip._tcp.bare.test", 33) == 1)
            #expect(dns.queries("_sips._tcp.bare.test", 33) == 0)
        }
        withResolver(
            dns,
            {
                $0.tryNAPTR = true; $0.protocolPreference[.tcp] = 40
            }
        ) {
            #expect(SIPResolver.srvOrder(DNSResolver.settings) == [.tcp, .udp])
        }
    }

    @Test func answersAreCachedAndIPLiteralsNeverQuery() {
        let dns = FakeDNSServer(["cached.test": [.a("127.0.0.1")]])
        withResolver(dns) {
            #expect(resolve("cached.test", port: 7500) == "udp:127.0.0.1:7500")
            #expect(resolve("cached.test", port: 7501) == "udp:127.0.0.1:7501")
            #expect(dns.queries("cached.test", 1) == 1)
            // A name that does not exist is cached too (dns_cache_negative_ttl).
            #expect(resolve("missing.test", port: 7502) == nil)
            #expect(resolve("missing.test", port: 7502) == nil)
            #expect(dns.queries("missing.test", 1) == 1)
            #expect(resolve("127.0.0.1") == "udp:127.0.0.1:5060")
            #expect(resolve("[::1]", proto: .tcp) == "tcp:[::1]:5060")
        }
        withResolver(dns, { $0.useCache = false }) {
            _ = resolve("cached.test", port: 7500)
            _ = resolve("cached.test", port: 7500)
            #expect(dns.queries("cached.test", 1) == 3)
        }
    }

    /// `NextHop.destination(forURI:)` through the runtime's resolver: not through
    /// `CoreContext.current`'s, which suites that load configurations in parallel replace.
    func destination(_ uri: String) throws -> Destination {
        try NextHop.destination(forURI: uri, proto: nil, port: nil, resolver: SystemSIPResolver())
    }

    @Test func uriAndViaDestinationsCarryTheChosenProtocol() throws {
        let dns = FakeDNSServer([
            "proxy.test": [
                .naptr(
                    order: 1, preference: 1, flags: "s", services: "SIP+D2T", regexp: "",
                    replacement: "_sip._tcp.proxy.test")
            ],
            "_sip._tcp.proxy.test": [.srv(priority: 0, weight: 0, port: 7602, target: "node.proxy.test")],
            "_sip._udp.proxy.test": [.srv(priority: 0, weight: 0, port: 7601, target: "node.proxy.test")],
            "node.proxy.test": [.a("127.0.0.1")],
        ])
        try withResolver(dns, { $0.tryNAPTR = true }) {
            #expect(try destination("sip:bob@proxy.test").description == "tcp:127.0.0.1:7602")
            #expect(
                try destination("sip:bob@proxy.test;transport=udp").description
                    == "udp:127.0.0.1:7601")
            // A port: A/AAAA only, and proxy.test has none.
            #expect(throws: NextHop.Failure.self) { try destination("sip:bob@proxy.test:7000") }
            #expect(
                try destination("sip:bob@node.proxy.test:7000").description == "udp:127.0.0.1:7000")
            #expect(throws: NextHop.Failure.self) { try destination("sip:bob@nowhere.test") }
            #expect(throws: NextHop.Failure.self) {
                try destination("sips:bob@proxy.test;transport=udp")
            }
            // A Via without a port: SRV for the Via's protocol (RFC 3263 section 5).
            let text = Array("SIP/2.0/UDP proxy.test;branch=z9hG4bK1".utf8)
            let via = try ViaHeader.parse(text, 0..<text.count)
            #expect(
                try NextHop.destination(forReplyVia: via, in: text, resolver: SystemSIPResolver()).description
                    == "udp:127.0.0.1:7601")
        }
    }
}

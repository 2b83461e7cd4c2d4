import SwiftletSDK
import Testing

@testable import SwiftletRuntime

/// `LocalAddresses.isMyself` (Kamailio's `check_self`) for the host forms Route and Via
/// headers carry: IPv4, bracketed and bare IPv6, names and aliases in any case.
@Suite struct LocalAddressesTests {
    let local = LocalAddresses(
        listeners: [
            ListenAddress(proto: .udp, address: "127.0.0.1", port: 5060),
            ListenAddress(proto: .udp, address: "::1", port: 5070),
        ],
        aliases: [LocalAlias(host: "Proxy.Example.com", port: nil, proto: nil)])

    @Test func ipv4HostsAndPorts() {
        #expect(local.isMyself(host: "127.0.0.1", port: 5060))
        #expect(local.isMyself(host: "127.0.0.1", port: nil))
        #expect(!local.isMyself(host: "127.0.0.1", port: 5061))
        #expect(!local.isMyself(host: "127.0.0.2", port: 5060))
        #expect(!local.isMyself(host: "", port: 5060))
    }

    @Test func ipv6WithAndWithoutBrackets() {
        #expect(local.isMyself(host: "[::1]", port: 5070))
        #expect(local.isMyself(host: "::1", port: 5070))
        #expect(local.isMyself(host: "[0:0::1]", port: 5070))
        #expect(!local.isMyself(host: "[::1]", port: 5060))
        #expect(!local.isMyself(host: "[]", port: 5070))
    }

    @Test func aliasesInAnyCase() {
        #expect(local.isMyself(host: "proxy.example.COM", port: 5999))
        #expect(!local.isMyself(host: "other.example.com", port: 5060))
    }
}

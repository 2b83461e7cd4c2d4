import SwiftletSIP
import Testing

@testable import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// `SocketAddress` keeps the first 28 bytes of a `sockaddr_storage` (a `sockaddr_in6`) inline:
/// addresses, ports, text, equality and the kernel's view stay those of the whole storage.
@Suite struct SocketAddressTests {
    /// `ipv4Value`: the IPv4 address as a number in host order, nil for IPv6 and an empty address.
    @Test func ipv4ValueIsTheAddressInHostOrder() throws {
        #expect(try #require(SocketAddress(numericHost: "127.0.0.1", port: 5060)).ipv4Value == 0x7F00_0001)
        #expect(try #require(SocketAddress(numericHost: "192.0.2.255", port: 1)).ipv4Value == 0xC000_02FF)
        #expect(try #require(SocketAddress(numericHost: "::ffff:127.0.0.1", port: 1)).ipv4Value == nil)
        #expect(try #require(SocketAddress(numericHost: "2001:db8::1", port: 1)).ipv4Value == nil)
        #expect(SocketAddress().ipv4Value == nil)
        let a = try #require(SocketAddress(numericHost: "10.20.30.40", port: 9))
        #expect(a.ipv4Value.map { IPAddressText.ipv4("10.20.30.40") == $0 } == true)
    }

    @Test(arguments: [
        ("127.0.0.1", 5060, "127.0.0.1:5060"), ("2001:db8::1", 5061, "[2001:db8::1]:5061"),
        ("[::1]", 0, "[::1]:0"),
    ])
    func literalsRoundTripThroughTheStorage(host: String, port: Int, text: String) throws {
        let a = try #require(SocketAddress(numericHost: host, port: port))
        #expect(a.description == text)
        #expect(a.port == port)
        var b = SocketAddress()
        b.storage = a.storage
        b.length = a.length
        #expect(b == a)
        #expect(b.hashValue == a.hashValue)
        #expect(b.addressBytes == a.addressBytes)
        #expect(b.description == text)
        // The bytes past the inline address read as zero.
        let tail = withUnsafeBytes(of: a.storage) { Array($0[28...]) }
        #expect(tail.allSatisfy { $0 == 0 })
    }

    @Test func anIPv6ScopeIDAndPortChangesAreKept() throws {
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = UInt16(5070).bigEndian
        sin6.sin6_scope_id = 7
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: sin6) { dst.copyMemory(from: $0) } }
        var a = SocketAddress()
        a.storage = storage
        a.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let scope = withUnsafeBytes(of: a.storage) { $0.load(fromByteOffset: 24, as: UInt32.self) }
        #expect(scope == 7)
        a.port = 6000
        #expect(a.port == 6000)
        #expect(a.isIPv6)
        #expect(MemoryLayout<SocketAddress>.size <= 32)
    }

    @Test func receiveFillsAddressAndLength() throws {
        let source = try #require(SocketAddress(numericHost: "192.0.2.7", port: 4000))
        var a = SocketAddress()
        let n = a.receive { sa, length in
            source.withSockaddr { p, l in
                UnsafeMutableRawPointer(sa).copyMemory(from: p, byteCount: Int(l))
                length = l
            }
            return 42
        }
        #expect(n == 42)
        #expect(a == source)
        #expect(a.length == source.length)
        #expect(a.ipString == "192.0.2.7")
    }
}

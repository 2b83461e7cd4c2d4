#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 socket address (a `sockaddr_storage` with its length): where a message
/// came from or goes to (Kamailio's `union sockaddr_union`).
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address as a `sockaddr_in` or `sockaddr_in6`: its first 28 bytes (the size of a
    /// `sockaddr_in6`), kept inline instead of a whole 128-byte `sockaddr_storage`. Every
    /// `Destination`, `ReceiveInfo` and message context holds addresses and is copied on the
    /// relay path: 32 bytes each instead of 136.
    private var raw: (UInt64, UInt64, UInt64, UInt32) = (0, 0, 0, 0)
    public var length = socklen_t(0)

    /// The address as a `sockaddr_storage` (IPv4 and IPv6 only: the bytes after the first 28
    /// are zero when read, dropped when set).
    public var storage: sockaddr_storage {
        get {
            var s = sockaddr_storage()
            withUnsafeMutableBytes(of: &s) { dst in withUnsafeBytes(of: raw) { dst.copyMemory(from: $0) } }
            return s
        }
        set {
            withUnsafeMutableBytes(of: &raw) { dst in
                withUnsafeBytes(of: newValue) {
                    dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<dst.count]))
                }
            }
        }
    }

    /// Reads the address bytes in place (a `sockaddr_in`/`sockaddr_in6` prefix, 28 bytes).
    @inline(__always)
    private func withRaw<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { withUnsafeBytes(of: raw, body) }

    /// Fills the address from a kernel call that writes a `sockaddr` (`recvfrom`,
    /// `getsockname`) and its length, through a `sockaddr_storage` on the stack.
    public mutating func receive(_ fill: (UnsafeMutablePointer<sockaddr>, inout socklen_t) -> Int) -> Int {
        var s = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let n = withUnsafeMutablePointer(to: &s) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { fill($0, &len) }
        }
        storage = s
        length = len
        return n
    }

    public var family: Int32 { withRaw { Int32($0.load(as: sa_family_t.self)) } }
    /// The IPv4 address as a number in host order (`127.0.0.1` is `0x7F00_0001`), nil for
    /// another family: compared and written without making its text.
    public var ipv4Value: UInt32? {
        withRaw { raw in
            Int32(raw.load(as: sa_family_t.self)) == AF_INET
                ? UInt32(bigEndian: raw.load(fromByteOffset: 4, as: UInt32.self)) : nil
        }
    }
    public var isIPv6: Bool { family == AF_INET6 }

    /// Resolves a numeric address or a host name (first result of `getaddrinfo`).
    public init(host: String, port: Int) throws(RuntimeError) {
        if let numeric = SocketAddress(numericHost: host, port: port) {
            self = numeric
            return
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw RuntimeError("cannot resolve '\(host)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(result) }
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(
                from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        length = first.pointee.ai_addrlen
    }

    /// An IP literal (IPv6 with or without brackets) and a port, without any DNS; nil when
    /// `numericHost` is not an IP address.
    public init?(numericHost: String, port: Int) {
        // Dotted-quad IPv4, the usual case, without inet_pton.
        if let v4 = IPAddressText.ipv4(numericHost) {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = UInt16(truncatingIfNeeded: port).bigEndian
            sin.sin_addr.s_addr = v4.bigEndian
            withUnsafeMutableBytes(of: &raw) { dst in
                withUnsafeBytes(of: sin) { dst.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            return
        }
        var h = Substring(numericHost)
        if h.hasPrefix("["), h.hasSuffix("]") { h = h.dropFirst().dropLast() }
        let text = String(h)
        var sin = sockaddr_in()
        if inet_pton(AF_INET, text, &sin.sin_addr) == 1 {
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = UInt16(truncatingIfNeeded: port).bigEndian
            withUnsafeMutableBytes(of: &raw) { dst in
                withUnsafeBytes(of: sin) { dst.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            return
        }
        var sin6 = sockaddr_in6()
        if inet_pton(AF_INET6, text, &sin6.sin6_addr) == 1 {
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = UInt16(truncatingIfNeeded: port).bigEndian
            withUnsafeMutableBytes(of: &raw) { dst in
                withUnsafeBytes(of: sin6) { dst.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            return
        }
        return nil
    }

    public init() {}

    /// The address bytes (4 or 16).
    public var addressBytes: [UInt8] {
        withRaw { raw in
            family == AF_INET ? Array(raw[4..<8]) : family == AF_INET6 ? Array(raw[8..<24]) : []
        }
    }

    /// The address as text (IPv6 without brackets).
    public var ipString: String {
        if family == AF_INET { return ipv4String }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        var copy = storage
        withUnsafePointer(to: &copy) { p in
            p.withMemoryRebound(to: UInt8.self, capacity: MemoryLayout<sockaddr_storage>.size) { raw in
                raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var a = sin6.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
                }
            }
        }
        let end = buf.firstIndex(of: 0) ?? buf.count
        return String(decoding: buf[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The IPv4 address as dotted decimal (as inet_ntop writes it), built without a
    /// temporary buffer: at most 15 bytes, a small string.
    private var ipv4String: String {
        let a = withRaw { $0.load(fromByteOffset: 4, as: UInt32.self) }
        return String(unsafeUninitializedCapacity: 15) { out in
            var n = 0
            withUnsafeBytes(of: a) { octets in
                for (i, o) in octets.enumerated() {
                    if i > 0 {
                        out[n] = UInt8(ascii: ".")
                        n += 1
                    }
                    if o >= 100 {
                        out[n] = UInt8(ascii: "0") + o / 100
                        n += 1
                    }
                    if o >= 10 {
                        out[n] = UInt8(ascii: "0") + (o / 10) % 10
                        n += 1
                    }
                    out[n] = UInt8(ascii: "0") + o % 10
                    n += 1
                }
            }
            return n
        }
    }

    /// The port.
    public var port: Int {
        get {
            withRaw { raw in
                // sin_port and sin6_port are at the same offset, in network byte order.
                Int(UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self)))
            }
        }
        set {
            withUnsafeMutableBytes(of: &raw) { raw in
                raw.storeBytes(of: UInt16(truncatingIfNeeded: newValue).bigEndian, toByteOffset: 2, as: UInt16.self)
            }
        }
    }

    /// `127.0.0.1:5060` / `[::1]:5060`.
    public var description: String { isIPv6 ? "[\(ipString)]:\(port)" : "\(ipString):\(port)" }

    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        // `length` (16 or 28) bytes are read: within the inline address.
        var copy = raw
        return withUnsafePointer(to: &copy) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        guard a.family == b.family, a.port == b.port else { return false }
        let range = a.addressRange
        return withUnsafeBytes(of: a.raw) { x in
            withUnsafeBytes(of: b.raw) { y in
                memcmp(x.baseAddress! + range.lowerBound, y.baseAddress! + range.lowerBound, range.count) == 0
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(family)
        hasher.combine(port)
        // As the hash of `addressBytes` (an array hashes its count, then its elements).
        let range = addressRange
        hasher.combine(range.count)
        withRaw { raw in
            for i in range { hasher.combine(raw[i]) }
        }
    }

    /// Where the address bytes are in `storage` (empty for an unknown family).
    private var addressRange: Range<Int> { family == AF_INET ? 4..<8 : family == AF_INET6 ? 8..<24 : 0..<0 }
}

/// A start-up or I/O failure of the runtime, with a message for the operator.
public struct RuntimeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 socket address (a `sockaddr_storage` with its length): where a message
/// came from or goes to (Kamailio's `union sockaddr_union`).
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    public var storage = sockaddr_storage()
    public var length = socklen_t(0)

    public var family: Int32 { Int32(storage.ss_family) }
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
        var h = Substring(numericHost)
        if h.hasPrefix("["), h.hasSuffix("]") { h = h.dropFirst().dropLast() }
        let text = String(h)
        var sin = sockaddr_in()
        if inet_pton(AF_INET, text, &sin.sin_addr) == 1 {
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = UInt16(truncatingIfNeeded: port).bigEndian
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: sin) { dst.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            return
        }
        var sin6 = sockaddr_in6()
        if inet_pton(AF_INET6, text, &sin6.sin6_addr) == 1 {
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = UInt16(truncatingIfNeeded: port).bigEndian
            withUnsafeMutableBytes(of: &storage) { dst in
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
        withUnsafeBytes(of: storage) { raw in
            family == AF_INET ? Array(raw[4..<8]) : family == AF_INET6 ? Array(raw[8..<24]) : []
        }
    }

    /// The address as text (IPv6 without brackets).
    public var ipString: String {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        var copy = storage
        withUnsafePointer(to: &copy) { p in
            p.withMemoryRebound(to: UInt8.self, capacity: MemoryLayout<sockaddr_storage>.size) { raw in
                if family == AF_INET {
                    raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                        var a = sin.pointee.sin_addr
                        _ = inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
                    }
                } else {
                    raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                        var a = sin6.pointee.sin6_addr
                        _ = inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
                    }
                }
            }
        }
        let end = buf.firstIndex(of: 0) ?? buf.count
        return String(decoding: buf[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The port.
    public var port: Int {
        get {
            withUnsafeBytes(of: storage) { raw in
                // sin_port and sin6_port are at the same offset, in network byte order.
                Int(UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self)))
            }
        }
        set {
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.storeBytes(of: UInt16(truncatingIfNeeded: newValue).bigEndian, toByteOffset: 2, as: UInt16.self)
            }
        }
    }

    /// `127.0.0.1:5060` / `[::1]:5060`.
    public var description: String { isIPv6 ? "[\(ipString)]:\(port)" : "\(ipString):\(port)" }

    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var copy = storage
        return withUnsafePointer(to: &copy) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        a.family == b.family && a.port == b.port && a.addressBytes == b.addressBytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(family)
        hasher.combine(port)
        hasher.combine(addressBytes)
    }
}

/// A start-up or I/O failure of the runtime, with a message for the operator.
public struct RuntimeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

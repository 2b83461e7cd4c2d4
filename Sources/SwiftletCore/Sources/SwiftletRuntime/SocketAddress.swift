#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 socket address (a `sockaddr_storage` with its length).
struct SocketAddress {
    var storage = sockaddr_storage()
    var length = socklen_t(0)

    var family: Int32 { Int32(storage.ss_family) }

    /// Resolves a numeric address or a host name (first result).
    init(host: String, port: Int) throws(RuntimeError) {
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

    init() {}

    /// The address as text (IPv6 without brackets).
    var ipString: String {
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
    var port: Int {
        get {
            withUnsafeBytes(of: storage) { raw in
                // sin_port and sin6_port are at the same offset, in network byte order.
                Int(UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self)))
            }
        }
        set {
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.storeBytes(of: UInt16(newValue).bigEndian, toByteOffset: 2, as: UInt16.self)
            }
        }
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var copy = storage
        return withUnsafePointer(to: &copy) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}

/// A start-up or I/O failure of the runtime, with a message for the operator.
public struct RuntimeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

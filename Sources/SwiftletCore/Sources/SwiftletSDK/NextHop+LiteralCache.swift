#if canImport(Glibc)
    import Glibc
#endif

/// The last few next hops this thread resolved from URIs whose host is an IP literal
/// (`sip:127.0.0.1:5070`, a `$du` or a dialog's Contact): each request of a call goes to one
/// of them again, and an IP literal resolves to itself (no DNS, nothing that expires), so
/// parsing the URI and the address again is skipped. Per thread (no lock); an entry holds
/// the resolver that answered it and is used only with that resolver again. URIs with a
/// host name are never kept here (their answers come from DNS and its TTLs).
final class NextHopLiteralCache {
    private struct Entry {
        let uri: String
        let proto: TransportProtocol?
        let port: Int?
        let resolver: AnyObject
        let destination: Destination
    }

    private static let capacity = 4
    private var entries: [Entry] = []
    /// The entry replaced next once the cache is full (round robin).
    private var nextSlot = 0

    /// The destination resolved for `uri` before, with the same overrides and resolver.
    @inline(__always)
    func destination(
        _ uri: String, proto: TransportProtocol?, port: Int?, resolver: AnyObject
    ) -> Destination? {
        // Compared in place: `for e in entries` copies each entry it looks at (its URI, resolver
        // and destination retained and released); only the destination found is copied.
        entries.withUnsafeBufferPointer { entries -> Destination? in
            for i in entries.indices
            where entries[i].uri == uri && entries[i].proto == proto && entries[i].port == port
                && entries[i].resolver === resolver
            {
                return entries[i].destination
            }
            return nil
        }
    }

    /// Remembers `destination` for `uri` when `host` (the URI's host) is an IP literal.
    func remember(
        _ uri: String, host: String, proto: TransportProtocol?, port: Int?, resolver: AnyObject,
        destination: Destination
    ) {
        guard SocketAddress(numericHost: host, port: 0) != nil else { return }
        let e = Entry(uri: uri, proto: proto, port: port, resolver: resolver, destination: destination)
        if entries.count < Self.capacity {
            if entries.capacity == 0 { entries.reserveCapacity(Self.capacity) }
            entries.append(e)
        } else {
            entries[nextSlot] = e
            nextSlot = (nextSlot + 1) % Self.capacity
        }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { if let p = $0 { Unmanaged<NextHopLiteralCache>.fromOpaque(p).release() } }
        return key
    }()

    /// The calling thread's cache.
    static var thread: NextHopLiteralCache {
        if let p = pthread_getspecific(key) {
            return Unmanaged<NextHopLiteralCache>.fromOpaque(p).takeUnretainedValue()
        }
        let c = NextHopLiteralCache()
        pthread_setspecific(key, Unmanaged.passRetained(c).toOpaque())
        return c
    }
}

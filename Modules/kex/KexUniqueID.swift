import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// `$sruid`: Kamailio's `sruid` with kex's settings (prefix `srid`, separator `-`, counter
/// mode): `srid-<start time in hex>-<pid in hex>-<counter in hex, least significant digit
/// first>`. Kamailio keeps a counter per worker process and puts each process's pid in the
/// prefix; Swiftlet's workers are threads of one process, so they share one counter.
final class KexUniqueID: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var prefix: [UInt8]
    private var counter: UInt32 = 0

    init() {
        pthread_mutex_init(mutex, nil)
        prefix = []
        prefix = Self.prefix(time: UInt32(truncatingIfNeeded: time(nil)))
    }

    static func prefix(time: UInt32) -> [UInt8] {
        Array("srid-\(String(time, radix: 16))-\(String(UInt32(bitPattern: getpid()), radix: 16))-".utf8)
    }

    /// The next id. When the 32-bit counter wraps, the prefix takes the current time (as
    /// Kamailio's `sruid_reinit`) and counting starts again at 1.
    func next() -> String {
        pthread_mutex_lock(mutex)
        counter &+= 1
        if counter == 0 {
            prefix = Self.prefix(time: UInt32(truncatingIfNeeded: time(nil)))
            counter = 1
        }
        var value = counter
        var bytes = prefix
        pthread_mutex_unlock(mutex)
        while value != 0 {
            let digit = UInt8(value & 0xF)
            bytes.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
            value >>= 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Bytes kept in shared memory (`SharedMemory`), freed when the last reference goes away.
/// Immutable once created, so any thread may read them. Creating one fails (nil) when the
/// pool is full; the pool has logged why.
///
/// ```swift
/// guard let value = SharedBytes("some text") else { return -1 }   // shm full
/// table[key] = value
/// print(value.string)
/// ```
public final class SharedBytes: @unchecked Sendable {
    /// Number of bytes.
    public let count: Int
    private let start: UnsafeMutableRawPointer
    private let memory: SharedMemory

    /// A buffer of `count` bytes filled by `initialize`; nil when the pool is full. If
    /// `initialize` throws, the memory is released and the error passed on.
    public init?<E: Error>(
        count: Int, in memory: SharedMemory = .shared,
        initializingWith initialize: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        guard let buffer = memory.allocate(count) else { return nil }
        do {
            try initialize(buffer)
        } catch {
            memory.free(buffer)
            throw error
        }
        self.count = count
        self.start = buffer.baseAddress!
        self.memory = memory
    }

    /// A copy of the array `bytes`; nil when the pool is full. Not generic: tm copies every
    /// request it relays (and each branch's) this way, without the generic collection's
    /// witness calls or a closure. (Named apart from `init(_:in:)`, whose callers passing a
    /// lazy `map` would otherwise find it ambiguous with the eager one.)
    public init?(copyOf bytes: [UInt8], in memory: SharedMemory = .shared) {
        let n = bytes.count
        guard let buffer = memory.allocate(n) else { return nil }
        bytes.withUnsafeBytes { source in
            if n > 0 { buffer.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: n) }
        }
        self.count = n
        self.start = buffer.baseAddress!
        self.memory = memory
    }

    /// A copy of `bytes`; nil when the pool is full.
    public convenience init?(_ bytes: some Collection<UInt8>, in memory: SharedMemory = .shared) {
        let n = bytes.count
        self.init(count: n, in: memory) { (buffer: UnsafeMutableRawBufferPointer) in
            let copied: Bool? = bytes.withContiguousStorageIfAvailable { source in
                buffer.copyMemory(from: UnsafeRawBufferPointer(source))
                return true
            }
            if copied == nil { Self.copyByteByByte(bytes, into: buffer) }
        }
    }

    /// The copy for collections without contiguous storage, kept out of `init` so that the
    /// common case (arrays) does not instantiate the generic metadata this loop needs.
    @inline(never)
    private static func copyByteByByte(_ bytes: some Collection<UInt8>, into buffer: UnsafeMutableRawBufferPointer) {
        var i = 0
        for b in bytes {
            buffer[i] = b
            i += 1
        }
    }

    /// The UTF-8 bytes of `string`; nil when the pool is full.
    public convenience init?(_ string: String, in memory: SharedMemory = .shared) {
        self.init(string.utf8, in: memory)
    }

    deinit { memory.free(start) }

    /// Calls `body` with the bytes.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: start, count: count))
    }

    /// The bytes decoded as UTF-8 (invalid sequences replaced).
    public var string: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    /// A copy of the bytes in an array.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}

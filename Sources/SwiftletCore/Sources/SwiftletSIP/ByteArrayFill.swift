/// Makes a byte array by writing into uninitialised room of a known maximum size.
///
/// `[UInt8](unsafeUninitializedCapacity:)` allocates through the standard library's
/// unspecialised generic path (`_allocateBufferUninitialized`: a generic metadata lookup,
/// some 400 instructions, for every array). Up to the 1 KiB the standard library always
/// places on the stack, the bytes are written there and copied into an array made from a
/// buffer pointer, whose allocation is specialised: the copy costs less than the lookup.
enum ByteArrayFill {
    /// The largest capacity written on the stack first (`withUnsafeTemporaryAllocation`
    /// asks the runtime whether the stack has room above 1 KiB, which costs more than it saves).
    static let stackLimit = 1024

    /// The bytes `fill` writes into a buffer of `capacity` bytes; it returns how many it wrote
    /// (at most `capacity`).
    @inline(__always)
    static func make(capacity: Int, _ fill: (UnsafeMutableBufferPointer<UInt8>) -> Int) -> [UInt8] {
        if capacity <= stackLimit {
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(capacity, 1)) { buffer in
                let n = fill(UnsafeMutableBufferPointer(rebasing: buffer[..<capacity]))
                precondition(n >= 0 && n <= capacity, "more bytes written than room")
                return [UInt8](UnsafeBufferPointer(rebasing: buffer[..<n]))
            }
        }
        return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, written in written = fill(buffer) }
    }
}

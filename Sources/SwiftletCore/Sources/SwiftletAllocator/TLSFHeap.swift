/// A two-level segregated fit (TLSF) heap over one region of memory: O(1) allocation and
/// release, immediate coalescing of neighbouring free blocks. Not thread-safe: `SharedMemory`
/// wraps it with a lock.
///
/// It is its own target, below the SDK, so that the module ABI signature (computed over the
/// SDK, SIP and config sources that modules compile against) does not change when the
/// allocator does: `SharedMemory` keeps it in a private stored property of a final class,
/// so no module depends on its layout.
///
/// Layout: the region is a sequence of blocks, each starting with a 16-byte header (the offset
/// of the physically previous block, then the block size with bit 0 set when the block is
/// free), followed by the payload. A free block keeps the offsets of its free-list neighbours
/// in its first 16 payload bytes. A zero-size used header at the end of the region stops
/// coalescing. Free blocks sit in 64 × 32 lists: the first level is the power of two of the
/// size, the second splits that range in 32; two bitmaps find a non-empty list with two
/// find-first-set operations.
package struct TLSFHeap {
    package static let alignment = 16
    package static let headerSize = 16
    /// Header plus room for the two free-list links.
    package static let minimumBlockSize = 32
    package static let secondLevelLog2 = 5
    package static let secondLevelCount = 1 << secondLevelLog2
    /// Sizes below `1 << firstLevelShift` (512) share first level 0, in steps of 16 bytes.
    package static let firstLevelShift = secondLevelLog2 + 4
    package static let firstLevelCount = 64
    package static let none = -1

    package let base: UnsafeMutableRawPointer
    /// Bytes managed (the region size rounded down to the alignment).
    package let total: Int
    private var firstLevelBitmap: UInt64 = 0
    private let secondLevelBitmaps: UnsafeMutablePointer<UInt32>
    private let heads: UnsafeMutablePointer<Int>

    /// Sum of the payload sizes of the blocks in use (Kamailio's `used`).
    package private(set) var used = 0
    /// Bytes in use with their headers, plus the end marker (Kamailio's `real_used`).
    package private(set) var realUsed = 0
    package private(set) var maxUsed = 0
    /// Number of free blocks.
    package private(set) var fragments = 0

    /// Sets up the heap over `size` bytes at `base` (the caller owns the memory and must keep
    /// it mapped while the heap is used). `size` must hold at least one minimum block.
    package init(base: UnsafeMutableRawPointer, size: Int) {
        precondition(size >= Self.minimumBlockSize + Self.headerSize, "shared memory region too small")
        self.base = base
        total = size & ~(Self.alignment - 1)
        secondLevelBitmaps = .allocate(capacity: Self.firstLevelCount)
        secondLevelBitmaps.initialize(repeating: 0, count: Self.firstLevelCount)
        heads = .allocate(capacity: Self.firstLevelCount * Self.secondLevelCount)
        heads.initialize(repeating: Self.none, count: Self.firstLevelCount * Self.secondLevelCount)
        let end = total - Self.headerSize
        setWord(0, Self.none)
        setWord(8, end | 1)
        setWord(end, 0)
        setWord(end + 8, 0)
        realUsed = Self.headerSize
        maxUsed = realUsed
        insert(0)
    }

    /// Frees the control structures (not the region).
    package func deallocate() {
        secondLevelBitmaps.deallocate()
        heads.deallocate()
    }

    // MARK: words and headers

    @inline(__always) private func word(_ offset: Int) -> Int { base.load(fromByteOffset: offset, as: Int.self) }
    @inline(__always) private func setWord(_ offset: Int, _ v: Int) {
        base.storeBytes(of: v, toByteOffset: offset, as: Int.self)
    }
    @inline(__always) func blockSize(_ b: Int) -> Int { word(b + 8) & ~(Self.alignment - 1) }
    @inline(__always) func isFree(_ b: Int) -> Bool { word(b + 8) & 1 != 0 }
    @inline(__always) func previousBlock(_ b: Int) -> Int { word(b) }
    @inline(__always) private func nextFree(_ b: Int) -> Int { word(b + 16) }
    @inline(__always) private func previousFree(_ b: Int) -> Int { word(b + 24) }

    /// The block size that holds `count` payload bytes.
    @inline(__always) static func blockSize(for count: Int) -> Int {
        max(minimumBlockSize, ((count + alignment - 1) & ~(alignment - 1)) + headerSize)
    }

    // MARK: size classes

    @inline(__always) private static func highestBit(_ v: Int) -> Int { Int.bitWidth - 1 - v.leadingZeroBitCount }

    /// The list a free block of `size` bytes belongs to.
    @inline(__always) static func listIndex(_ size: Int) -> (fl: Int, sl: Int) {
        if size < 1 << firstLevelShift { return (0, size >> 4) }
        let h = highestBit(size)
        return (h - firstLevelShift + 1, (size >> (h - secondLevelLog2)) ^ secondLevelCount)
    }

    /// The first list whose blocks are all at least `size` bytes.
    @inline(__always) private static func searchIndex(_ size: Int) -> (fl: Int, sl: Int) {
        guard size >= 1 << firstLevelShift else { return listIndex(size) }
        return listIndex(size + (1 << (highestBit(size) - secondLevelLog2)) - 1)
    }

    // MARK: free lists

    private mutating func insert(_ b: Int) {
        let (fl, sl) = Self.listIndex(blockSize(b))
        let i = fl * Self.secondLevelCount + sl
        let head = heads[i]
        setWord(b + 16, head)
        setWord(b + 24, Self.none)
        if head != Self.none { setWord(head + 24, b) }
        heads[i] = b
        firstLevelBitmap |= 1 << UInt64(fl)
        secondLevelBitmaps[fl] |= 1 << UInt32(sl)
        fragments += 1
    }

    private mutating func remove(_ b: Int) {
        let (fl, sl) = Self.listIndex(blockSize(b))
        let next = nextFree(b)
        let previous = previousFree(b)
        if next != Self.none { setWord(next + 24, previous) }
        if previous != Self.none {
            setWord(previous + 16, next)
        } else {
            let i = fl * Self.secondLevelCount + sl
            heads[i] = next
            if next == Self.none {
                secondLevelBitmaps[fl] &= ~(1 << UInt32(sl))
                if secondLevelBitmaps[fl] == 0 { firstLevelBitmap &= ~(1 << UInt64(fl)) }
            }
        }
        fragments -= 1
    }

    /// A free block of at least `size` bytes: the head of the first non-empty list of a
    /// class above the request (O(1)), else a walk of the request's own list (only when
    /// memory is nearly exhausted), else none.
    private func findFree(_ size: Int) -> Int? {
        var (fl, sl) = Self.searchIndex(size)
        if fl < Self.firstLevelCount {
            var slMap = secondLevelBitmaps[fl] & (UInt32.max << UInt32(sl))
            if slMap == 0 {
                let flMap = fl + 1 < 64 ? firstLevelBitmap & (UInt64.max << UInt64(fl + 1)) : 0
                if flMap != 0 {
                    fl = flMap.trailingZeroBitCount
                    slMap = secondLevelBitmaps[fl]
                }
            }
            if slMap != 0 { return heads[fl * Self.secondLevelCount + slMap.trailingZeroBitCount] }
        }
        let (efl, esl) = Self.listIndex(size)
        var b = heads[efl * Self.secondLevelCount + esl]
        while b != Self.none {
            if blockSize(b) >= size { return b }
            b = nextFree(b)
        }
        return nil
    }

    // MARK: allocate and free

    /// Allocates `count` bytes (16-byte aligned); returns the payload offset or nil when no
    /// free block is large enough.
    package mutating func allocate(_ count: Int) -> Int? {
        guard count >= 0, count <= total else { return nil }
        let size = Self.blockSize(for: count)
        guard let b = findFree(size) else { return nil }
        remove(b)
        var bs = blockSize(b)
        if bs - size >= Self.minimumBlockSize {
            let rest = b + size
            setWord(rest, b)
            setWord(rest + 8, (bs - size) | 1)
            setWord(b + bs, rest)
            insert(rest)
            bs = size
        }
        setWord(b + 8, bs)
        used += bs - Self.headerSize
        realUsed += bs
        if realUsed > maxUsed { maxUsed = realUsed }
        return b + Self.headerSize
    }

    /// True when `offset` can be the payload of a block in use (cheap checks only).
    package func isAllocated(_ offset: Int) -> Bool {
        let b = offset - Self.headerSize
        guard b >= 0, b <= total - Self.headerSize - Self.minimumBlockSize, b & (Self.alignment - 1) == 0,
            !isFree(b)
        else { return false }
        let bs = blockSize(b)
        return bs >= Self.minimumBlockSize && b + bs <= total - Self.headerSize
    }

    /// Releases the block whose payload is at `offset`, merging it with free neighbours.
    /// Returns false (and changes nothing) for an offset that is not an allocated block.
    package mutating func free(_ offset: Int) -> Bool {
        guard isAllocated(offset) else { return false }
        var b = offset - Self.headerSize
        var bs = blockSize(b)
        used -= bs - Self.headerSize
        realUsed -= bs
        let previous = previousBlock(b)
        if previous != Self.none, isFree(previous) {
            remove(previous)
            bs += blockSize(previous)
            b = previous
        }
        let next = b + bs
        if isFree(next) {
            remove(next)
            bs += blockSize(next)
        }
        setWord(b + 8, bs | 1)
        setWord(b + bs, b)
        insert(b)
        return true
    }

    /// The payload size of the allocated block at `offset` (at least the size asked for).
    package func usableSize(_ offset: Int) -> Int { blockSize(offset - Self.headerSize) - Self.headerSize }

    /// The size of the largest free block's payload (walks one list; for error messages).
    package var largestFree: Int {
        guard firstLevelBitmap != 0 else { return 0 }
        let fl = Self.highestBit(Int(firstLevelBitmap))
        let sl = 31 - secondLevelBitmaps[fl].leadingZeroBitCount
        var b = heads[fl * Self.secondLevelCount + sl]
        var largest = 0
        while b != Self.none {
            largest = max(largest, blockSize(b))
            b = nextFree(b)
        }
        return largest - Self.headerSize
    }

    /// Walks every block and every list and checks the invariants; returns the first
    /// inconsistency found, or nil. For tests.
    package func verify() -> String? {
        var b = 0
        var previous = Self.none
        var previousWasFree = false
        var freeBlocks = 0
        var usedPayload = 0
        var usedBlocks = Self.headerSize
        let end = total - Self.headerSize
        while b < end {
            let bs = blockSize(b)
            guard bs >= Self.minimumBlockSize, b + bs <= end else { return "block \(b) has bad size \(bs)" }
            guard previousBlock(b) == previous else { return "block \(b) points back to \(previousBlock(b))" }
            if isFree(b) {
                if previousWasFree { return "free blocks \(previous) and \(b) were not merged" }
                freeBlocks += 1
            } else {
                usedPayload += bs - Self.headerSize
                usedBlocks += bs
            }
            previousWasFree = isFree(b)
            previous = b
            b += bs
        }
        guard b == end, previousBlock(end) == previous else { return "end marker not reached or not linked" }
        var listed = 0
        for fl in 0..<Self.firstLevelCount {
            for sl in 0..<Self.secondLevelCount {
                var f = heads[fl * Self.secondLevelCount + sl]
                let bit = secondLevelBitmaps[fl] & (1 << UInt32(sl)) != 0
                if bit != (f != Self.none) { return "bitmap of list \(fl),\(sl) is wrong" }
                var back = Self.none
                while f != Self.none {
                    guard isFree(f), Self.listIndex(blockSize(f)) == (fl, sl), previousFree(f) == back else {
                        return "block \(f) is in the wrong list or badly linked"
                    }
                    listed += 1
                    back = f
                    f = nextFree(f)
                }
            }
            if (firstLevelBitmap & (1 << UInt64(fl)) != 0) != (secondLevelBitmaps[fl] != 0) {
                return "first-level bitmap bit \(fl) is wrong"
            }
        }
        if listed != freeBlocks || freeBlocks != fragments {
            return "\(freeBlocks) free blocks, \(listed) listed, \(fragments) counted"
        }
        if usedPayload != used || usedBlocks != realUsed { return "used figures do not add up" }
        return nil
    }
}

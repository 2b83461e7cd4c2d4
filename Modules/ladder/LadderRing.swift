import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// One message as it was seen on the wire: its bytes (at most `max_message_bytes`), when,
/// between which addresses, over which transport, in or out.
struct WireMessage: Sendable {
    /// The position in the stream of recorded messages (1, 2, ...): the cursor of the API.
    let seq: UInt64
    /// Microseconds since the Unix epoch.
    var timeMicros: Int64
    let bytes: [UInt8]
    /// The length on the wire (more than `bytes.count` when the copy was truncated).
    let wireLength: Int
    let proto: TransportProtocol
    /// `ip:port` of the sender and the receiver.
    let source: String
    var destination: String
    /// True for a message the server received, false for one it sent.
    let received: Bool
}

/// What the observers store on the hot path: the bytes (a reference to the buffer the core
/// already has, or a truncated copy) and the addresses, without formatting them.
struct RawEntry {
    var seq: UInt64 = 0
    var timeMicros: Int64 = 0
    var bytes: [UInt8] = []
    var wireLength = 0
    var proto: TransportProtocol = .udp
    var peer = SocketAddress()
    /// The server's socket (a reference: no address copied on the hot path).
    var local: ListeningSocket?
    var received = false
}

/// The bounded ring of the last `capacity` messages, shared by every worker: a writer takes
/// the lock for a few stores; a reader copies out what it needs and formats outside the lock.
final class LadderRing: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var slots: [RawEntry]
    /// The sequence number of the last stored message (0: none yet).
    private var last: UInt64 = 0
    /// `clear` forgets everything up to here.
    private var clearedThrough: UInt64 = 0
    let capacity: Int
    let maxBytes: Int

    init(capacity: Int, maxBytes: Int) {
        self.capacity = max(1, capacity)
        self.maxBytes = max(64, maxBytes)
        slots = Array(repeating: RawEntry(), count: self.capacity)
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Records one message (the observers' only work).
    @inline(__always)
    func record(_ data: borrowing NetData, received: Bool) {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        let micros = Int64(t.tv_sec) * 1_000_000 + Int64(t.tv_nsec) / 1000
        let count = data.bytes.count
        // A reference to the core's buffer (copy on write keeps it as it is), or a copy of
        // at most maxBytes when the message or its buffer is longer (the bound on memory).
        let bytes =
            data.bytes.capacity <= maxBytes ? data.bytes : Array(data.bytes[0..<min(count, maxBytes)])
        pthread_mutex_lock(mutex)
        last &+= 1
        let i = Int(last % UInt64(capacity))
        slots[i].seq = last
        slots[i].timeMicros = micros
        slots[i].bytes = bytes
        slots[i].wireLength = count
        slots[i].proto = data.proto
        slots[i].peer = data.peer
        slots[i].local = data.socket
        slots[i].received = received
        pthread_mutex_unlock(mutex)
    }

    /// The sequence number of the newest message (0 when none).
    var newest: UInt64 {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return last
    }

    /// The messages with a sequence number above `after` still in the ring, oldest first.
    func entries(after: UInt64) -> [RawEntry] {
        pthread_mutex_lock(mutex)
        let newest = last
        let oldest = max(after, clearedThrough, newest > UInt64(capacity) ? newest - UInt64(capacity) : 0)
        var out: [RawEntry] = []
        if newest > oldest {
            out.reserveCapacity(Int(newest - oldest))
            for s in (oldest + 1)...newest { out.append(slots[Int(s % UInt64(capacity))]) }
        }
        pthread_mutex_unlock(mutex)
        return out
    }

    /// Forgets every message recorded so far (`ladder.clear`); the count forgotten. The
    /// sequence moves on by one (a number no message gets) so that a page's cursor sees
    /// the change.
    @discardableResult
    func clear() -> Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let oldest = max(clearedThrough, last > UInt64(capacity) ? last - UInt64(capacity) : 0)
        let count = Int(last - oldest)
        last &+= 1
        clearedThrough = last
        for i in slots.indices { slots[i].bytes = [] }
        return count
    }

    /// The sequence number up to which `clear` forgot.
    var cleared: UInt64 {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return clearedThrough
    }
}

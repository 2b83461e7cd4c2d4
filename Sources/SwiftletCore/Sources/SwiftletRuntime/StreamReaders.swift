import NIOCore
import NIOPosix
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The script workers of the connection-oriented transports (`tcp_children`): each one is an
/// event loop of the transport's group, as each Kamailio TCP reader process owns the
/// connections it reads. A framed message runs the script on the loop that read it, and a
/// reply on the same connection is written there too: no hand-off to another thread and no
/// wake-up per message. Messages of one connection are handled in the order they arrived.
///
/// The loops exist (and the sockets are bound) before the modules' `child_init` may run: a
/// message a loop reads before `start` set it up as a worker waits on that loop, and runs
/// right after the set-up.
final class StreamReaders: @unchecked Sendable {
    /// What one loop keeps; touched only on that loop. A connection keeps its loop's
    /// (`TCPConnection.reader`), so a message costs no lookup of its loop.
    final class LoopState {
        let index: Int
        fileprivate var ready = false
        /// The readers' dispatcher, set with `ready`.
        fileprivate var dispatcher: MessageDispatcher?
        fileprivate var pending: [(bytes: [UInt8], receive: ReceiveInfo)] = []
        /// The connection whose message the script is running on (while `dispatch` runs):
        /// a reply to it is written without looking the connection up in the table. Not
        /// retained: `dispatch`'s caller holds the connection while it runs.
        fileprivate var deliveringRef: Unmanaged<TCPConnection>?
        fileprivate init(index: Int) { self.index = index }

        /// Runs the script on a framed message read on this loop from `connection` (the
        /// caller is on it).
        func dispatch(_ bytes: [UInt8], receive: ReceiveInfo, from connection: TCPConnection) {
            guard ready, let dispatcher else {
                pending.append((bytes, receive))
                return
            }
            let outer = deliveringRef
            deliveringRef = .passUnretained(connection)
            defer { deliveringRef = outer }
            dispatcher.handle(bytes, receive: receive)
        }
    }

    /// Where each reader thread finds its `LoopState` (set once on the loop's thread).
    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The state of the loop the calling thread runs, nil on any other thread.
    static var current: LoopState? {
        guard let raw = pthread_getspecific(threadKey) else { return nil }
        return Unmanaged<LoopState>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Where the state of the loop the calling thread runs is (`current` without a reference).
    static var currentAddress: UnsafeRawPointer? { UnsafeRawPointer(pthread_getspecific(threadKey)) }

    /// `body` on the connection whose message the calling reader thread is running the
    /// script on, if it is connection `id` (nil otherwise). Without a retain and release of
    /// the loop's state or of the connection: the state lives as long as the transport, and
    /// `dispatch`'s caller holds the connection while the script runs.
    @inline(__always)
    static func withDelivering<T>(_ id: Int, _ body: (TCPConnection) -> T) -> T? {
        guard let raw = currentAddress else { return nil }
        return Unmanaged<LoopState>.fromOpaque(raw)._withUnsafeGuaranteedRef { state in
            guard let c = state.deliveringRef else { return nil }
            return c._withUnsafeGuaranteedRef { $0.id == id ? body($0) : nil }
        }
    }

    /// The reader threads' event loops, in rank order.
    let loops: [EventLoop]
    private var states: [ObjectIdentifier: LoopState] = [:]

    var count: Int { loops.count }

    init(group: MultiThreadedEventLoopGroup) {
        var loops: [EventLoop] = []
        for loop in group.makeIterator() { loops.append(loop) }
        self.loops = loops
        for (i, loop) in loops.enumerated() {
            let state = LoopState(index: i)
            states[ObjectIdentifier(loop)] = state
            // The states live as long as this object, which outlives its loops.
            let raw = UInt(bitPattern: Unmanaged.passUnretained(state).toOpaque())
            loop.execute { pthread_setspecific(Self.threadKey, UnsafeRawPointer(bitPattern: raw)) }
        }
    }

    /// The state of `loop` (one of the readers), nil for another loop.
    func state(of loop: EventLoop) -> LoopState? { states[ObjectIdentifier(loop)] }

    /// Sets every loop up as a worker (`setUp(index)`: its rank, `child_init`), then lets it
    /// hand what it reads to `dispatcher`.
    func start(dispatcher: MessageDispatcher, setUp: @escaping (Int) -> Void) {
        for loop in loops {
            guard let state = states[ObjectIdentifier(loop)] else { continue }
            loop.execute {
                setUp(state.index)
                state.dispatcher = dispatcher
                state.ready = true
                let held = state.pending
                state.pending = []
                for m in held { dispatcher.handle(m.bytes, receive: m.receive) }
            }
        }
    }

    /// Whether the calling thread is one of the readers (a blocking wait there would stall
    /// every connection of its loop).
    var isReaderThread: Bool { MultiThreadedEventLoopGroup.currentEventLoop != nil }
}

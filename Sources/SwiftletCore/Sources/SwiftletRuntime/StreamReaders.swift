import NIOCore
import NIOPosix
import SwiftletSDK

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
        fileprivate var pending: [(bytes: [UInt8], receive: ReceiveInfo)] = []
        fileprivate unowned let readers: StreamReaders
        fileprivate init(index: Int, readers: StreamReaders) {
            self.index = index
            self.readers = readers
        }

        /// Runs the script on a framed message read on this loop (the caller is on it).
        func dispatch(_ bytes: [UInt8], receive: ReceiveInfo) {
            guard ready, let dispatcher = readers.dispatcher else {
                pending.append((bytes, receive))
                return
            }
            dispatcher.handle(bytes, receive: receive)
        }
    }

    /// The reader threads' event loops, in rank order.
    let loops: [EventLoop]
    private var states: [ObjectIdentifier: LoopState] = [:]
    /// Set once by `start`, before any loop is set up (read only on the loops after that).
    fileprivate var dispatcher: MessageDispatcher?

    var count: Int { loops.count }

    init(group: MultiThreadedEventLoopGroup) {
        var loops: [EventLoop] = []
        for loop in group.makeIterator() { loops.append(loop) }
        self.loops = loops
        for (i, loop) in loops.enumerated() { states[ObjectIdentifier(loop)] = LoopState(index: i, readers: self) }
    }

    /// The state of `loop` (one of the readers), nil for another loop.
    func state(of loop: EventLoop) -> LoopState? { states[ObjectIdentifier(loop)] }

    /// Sets every loop up as a worker (`setUp(index)`: its rank, `child_init`), then lets it
    /// hand what it reads to `dispatcher`.
    func start(dispatcher: MessageDispatcher, setUp: @escaping (Int) -> Void) {
        self.dispatcher = dispatcher
        for loop in loops {
            guard let state = states[ObjectIdentifier(loop)] else { continue }
            loop.execute {
                setUp(state.index)
                state.ready = true
                let held = state.pending
                state.pending = []
                for m in held { dispatcher.handle(m.bytes, receive: m.receive) }
            }
        }
    }

    /// Runs the script on a framed message read on `loop` (the caller is on it).
    func dispatch(_ bytes: [UInt8], receive: ReceiveInfo, on loop: EventLoop) {
        states[ObjectIdentifier(loop)]?.dispatch(bytes, receive: receive)
    }

    /// Whether the calling thread is one of the readers (a blocking wait there would stall
    /// every connection of its loop).
    var isReaderThread: Bool { MultiThreadedEventLoopGroup.currentEventLoop != nil }
}

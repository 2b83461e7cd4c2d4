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
    /// What one loop keeps; touched only on that loop.
    private final class LoopState {
        let index: Int
        var ready = false
        var pending: [(bytes: [UInt8], receive: ReceiveInfo)] = []
        init(index: Int) { self.index = index }
    }

    /// The reader threads' event loops, in rank order.
    let loops: [EventLoop]
    private let states: [ObjectIdentifier: LoopState]
    /// Set once by `start`, before any loop is set up (read only on the loops after that).
    private var dispatcher: MessageDispatcher?

    var count: Int { loops.count }

    init(group: MultiThreadedEventLoopGroup) {
        var loops: [EventLoop] = []
        for loop in group.makeIterator() { loops.append(loop) }
        self.loops = loops
        var states: [ObjectIdentifier: LoopState] = [:]
        for (i, loop) in loops.enumerated() { states[ObjectIdentifier(loop)] = LoopState(index: i) }
        self.states = states
    }

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
        guard let state = states[ObjectIdentifier(loop)] else { return }
        guard state.ready, let dispatcher else {
            state.pending.append((bytes, receive))
            return
        }
        dispatcher.handle(bytes, receive: receive)
    }

    /// Whether the calling thread is one of the readers (a blocking wait there would stall
    /// every connection of its loop).
    var isReaderThread: Bool { MultiThreadedEventLoopGroup.currentEventLoop != nil }
}

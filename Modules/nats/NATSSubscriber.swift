import CNats
import SwiftletSDK
import Synchronization

/// One `subject_queue_group`: its own connection and thread (Kamailio's "NATS Subscriber"
/// process), a queue subscription, and `event_route[nats:<subject>]` run for each message
/// with `$natsData` set. libnats resubscribes after a reconnect.
final class NATSSubscriber: @unchecked Sendable {
    let subject: String
    let queueGroup: String
    let servers: [String]
    let core: CoreContext
    let events: NATSEventRoutes
    let routeName: String
    private let thread: TaskWorkers
    private let stopping = Atomic<Bool>(false)
    private var connection: NATSConnection?
    private var subscription: OpaquePointer?
    // `connection` and `subscription` are set on the thread and read by `stop()` only after
    // it joined the thread.

    init(subject: String, queueGroup: String, servers: [String], core: CoreContext, events: NATSEventRoutes) {
        self.subject = subject
        self.queueGroup = queueGroup
        self.servers = servers
        self.core = core
        self.events = events
        routeName = "nats:" + subject
        thread = TaskWorkers(name: "NATS Subscriber")
    }

    /// Starts the subscriber's thread: it connects (a server that is down is retried in the
    /// background and the subscription sent once connected), subscribes and takes messages.
    func start() {
        // The thread's whole life is its preparation: it takes messages until stopped.
        thread.start(threads: 1) { _ in
            if let sub = self.subscribe() { self.receiveLoop(sub) }
            return false
        }
    }

    /// Connects and makes the queue subscription; nil (logged) when libnats refuses.
    private func subscribe() -> OpaquePointer? {
        let c = NATSConnection(role: "subscriber \(subject):\(queueGroup)", events: events)
        connection = c
        guard c.connect(servers: servers), let nc = c.connection else { return nil }
        var sub: OpaquePointer?
        let s = natsConnection_QueueSubscribeSync(&sub, nc, subject, queueGroup)
        guard s == NATS_OK, let sub else {
            Log.error("nats", "could not subscribe [\(NATSConnection.text(s))]")
            return nil
        }
        let limits = natsSubscription_SetPendingLimits(sub, -1, -1)
        if limits != NATS_OK { Log.error("nats", "could not set pending limits [\(NATSConnection.text(limits))]") }
        subscription = sub
        return sub
    }

    /// Takes the subscription's messages until `stop()`.
    private func receiveLoop(_ sub: OpaquePointer) {
        let hasRoute = events.defines(routeName)
        let state = NATSMessageState.current
        while !stopping.load(ordering: .acquiring) {
            var msg: OpaquePointer?
            let s = natsSubscription_NextMsg(&msg, sub, 500)
            if s == NATS_TIMEOUT { continue }
            guard s == NATS_OK, let msg else {
                if stopping.load(ordering: .acquiring) { return }
                if s == NATS_CONNECTION_CLOSED || s == NATS_INVALID_SUBSCRIPTION {
                    Log.error("nats", "subscriber \(subject):\(queueGroup) stops: \(NATSConnection.text(s))")
                    return
                }
                continue
            }
            if hasRoute {
                let length = Int(natsMsg_GetDataLength(msg))
                state.payload = natsMsg_GetData(msg).map {
                    String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self)
                }
                events.runNow(routeName)
                state.payload = nil
            }
            natsMsg_Destroy(msg)
        }
    }

    /// Stops the thread, then unsubscribes and closes the connection.
    func stop() {
        stopping.store(true, ordering: .releasing)
        thread.stop()
        if let subscription {
            natsSubscription_Unsubscribe(subscription)
            natsSubscription_Destroy(subscription)
        }
        subscription = nil
        connection?.destroy()
        connection = nil
    }
}

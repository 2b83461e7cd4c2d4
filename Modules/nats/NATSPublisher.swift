import CNats
import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The publish workers (Kamailio's "NATS Publisher" processes): each a thread with its own
/// connection and a bounded queue. `nats_publish` only queues (round robin), so a slow or
/// dead server never holds a SIP worker: a full queue is a failed `nats_publish`.
final class NATSPublisher: @unchecked Sendable {
    /// Messages waiting per worker at most: what Kamailio's 64 KB command pipe holds (8192
    /// pointers), where Kamailio's SIP worker would then block in write().
    static let queueCapacity = 8192
    /// How long a busy publish worker lets messages collect before taking them: one wake-up
    /// (and, through libnats' flusher, one write) per batch instead of per message. The first
    /// message after a quiet spell goes out at once. (At 1000 messages/s over 2 workers: 5 ms
    /// windows gave ~2.5 messages per write and 3 thread wake-ups each; 20 ms, 10 per write.)
    static let batchMilliseconds = 20
    /// How long one write to a server that does not read may take before libnats gives the
    /// connection up and reconnects (Kamailio sets none: see README).
    static let writeDeadlineMilliseconds: Int64 = 2000

    let workers: [Worker]
    private let next = Atomic<Int>(0)

    /// One publish worker: its thread, queue and connection.
    final class Worker: @unchecked Sendable {
        let index: Int
        let queue = NATSPublishQueue(
            capacity: NATSPublisher.queueCapacity, batchMilliseconds: NATSPublisher.batchMilliseconds)
        let connection: NATSConnection
        let servers: [String]
        private var thread: pthread_t?

        init(index: Int, servers: [String], events: NATSEventRoutes) {
            self.index = index
            self.servers = servers
            connection = NATSConnection(role: "publish worker \(index)", events: events)
        }

        /// Starts the thread: it connects, then publishes what is queued.
        func start() {
            let box = Unmanaged.passRetained(self).toOpaque()
            var t = pthread_t()
            let rc = pthread_create(
                &t, nil,
                { raw in
                    Unmanaged<Worker>.fromOpaque(raw!).takeRetainedValue().run()
                    return nil
                }, box)
            guard rc == 0 else {
                Unmanaged<Worker>.fromOpaque(box).release()
                Log.error("nats", "cannot start publish worker \(index): error \(rc)")
                return
            }
            thread = t
        }

        private func run() {
            if connection.connect(servers: servers, writeDeadlineMilliseconds: NATSPublisher.writeDeadlineMilliseconds)
            {
                // Kamailio's publish worker runs nats:connected itself after connecting.
                if connection.connectedAtOnce { connection.events.run(NATSEventRoutes.connected) }
            }
            var batch: [UInt8] = []
            batch.reserveCapacity(64 * 1024)
            var afterBatch = false
            while queue.take(into: &batch, afterBatch: afterBatch) != nil {
                NATSPublishQueue.forEach(in: batch) { subject, payload in send(subject, payload) }
                afterBatch = true
            }
        }

        /// On the worker's thread: one message to libnats, which buffers it (or keeps it in its
        /// reconnect buffer) and writes it with the others of the batch from its flusher thread.
        private func send(_ subject: UnsafePointer<CChar>, _ payload: UnsafeBufferPointer<UInt8>) {
            guard let nc = connection.connection else {
                NATSErrorLog.publish.report(
                    "could not publish to subject [\(String(cString: subject))] payload [\(Self.text(payload))] error [no connection]"
                )
                return
            }
            let s = natsConnection_Publish(nc, subject, payload.baseAddress, Int32(payload.count))
            if s != NATS_OK {
                NATSErrorLog.publish.report(
                    "could not publish to subject [\(String(cString: subject))] payload [\(Self.text(payload))] "
                        + "error [\(NATSConnection.text(s))]")
            }
        }

        private static func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
            String(decoding: bytes, as: UTF8.self)
        }

        func stop() {
            queue.stop()
            if let thread, pthread_equal(thread, pthread_self()) == 0 { pthread_join(thread, nil) }
            thread = nil
            connection.destroy()
        }
    }

    init(workers count: Int, servers: [String], events: NATSEventRoutes) {
        workers = (0..<count).map { Worker(index: $0 + 1, servers: servers, events: events) }
    }

    func start() { for w in workers { w.start() } }

    /// Queues a message on the next worker (round robin), or on the next one with room; false
    /// (logged) when every queue is full.
    func publish(subject: StringFormat, payload: StringFormat, _ context: MessageContext) -> Bool {
        guard !workers.isEmpty else { return false }
        var subjectText = subject.render(context)
        var payloadText = payload.render(context)
        let first = next.wrappingAdd(1, ordering: .relaxed).oldValue
        let queued = subjectText.withUTF8 { s in
            payloadText.withUTF8 { p in
                for offset in 0..<workers.count
                where workers[(first &+ offset) % workers.count].queue.push(subject: s, payload: p) {
                    return true
                }
                return false
            }
        }
        if !queued {
            NATSErrorLog.queueFull.report(
                "nats_publish: the publish queues are full (\(NATSPublisher.queueCapacity) messages per worker): "
                    + "the nats server is slow or unreachable; message to subject [\(subjectText)] dropped")
        }
        return queued
    }

    func stop() { for w in workers { w.stop() } }
}

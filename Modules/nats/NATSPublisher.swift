import CNats
import SwiftletSDK
import Synchronization

/// The publish workers (Kamailio's "NATS Publisher" processes): each a thread with its own
/// connection and a bounded queue. `nats_publish` only queues (round robin), so a slow or
/// dead server never holds a SIP worker: a full queue is a failed `nats_publish`.
final class NATSPublisher: @unchecked Sendable {
    /// Messages waiting per worker at most: what Kamailio's 64 KB command pipe holds (8192
    /// pointers), where Kamailio's SIP worker would then block in write().
    static let queueCapacity = 8192
    /// How long one write to a server that does not read may take before libnats gives the
    /// connection up and reconnects (Kamailio sets none: see README).
    static let writeDeadlineMilliseconds: Int64 = 2000

    let workers: [Worker]
    private let next = Atomic<Int>(0)

    /// One publish worker: its thread (queue) and connection.
    final class Worker: @unchecked Sendable {
        let index: Int
        let queue: TaskWorkers
        let connection: NATSConnection
        let servers: [String]

        init(index: Int, servers: [String], events: NATSEventRoutes) {
            self.index = index
            self.servers = servers
            queue = TaskWorkers(name: "NATS Publisher", capacity: NATSPublisher.queueCapacity)
            connection = NATSConnection(role: "publish worker \(index)", events: events)
        }

        /// Connects on the worker's own thread, then publishes what is queued.
        func start() {
            queue.start(threads: 1) { _ in
                if self.connection.connect(
                    servers: self.servers, writeDeadlineMilliseconds: NATSPublisher.writeDeadlineMilliseconds)
                {
                    // Kamailio's publish worker runs nats:connected itself after connecting.
                    if self.connection.connectedAtOnce { self.connection.events.run(NATSEventRoutes.connected) }
                }
                return true
            }
        }

        /// On the worker's thread: one message to the server (or libnats' reconnect buffer).
        func send(_ subject: String, _ payload: String) {
            guard let nc = connection.connection else {
                NATSErrorLog.publish.report(
                    "could not publish to subject [\(subject)] payload [\(payload)] error [no connection]")
                return
            }
            var payload = payload
            let s = payload.withUTF8 { bytes in
                natsConnection_Publish(nc, subject, bytes.baseAddress, Int32(bytes.count))
            }
            if s != NATS_OK {
                NATSErrorLog.publish.report(
                    "could not publish to subject [\(subject)] payload [\(payload)] error [\(NATSConnection.text(s))]")
            }
        }

        func stop() {
            queue.stop()
            connection.destroy()
        }
    }

    init(workers count: Int, servers: [String], events: NATSEventRoutes) {
        workers = (0..<count).map { Worker(index: $0 + 1, servers: servers, events: events) }
    }

    func start() { for w in workers { w.start() } }

    /// Queues a message on the next worker (round robin), or on the next one with room; false
    /// (logged) when every queue is full.
    func publish(subject: String, payload: String) -> Bool {
        guard !workers.isEmpty else { return false }
        let first = next.wrappingAdd(1, ordering: .relaxed).oldValue
        for offset in 0..<workers.count {
            let w = workers[(first &+ offset) % workers.count]
            if w.queue.push({ w.send(subject, payload) }, wait: false) { return true }
        }
        NATSErrorLog.queueFull.report(
            "nats_publish: the publish queues are full (\(NATSPublisher.queueCapacity) messages per worker): "
                + "the nats server is slow or unreachable; message to subject [\(subject)] dropped")
        return false
    }

    func stop() { for w in workers { w.stop() } }
}

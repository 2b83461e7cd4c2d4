import SwiftletSDK

/// Runs the module's event routes: `nats:connected` and `nats:disconnected` (reported by
/// libnats' callback threads, run here on a thread of the module's own, one at a time), and
/// `nats:<subject>` for a received message (run on the subscriber's thread).
final class NATSEventRoutes: @unchecked Sendable {
    static let connected = "nats:connected"
    static let disconnected = "nats:disconnected"
    /// Connection events waiting for the thread at most; more are logged and dropped.
    static let capacity = 1024

    let core: CoreContext
    private let thread = TaskWorkers(name: "NATS events", capacity: NATSEventRoutes.capacity)

    init(core: CoreContext) { self.core = core }

    func start() { thread.start(threads: 1) { _ in true } }

    func stop() { thread.stop() }

    /// Whether the script defines `event_route[name]`.
    func defines(_ name: String) -> Bool { core.routes?.eventRouteNames.contains(name) == true }

    /// Queues `event_route[name]` (without `$natsData`) for the events thread.
    func run(_ name: String) {
        guard defines(name) else { return }
        if !thread.push({ self.runNow(name) }, wait: false) {
            Log.error("nats", "cannot run event_route[\(name)]: \(Self.capacity) events are waiting")
        }
    }

    /// Runs `event_route[name]` on this thread on Kamailio's faked request, as an event route.
    func runNow(_ name: String) {
        guard let routes = core.routes else { return }
        _ = routes.runEventRoute(name, MessageContext.faked(core: core), as: .event)
    }
}

import SwiftletSDK

/// The `nats` module (Kamailio's `modules/nats`): publish to NATS subjects from the script
/// through publish workers (`nats_publish`), and run `event_route[nats:<subject>]` for each
/// message of a subject/queue-group subscription, with `$natsData`; on libnats.
final class NATSModule {
    /// Kamailio's NATS_DEFAULT_URL, used when no `nats_url` is set.
    static let defaultURL = "nats://localhost:4222"
    /// Kamailio's NATS_URL_MAX_SIZE and NATS_MAX_SERVERS.
    static let maximumURLLength = 256
    static let maximumServers = 10

    /// `nats_url`, in the order given (at most `maximumServers` are used).
    var urls: [String] = []
    /// `subject_queue_group`: one subscriber (and connection) each.
    var subscriptions: [(subject: String, queueGroup: String)] = []
    /// `num_publish_workers` (Kamailio's DEFAULT_NUM_PUB_WORKERS).
    var publishWorkerCount = 2
    /// `event_callback`: accepted; no KEMI engine, so the event routes run (see README).
    var eventCallback = ""

    var core: CoreContext?
    var publisher: NATSPublisher?
    var subscribers: [NATSSubscriber] = []
    var events: NATSEventRoutes?
    /// Whether `start` ran (the main process's child_init).
    var started = false

    var exports: ModuleExports {
        let e = ModuleExports(name: "nats")
        e.parameters = parameters
        e.functions = [publishFunction]
        e.pseudoVariables = [NATSMessageState.pseudoVariableClass]
        e.initialize = { context in
            self.core = context.core
            if !self.eventCallback.isEmpty {
                Log.warning(
                    "nats",
                    "event_callback '\(self.eventCallback)' is not used: it names a KEMI function and "
                        + "Swiftlet has no KEMI engine; event_route[nats:...] blocks run instead")
            }
            for s in self.subscriptions where context.core.routes?.eventRouteNames.contains("nats:" + s.subject) != true
            {
                Log.info("nats", "route [nats:\(s.subject)] does not exist")
            }
            // Made here, before any SIP worker runs (they read `publisher`); their threads
            // start in child_init. Messages published before that wait in the queues.
            let events = NATSEventRoutes(core: context.core)
            self.events = events
            if self.publishWorkerCount > 0 {
                self.publisher = NATSPublisher(
                    workers: self.publishWorkerCount, servers: self.serverURLs, events: events)
            }
        }
        e.childInitialize = { rank in
            // Kamailio forks its NATS Subscriber and NATS Publisher processes from the main
            // process's child_init.
            guard rank == 0, !self.started, let core = self.core, let events = self.events else { return }
            self.started = true
            self.start(core, events)
        }
        e.destroy = { self.stop() }
        return e
    }

    /// Starts the event-route thread, the publish workers and one subscriber per
    /// `subject_queue_group`, each with its own connection.
    func start(_ core: CoreContext, _ events: NATSEventRoutes) {
        events.start()
        publisher?.start()
        subscribers = subscriptions.map {
            NATSSubscriber(
                subject: $0.subject, queueGroup: $0.queueGroup, servers: serverURLs, core: core, events: events)
        }
        for s in subscribers { s.start() }
    }

    /// mod_destroy: closes the subscriptions and connections and stops the threads.
    func stop() {
        for s in subscribers { s.stop() }
        subscribers = []
        publisher?.stop()
        events?.stop()
    }

    /// The servers every connection uses (the default one when none is set).
    var serverURLs: [String] {
        urls.isEmpty ? [Self.defaultURL] : Array(urls.prefix(Self.maximumServers))
    }

    var parameters: [ModuleParameter] {
        [
            ModuleParameter(
                "nats_url",
                .string { (v: String) throws(FixupError) in
                    guard v.utf8.count <= Self.maximumURLLength else {
                        throw FixupError("connection url exceeds max size \(Self.maximumURLLength)")
                    }
                    guard v.hasPrefix("nats://") else { throw FixupError("invalid nats url [\(v)]") }
                    self.urls.append(v)
                }),
            ModuleParameter(
                "num_publish_workers",
                .int { (v: Int) throws(FixupError) in
                    guard v >= 0 else { throw FixupError("num_publish_workers must be >= 0, got \(v)") }
                    self.publishWorkerCount = v
                }),
            ModuleParameter(
                "subject_queue_group",
                .string { (v: String) throws(FixupError) in
                    self.subscriptions.append(try Self.parseSubjectQueueGroup(v))
                }),
            ModuleParameter("event_callback", .string { (v: String) throws(FixupError) in self.eventCallback = v }),
        ]
    }

    /// `subject:queue_group` (split at the first `:`); both parts must be non-empty.
    static func parseSubjectQueueGroup(_ text: String) throws(FixupError) -> (subject: String, queueGroup: String) {
        guard let colon = text.firstIndex(of: ":") else {
            throw FixupError("subject_queue_group [\(text)] must be subject:queue_group")
        }
        let subject = String(text[..<colon])
        let group = String(text[text.index(after: colon)...])
        guard !subject.isEmpty, !group.isEmpty else {
            throw FixupError("subject_queue_group [\(text)] must be subject:queue_group")
        }
        return (subject, group)
    }

    /// `nats_publish(subject, payload)`: both may contain PVs.
    var publishFunction: ScriptFunction {
        ScriptFunction("nats_publish", parameters: 2, routes: .any) {
            (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            let subject = try args[0].stringFormat()
            let payload = try args[1].stringFormat()
            return { ctx in
                guard let publisher = self.publisher else {
                    NATSErrorLog.noPublisher.report(
                        "nats_publish: no publish worker runs (num_publish_workers is \(self.publishWorkerCount))")
                    return -1
                }
                return publisher.publish(subject: subject, payload: payload, ctx) ? 1 : -1
            }
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "nats") { NATSModule().exports }
}

import SwiftletSDK

/// The module's statistics (Kamailio's `dialog` group).
struct DialogStatistics {
    let active: CounterHandle
    let early: CounterHandle
    let processed: CounterHandle
    let expired: CounterHandle
    let failed: CounterHandle

    init() throws {
        func register(_ name: String, _ doc: String, _ flags: CounterFlags = []) throws -> CounterHandle {
            try Counters.shared.register(
                group: "dialog", name: name, description: doc, flags: flags, existingIsFine: true)
        }
        active = try register("active_dialogs", "number of active dialogs", .noReset)
        early = try register("early_dialogs", "number of early dialogs", .noReset)
        processed = try register("processed_dialogs", "number of processed dialogs")
        expired = try register("expired_dialogs", "number of expired dialogs")
        failed = try register("failed_dialogs", "number of failed dialogs")
    }
}

/// `event_route[dialog:start|end|failed]` (Kamailio's `dlg_run_event_route`).
extension DialogModule {
    /// Runs the event route of the change `old` → `new`, on `message` (a copy of its
    /// context) or, without one, on the faked message; the dialog is the route's.
    func runEventRoute(
        _ d: Dialog, message: SIPMessage?, receive: ReceiveInfo?, old: DialogState, new: DialogState
    ) {
        guard old != new else { return }
        let name: String
        switch (old, new) {
        case (_, .confirmedWithoutAck): name = "dialog:start"
        case (.confirmed, .deleted), (.confirmedWithoutAck, .deleted): name = "dialog:end"
        case (.unconfirmed, .deleted), (.early, .deleted): name = "dialog:failed"
        default: return
        }
        guard let core, let routes = core.routes, routes.eventRouteNames.contains(name) else { return }
        let ctx: MessageContext
        if let message, let receive {
            ctx = MessageContext(message: message, receive: receive, routeType: .local, core: core)
        } else {
            ctx = MessageContext.faked(core: core)
            ctx.routeType = .local
        }
        DialogMessageStates.with(ctx, dialog: d) { _ = routes.runEventRoute(name, ctx, as: .local) }
    }
}

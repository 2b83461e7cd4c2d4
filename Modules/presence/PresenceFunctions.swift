import SwiftletSDK

/// The script functions.
extension PresenceModule {
    var functions: [ScriptFunction] {
        [
            ScriptFunction("handle_publish", parameters: 0...1, routes: .request) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let sender = try args.first?.stringFormat()
                return { ctx in self.handlePublish(ctx, sender: sender?.render(ctx)) }
            },
            ScriptFunction("handle_subscribe", parameters: 0...1, routes: .request) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let watcher = try args.first?.stringFormat()
                return { ctx in self.handleSubscribe(ctx, watcher: watcher?.render(ctx)) }
            },
            ScriptFunction("pres_refresh_watchers", parameters: 3, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let uri = try args[0].stringFormat()
                let event = try args[1].stringFormat()
                let type = try args[2].intParameter()
                return { ctx in
                    self.refreshWatchers(uri: uri.render(ctx), event: event.render(ctx), type: type.value(ctx) ?? -1)
                }
            },
            ScriptFunction("pres_update_watchers", parameters: 2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let uri = try args[0].stringFormat()
                let event = try args[1].stringFormat()
                return { ctx in self.updateWatchers(uri: uri.render(ctx), event: event.render(ctx)) }
            },
            ScriptFunction("pres_has_subscribers", parameters: 2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let uri = try args[0].stringFormat()
                let event = try args[1].stringFormat()
                return { ctx in
                    self.subscriptions.watchers(of: uri.render(ctx), event: event.render(ctx)).isEmpty ? -1 : 1
                }
            },
        ]
    }

    /// `pres_refresh_watchers(uri, event, type)`: type 0 NOTIFYs the watchers with the
    /// current state; type 1 re-authorizes them (`pres_update_watchers`).
    func refreshWatchers(uri: String, event name: String, type: Int) -> Int {
        guard let event = event(named: name) else {
            Log.error("presence", "wrong event parameter")
            return -1
        }
        switch type {
        case 0:
            notifyWatchers(uri: uri, event: event)
            return 1
        case 1:
            return updateWatchers(uri: uri, event: name)
        default:
            Log.error("presence", "refresh type \(type) is not supported")
            return -1
        }
    }

    /// `pres_update_watchers(uri, event)` (`update_watchers_status`): asks the event module
    /// again for each watcher's status; a changed one is stored and NOTIFYed.
    func updateWatchers(uri: String, event name: String) -> Int {
        guard let event = event(named: name), RequestFields.userAndHost(uri) != nil else {
            Log.error("presence", "wrong event parameter")
            return -1
        }
        guard event.requiresAuthorization, let authorize = event.authorize else { return 1 }
        for s in subscriptions.watchers(of: uri, event: name) {
            let status = authorize(s.watcherURI, s.presentityURI)
            guard status != s.status else { continue }
            guard let changed = subscriptions.update(s.key, markDirty: settings.subsDBMode == 2, { $0.status = status })
            else { continue }
            do {
                try database?.update(
                    settings.watchersTable, set: [("status", .int(status.rawValue))],
                    where: [
                        .init("presentity_uri", .equal, .string(uri)),
                        .init("watcher_username", .equal, .string(s.watcherUser)),
                        .init("watcher_domain", .equal, .string(s.watcherDomain)),
                        .init("event", .equal, .string(name)),
                    ])
                if settings.subsDBMode == 1 { try watchers?.update(changed, now: now) }
            } catch {
                Log.error("presence", "updating watcher status: \(error)")
            }
            notify(changed, event: event)
        }
        return 1
    }
}

import SwiftletSDK

/// The periodic work: expired subscriptions get their terminating NOTIFY and go
/// (`timer_db_update`, every `db_update_period`), write-back of `subs_db_mode` 2, expired
/// publications go and their watchers are told (`ps_presentity_db_timer_clean`, every
/// `clean_period`).
extension PresenceModule {
    func subscriptionTimer() {
        let expired = subscriptions.removeExpired(before: now - settings.expiresOffset)
        for s in expired {
            guard let event = event(named: s.event) else { continue }
            notify(s, event: event, terminated: "timeout")
        }
        switch settings.subsDBMode {
        case 1:
            do { try watchers?.deleteExpired(before: now - settings.expiresOffset) } catch {
                Log.error("presence", "deleting expired subscriptions: \(error)")
            }
        case 2:
            writeBack()
            do { try watchers?.deleteExpired(before: now - settings.expiresOffset) } catch {
                Log.error("presence", "deleting expired subscriptions: \(error)")
            }
        default: break
        }
        do { try watchers?.cleanPendingWatchers(now: now) } catch {
            Log.error("presence", "cleaning pending subscriptions: \(error)")
        }
    }

    /// `subs_db_mode` 2: writes the changed subscriptions to `active_watchers`.
    func writeBack() {
        guard let watchers else { return }
        let changes = subscriptions.takeChanges()
        let t = now
        do {
            for s in changes.delete { try watchers.delete(s.key) }
            for s in changes.insert { try watchers.insert(s, now: t) }
            for s in changes.update { try watchers.update(s, now: t) }
        } catch {
            Log.error("presence", "updating subscriptions in database: \(error)")
        }
    }

    /// Removes the expired publications and NOTIFYs the watchers of their presentities.
    func cleanPresentities() {
        guard let presentities else { return }
        do {
            let expired = try presentities.expired(before: now)
            var touched: [(String, String)] = []
            for p in expired {
                try presentities.delete(p)
                if !touched.contains(where: { $0 == (p.uri, p.event) }) { touched.append((p.uri, p.event)) }
            }
            for (uri, name) in touched {
                if let event = event(named: name) { notifyWatchers(uri: uri, event: event) }
            }
        } catch {
            Log.error("presence", "cleaning expired presentities: \(error)")
        }
    }
}

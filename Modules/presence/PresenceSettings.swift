import SwiftletSDK

/// The presence module's parameters (Kamailio 5.6's names and defaults).
struct PresenceSettings {
    var dbURL = ""
    var presentityTable = "presentity"
    var activeWatchersTable = "active_watchers"
    var watchersTable = "watchers"
    /// Seconds between presentity expiry runs (`clean_period`).
    var cleanPeriod = 100
    /// Seconds between subscription expiry and write-back runs (`db_update_period`).
    var dbUpdatePeriod = 100
    var expiresOffset = 0
    var maxExpires = 3600
    var minExpires = 0
    /// 1: a SUBSCRIBE below `min_expires` gets 423; 2: its expiry is raised.
    var minExpiresAction = 1
    /// Contact of the NOTIFYs and of the SUBSCRIBE replies instead of the receiving socket.
    var serverAddress = ""
    /// 0: memory only, 1: write-through, 2: write-back, 3: database only (`subs_db_mode`).
    var subsDBMode = 2
    /// 0: presentities only in the database; 1: plus an in-memory index (`publ_cache`).
    var publCache = 1
    /// A 481 or 408 to a NOTIFY removes the subscription (`timeout_rm_subs`).
    var timeoutRemoveSubscriptions = 1
    /// NOTIFY at once after the SUBSCRIBE's reply (`send_fast_notify`).
    var sendFastNotify = 1
    /// 200 (1) or 202 (0) to a SUBSCRIBE of a published event (`subs_respond_200`).
    var subsRespond200 = 1

    static func parameters(_ m: PresenceModule) -> [ModuleParameter] {
        func int(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(v) })
        }
        func string(_ name: String, _ set: @escaping (String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(v) })
        }
        return [
            string("db_url") { m.settings.dbURL = $0 },
            string("presentity_table") { m.settings.presentityTable = $0 },
            string("active_watchers_table") { m.settings.activeWatchersTable = $0 },
            string("watchers_table") { m.settings.watchersTable = $0 },
            string("server_address") { m.settings.serverAddress = $0 },
            int("clean_period") { m.settings.cleanPeriod = $0 },
            int("db_update_period") { m.settings.dbUpdatePeriod = $0 },
            int("expires_offset") { m.settings.expiresOffset = max(0, $0) },
            int("max_expires") { m.settings.maxExpires = $0 },
            int("min_expires") { m.settings.minExpires = max(0, $0) },
            int("min_expires_action") { m.settings.minExpiresAction = $0 },
            int("subs_db_mode") { m.settings.subsDBMode = $0 },
            int("publ_cache") { m.settings.publCache = $0 },
            int("timeout_rm_subs") { m.settings.timeoutRemoveSubscriptions = $0 },
            int("send_fast_notify") { m.settings.sendFastNotify = $0 },
            int("subs_respond_200") { m.settings.subsRespond200 = $0 },
        ]
    }

    /// The checks of Kamailio's mod_init.
    mutating func validate() throws(FixupError) {
        if maxExpires <= 0 { maxExpires = 3600 }
        if cleanPeriod <= 0 { cleanPeriod = 100 }
        if dbUpdatePeriod <= 0 { dbUpdatePeriod = 100 }
        guard (0...3).contains(subsDBMode) else {
            throw FixupError("presence: subs_db_mode \(subsDBMode) is not supported (0, 1, 2 or 3)")
        }
        guard publCache == 0 || publCache == 1 else {
            throw FixupError("presence: publ_cache \(publCache) is not supported (0 or 1)")
        }
        guard minExpiresAction == 1 || minExpiresAction == 2 else {
            throw FixupError("presence: min_expires_action must be 1 or 2")
        }
        if dbURL.isEmpty {
            throw FixupError("presence: no db_url (Swiftlet keeps presentities in the database)")
        }
    }
}

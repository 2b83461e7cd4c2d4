import SwiftletSDK

/// Where usrloc writes contact changes besides memory (Kamailio's `db_mode`): nothing with
/// `db_mode` 0, a database table in the other modes.
protocol ContactStorage: AnyObject, Sendable {
    /// Writes the change of one AoR from `old` to `new` contacts (matched by ruid: inserts,
    /// updates, deletes); nil when done, else why not.
    func apply(domain: String, aor: String, old: [UsrlocContact], new: [UsrlocContact]) -> UsrlocError?
    /// Every stored record of `domain` (`preload`).
    func load(domain: String) throws(UsrlocError) -> [UsrlocRecord]
}

/// `db_mode` 0: contacts live in memory only.
final class MemoryOnlyStorage: ContactStorage {
    func apply(domain: String, aor: String, old: [UsrlocContact], new: [UsrlocContact]) -> UsrlocError? { nil }
    func load(domain: String) throws(UsrlocError) -> [UsrlocRecord] { [] }
}

/// The changes between two contact lists of one AoR, by ruid.
struct ContactChanges {
    var inserted: [UsrlocContact] = []
    var updated: [UsrlocContact] = []
    var deleted: [UsrlocContact] = []

    init(old: [UsrlocContact], new: [UsrlocContact]) {
        var before: [String: UsrlocContact] = [:]
        for c in old { before[c.ruid] = c }
        for c in new {
            if let o = before.removeValue(forKey: c.ruid) {
                if o != c { updated.append(c) }
            } else {
                inserted.append(c)
            }
        }
        deleted = old.filter { before[$0.ruid] != nil }
    }

    var isEmpty: Bool { inserted.isEmpty && updated.isEmpty && deleted.isEmpty }
}

import SwiftletSDK

/// One dialog profile (Kamailio's `dlg_profile_table`): the dialogs linked to it, each with
/// a value when the profile has values.
final class DialogProfile: @unchecked Sendable {
    let name: String
    let hasValue: Bool
    private let lock = RecursiveLock()
    private var total = 0
    private var byValue: [String: Int] = [:]
    private var members: [ObjectIdentifier: (dialog: Dialog, values: [String])] = [:]
    /// Items of dialogs other instances manage (`dlg_remote_profile`): value, uid and the
    /// Unix time they expire at (0: never).
    private var remote: [(value: String, uid: String, expires: Int)] = []

    init(name: String, hasValue: Bool) {
        self.name = name
        self.hasValue = hasValue
    }

    func add(_ dialog: Dialog, value: String?) {
        let v = hasValue ? (value ?? "") : ""
        lock.locked {
            total += 1
            byValue[v, default: 0] += 1
            members[ObjectIdentifier(dialog), default: (dialog, [])].values.append(v)
        }
    }

    func remove(_ dialog: Dialog, value: String?) {
        let v = hasValue ? (value ?? "") : ""
        lock.locked {
            let id = ObjectIdentifier(dialog)
            guard var m = members[id], let i = m.values.firstIndex(of: v) else { return }
            m.values.remove(at: i)
            members[id] = m.values.isEmpty ? nil : m
            uncount(v)
        }
    }

    /// `dlg_remote_profile("add", ...)`: one more item, counted in the size.
    func addRemote(value: String, uid: String, expires: Int) {
        let v = hasValue ? value : ""
        lock.locked {
            remote.append((v, uid, expires))
            total += 1
            byValue[v, default: 0] += 1
        }
    }

    /// `dlg_remote_profile("rm", ...)`: removes the item with this value and uid; false
    /// when there is none.
    func removeRemote(value: String, uid: String) -> Bool {
        let v = hasValue ? value : ""
        return lock.locked {
            guard let i = remote.firstIndex(where: { $0.value == v && $0.uid == uid }) else { return false }
            remote.remove(at: i)
            uncount(v)
            return true
        }
    }

    /// Removes the remote items whose time is before `now`; returns how many.
    @discardableResult
    func removeExpiredRemote(now: Int) -> Int {
        lock.locked {
            var removed = 0
            remote.removeAll { item in
                guard item.expires > 0 && item.expires < now else { return false }
                uncount(item.value)
                removed += 1
                return true
            }
            return removed
        }
    }

    private func uncount(_ v: String) {
        total -= 1
        byValue[v, default: 1] -= 1
        if byValue[v] == 0 { byValue[v] = nil }
    }

    /// `get_profile_size`: all links, or (profiles with values) those with `value`.
    func size(value: String?) -> Int {
        lock.locked {
            guard hasValue, let value else { return total }
            return byValue[value] ?? 0
        }
    }

    /// The linked dialogs (with `value` only those linked with it), for `dlg.profile_list`.
    func dialogs(value: String?) -> [Dialog] {
        lock.locked {
            members.values.filter { m in !hasValue || value == nil || m.values.contains(value!) }.map(\.dialog)
        }
    }
}

/// The configured profiles by name.
final class DialogProfiles: @unchecked Sendable {
    private(set) var byName: [String: DialogProfile] = [:]

    func define(_ name: String, hasValue: Bool) throws(FixupError) {
        guard byName[name] == nil else { throw FixupError("duplicate dialog profile \(name)") }
        byName[name] = DialogProfile(name: name, hasValue: hasValue)
    }

    subscript(name: String) -> DialogProfile? { byName[name] }
}

extension DialogModule {
    /// Links `dialog` to `profile` (`link_dlg_profile`).
    func link(_ dialog: Dialog, _ profile: DialogProfile, value: String?) {
        let added = table.locked(dialog) { () -> Bool in
            guard dialog.state != .deleted else { return false }
            // Kamailio's list order: the newest link first; DLG_FLAG_CHANGED_PROF.
            dialog.profiles.insert(
                ProfileLink(profile: profile.name, value: profile.hasValue ? (value ?? "") : nil), at: 0)
            dialog.dflags |= DialogFlags.changedProfiles
            return true
        }
        if added { profile.add(dialog, value: value) }
    }

    /// Removes one link of `dialog` to `profile` (with `value` for profiles with values);
    /// false when there is none (`unset_dlg_profile`).
    func unlink(_ dialog: Dialog, _ profile: DialogProfile, value: String?) -> Bool {
        let removed = table.locked(dialog) { () -> ProfileLink? in
            guard
                let i = dialog.profiles.firstIndex(where: {
                    $0.profile == profile.name && (!profile.hasValue || $0.value == (value ?? ""))
                })
            else { return nil }
            return dialog.profiles.remove(at: i)
        }
        guard let removed else { return false }
        profile.remove(dialog, value: removed.value)
        return true
    }

    /// Removes every link of a dialog that ended.
    func unlinkAll(_ dialog: Dialog, _ links: [ProfileLink]) {
        for l in links { profiles[l.profile]?.remove(dialog, value: l.value) }
    }

    /// `is_in_profile`: the dialog is linked to `profile` (with `value` when given).
    func isLinked(_ dialog: Dialog, _ profile: DialogProfile, value: String?) -> Bool {
        table.locked(dialog) {
            dialog.profiles.contains {
                $0.profile == profile.name && (!profile.hasValue || value == nil || $0.value == value)
            }
        }
    }
}

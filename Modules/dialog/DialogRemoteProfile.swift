import SwiftletSDK

/// `dlg_remote_profile(cmd, profile, value, uid, expires)`: profile items of dialogs that
/// other instances manage, so that `get_profile_size` counts calls across servers.
extension DialogModule {
    var remoteProfileFunction: ScriptFunction {
        ScriptFunction("dlg_remote_profile", parameters: 5, routes: .any) { args throws(FixupError) in
            let command = try args[0].stringFormat()
            let name = try args[1].stringFormat()
            let value = try args[2].stringFormat()
            let uid = try args[3].stringFormat()
            let expires = try args[4].intParameter()
            return { ctx in
                guard let e = expires.value(ctx) else {
                    Log.error("dialog", "no hash entry value value")
                    return -1
                }
                return self.remoteProfile(
                    command: command.render(ctx), profile: name.render(ctx), value: value.render(ctx),
                    uid: uid.render(ctx), expires: e)
            }
        }
    }

    /// Kamailio's `dlg_cmd_remote_profile`: `add` an item (expiring at the Unix time
    /// `expires`, 0 never) or `rm` the one with this value and uid. 1, or -1 for a bad
    /// command, an unknown profile, an empty uid or a missing value.
    func remoteProfile(command: String, profile name: String, value: String, uid: String, expires: Int) -> Int {
        guard !command.isEmpty, !name.isEmpty, !uid.isEmpty else {
            Log.error("dialog", "invalid parameters")
            return -1
        }
        guard let profile = profiles[name] else {
            Log.error("dialog", "profile [\(name)] not found")
            return -1
        }
        if profile.hasValue && value.isEmpty {
            Log.error("dialog", "profile [\(name)] requires a value")
            return -1
        }
        switch command {
        case "add": profile.addRemote(value: value, uid: uid, expires: expires)
        case "rm": _ = profile.removeRemote(value: value, uid: uid)
        default:
            Log.error("dialog", "unknown command [\(command)]")
            return -1
        }
        return 1
    }

    /// The clean-up timer's part: every remote item whose time has passed goes.
    func removeExpiredRemoteProfiles() {
        let t = now
        for profile in profiles.byName.values { profile.removeExpiredRemote(now: t) }
    }
}

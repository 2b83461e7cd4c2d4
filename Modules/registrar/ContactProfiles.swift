import SwiftletSDK

/// The contacts `reg_fetch_contacts()` copied into a profile, read with `$ulc(profile=>attr)`.
struct FetchedContacts {
    var aor: String
    var domain: String
    var aorHash: UInt32
    var contacts: [UsrlocContact]
}

/// `$ulc(profile=>attr)[index]` and the profiles behind it (Kamailio's `regpv.c`); profiles
/// live per worker thread, as Kamailio's live per process, until `reg_free_contacts()`.
final class ContactProfiles {
    static let attributes: Set<String> = [
        "aor", "domain", "aorhash", "addr", "path", "received", "expires", "callid", "q", "cseq", "flags", "cflags",
        "user_agent", "socket", "modified", "methods", "count", "ruid", "regid", "instance", "conid", "server_id",
    ]

    func free(_ profile: String) { RegistrarThreadState.current.profiles[profile] = nil }

    func store(_ profile: String, _ fetched: FetchedContacts?) {
        RegistrarThreadState.current.profiles[profile] = fetched
    }

    var pvClass: PseudoVariableClass {
        PseudoVariableClass("ulc") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            let inner = pv.inner ?? ""
            let parts = inner.split(separator: "=>", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[1].isEmpty else {
                throw FixupError("invalid contact pv name \(inner)")
            }
            let profile = String(parts[0])
            let attr = String(parts[1])
            guard Self.attributes.contains(attr) else { throw FixupError("unknown contact attr name in \(inner)") }
            let index = try PVIndex(pv.index, registry: pv.registry)
            return PseudoVariable(text: pv.text) { ctx in
                guard let p = RegistrarThreadState.current.profiles[profile] else { return .null }
                var i = 0
                if case .position(let n) = index.resolve(ctx) { i = max(0, n) }
                guard i < p.contacts.count else { return .null }
                return Self.value(attr, p, p.contacts[i])
            }
        }
    }

    static func value(_ attr: String, _ p: FetchedContacts, _ c: UsrlocContact) -> PVValue {
        func str(_ s: String) -> PVValue { .string(s) }
        switch attr {
        case "aor": return str(p.aor)
        case "domain": return str(p.domain)
        case "aorhash": return .int(Int(p.aorHash))
        case "addr": return str(c.address)
        case "path": return str(c.path)
        case "received": return str(c.received)
        case "expires": return .int(c.expires)
        case "callid": return str(c.callID)
        case "q": return .int(c.q)
        case "cseq": return .int(c.cseq)
        case "flags": return .int(Int(c.flags))
        case "cflags": return .int(Int(c.cflags))
        case "user_agent": return str(c.userAgent)
        case "socket": return c.socket.isEmpty ? .null : str(c.socket)
        case "modified": return .int(c.lastModified)
        case "methods": return .int(Int(c.methods))
        case "count": return .int(p.contacts.count)
        case "ruid": return str(c.ruid)
        case "regid": return .int(c.regID)
        case "instance": return c.instance.isEmpty ? .null : str(c.instance)
        case "conid":
            let lower = c.socket.lowercased()
            return lower.hasPrefix("udp:") || lower.isEmpty ? .null : .int(c.connectionID)
        case "server_id": return .int(c.serverID)
        default: return .null
        }
    }
}

extension RegistrarModule {
    func fixupFetch(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let d = try domain(args[0])
        let uri = try args[1].stringFormat()
        let profile = try args[2].constantString()
        return { ctx in self.fetch(ctx, d, uri: uri.render(ctx), profile: profile) }
    }

    /// Kamailio's `pv_fetch_contacts`: copies the AoR's contacts into `profile`; 1 when it has
    /// any, -1 otherwise.
    func fetch(_ ctx: MessageContext, _ d: UsrlocDomain, uri: String, profile: String) -> Int {
        profiles.free(profile)
        guard let (aor, _) = try? extractAoR(uri) else {
            Log.error("registrar", "failed to extract Address Of Record")
            return -1
        }
        guard let rec = d.record(aor) else { return -1 }
        profiles.store(
            profile, FetchedContacts(aor: aor, domain: d.name, aorHash: rec.aorHash, contacts: rec.contacts))
        return 1
    }
}

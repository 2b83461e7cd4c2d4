import SwiftletSDK

/// Watcher information (RFC 3857, the `presence.winfo` event that presence_xml adds):
/// Kamailio's `wipeer` pairing, `get_wi_notify_body` and `create_winfo_xml`, and the
/// NOTIFYs of `query_db_notify` when a watcher subscribes, refreshes or unsubscribes.
extension PresenceModule {
    /// The event paired with `event` (`wipeer`): `presence.winfo` for `presence` and back.
    func watcherInfoPeer(of event: PresenceEvent) -> PresenceEvent? {
        if !event.isPublished {
            guard event.name.hasSuffix(".winfo") else { return nil }
            return self.event(named: String(event.name.dropLast(6)))
        }
        guard let winfo = self.event(named: event.name + ".winfo"), !winfo.isPublished else { return nil }
        return winfo
    }

    /// NOTIFYs the active watcher-info subscribers of `uri` (`query_db_notify(pres_uri,
    /// wipeer, watcher)`): with `watcher`, a partial document about that subscription;
    /// without, the full list.
    func notifyWatcherInfo(uri: String, winfo: PresenceEvent, watcher: Subscription?) {
        let t = now
        for s in subscriptions.watchers(of: uri, event: winfo.name) where s.status == .active && s.expires >= t {
            notify(s, event: winfo, watcher: watcher)
        }
    }

    /// The `application/watcherinfo+xml` body for the subscription `s` to `winfo`
    /// (`get_wi_notify_body`), as libxml2 writes Kamailio's document: the subscriptions to
    /// the peer event of `s`'s presentity (full), or only `watcher` (partial); pending
    /// `watchers` rows without a subscription are listed as `waiting`.
    func watcherInfoBody(_ s: Subscription, winfo: PresenceEvent, version: Int, watcher: Subscription?) -> [UInt8] {
        let package = watcherInfoPeer(of: winfo)?.name ?? String(winfo.name.dropLast(6))
        var list: [(uri: String, id: String, status: String)] = []
        if let watcher {
            list = [(Self.watcherURI(watcher.watcherUser, watcher.watcherDomain), watcher.callID, watcher.status.text)]
        } else {
            let t = now
            // Kamailio lists them oldest first; Swiftlet by Call-ID.
            list = subscriptions.watchers(of: s.presentityURI, event: package).filter { $0.expires >= t }
                .sorted { $0.callID < $1.callID }
                .map { (Self.watcherURI($0.watcherUser, $0.watcherDomain), $0.callID, $0.status.text) }
            do {
                for w in try watchers?.pendingWatchers(presentity: s.presentityURI, event: package) ?? [] {
                    let uri = Self.watcherURI(w.user, w.domain)
                    guard !list.contains(where: { $0.uri.lowercased() == uri.lowercased() }) else { continue }
                    list.insert((uri, Self.base64(Array(uri.utf8)), "waiting"), at: 0)
                }
            } catch {
                Log.error("presence", "failed to add waiting watchers: \(error)")
            }
        }
        var text = "<?xml version=\"1.0\"?>\n<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\""
        text +=
            " version=\"\(UInt32(truncatingIfNeeded: version))\" state=\"\(watcher == nil ? "full" : "partial")\">\n"
        text +=
            "  <watcher-list resource=\"\(Self.xmlAttribute(s.presentityURI))\" package=\"\(Self.xmlAttribute(package))\""
        if list.isEmpty {
            text += "/>\n"
        } else {
            text += ">\n"
            for w in list {
                text += "    <watcher id=\"\(Self.xmlAttribute(w.id))\" event=\"subscribe\" status=\"\(w.status)\">"
                text += Self.xmlText(w.uri) + "</watcher>\n"
            }
            text += "  </watcher-list>\n"
        }
        text += "</watcherinfo>\n"
        return Array(text.utf8)
    }

    /// `uandd_to_uri`: `sip:user@domain`, `sip:domain` without a user.
    static func watcherURI(_ user: String, _ domain: String) -> String {
        user.isEmpty ? "sip:\(domain)" : "sip:\(user)@\(domain)"
    }

    /// An attribute value as libxml2 writes it (no encoding declared).
    static func xmlAttribute(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            case "\t": out += "&#9;"
            default: out += u.value >= 0x80 ? "&#x\(String(u.value, radix: 16, uppercase: true));" : String(u)
            }
        }
        return out
    }

    /// Text content as libxml2 writes it (no encoding declared).
    static func xmlText(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\r": out += "&#13;"
            default: out += u.value >= 0x80 ? "&#x\(String(u.value, radix: 16, uppercase: true));" : String(u)
            }
        }
        return out
    }

    /// Base64 with padding (Kamailio's `to64frombits`), the id of a waiting watcher.
    static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            let b0 = bytes[i]
            let b1 = n > 1 ? bytes[i + 1] : 0
            let b2 = n > 2 ? bytes[i + 2] : 0
            out.append(table[Int(b0 >> 2)])
            out.append(table[Int((b0 & 3) << 4 | b1 >> 4)])
            out.append(n > 1 ? table[Int((b1 & 15) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(n > 2 ? table[Int(b2 & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

import SwiftletSDK

/// The parts of a PUBLISH or SUBSCRIBE the module reads, as text.
enum RequestFields {
    static func text(_ b: [UInt8], _ r: Range<Int>) -> String { String(decoding: b[r], as: UTF8.self) }

    /// The event name and its `id` parameter (`Event: presence;id=1`); nil without an Event
    /// header, `.failure` when it does not parse.
    static func event(_ m: SIPMessage) -> Result<(name: String, id: String), SIPParseError>? {
        guard let h = m.firstHeader(.event), !h.valueRange.isEmpty else { return nil }
        do {
            let t = try TokenWithParameters.parse(m.buffer, h.valueRange)
            var id = ""
            for p in t.parameters where text(m.buffer, p.name).lowercased() == "id" {
                id = p.value.map { text(m.buffer, $0) } ?? ""
            }
            return .success((text(m.buffer, t.token), id))
        } catch {
            return .failure(error)
        }
    }

    /// User and host of a URI range.
    static func userAndHost(_ b: [UInt8], _ r: Range<Int>) -> (user: String, host: String)? {
        guard let u = try? URIComponents.parse(b, r) else { return nil }
        return (u.user.map { text(b, $0) } ?? "", text(b, u.host))
    }

    /// User and host of a URI string.
    static func userAndHost(_ uri: String) -> (user: String, host: String)? {
        let b = Array(uri.utf8)
        return userAndHost(b, 0..<b.count)
    }

    /// The body's bytes.
    static func body(_ m: SIPMessage) -> [UInt8] { Array(m.buffer[m.bodyRange]) }

    /// The value of the first header named `name` (case-insensitive), trimmed.
    static func header(_ m: SIPMessage, _ name: String) -> String? {
        m.firstHeader(named: name).map { m.value(of: $0).trimmingCharacters(in: " \t") }
    }
}

extension String {
    /// The string without leading and trailing characters in `set`.
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

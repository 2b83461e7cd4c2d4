import SwiftletSDK

/// One Contact of a REGISTER with the parameters registrar reads (Kamailio's `contact_t`).
struct RequestContact {
    var uri: String
    var expires: String?
    var q: String?
    var methods: String?
    var received: String?
    var instance: String?
    var regID: String?
}

/// What registrar reads from a REGISTER (Kamailio's `parse_message` + `check_contacts`).
struct RegisterRequest {
    var contacts: [RequestContact] = []
    var star = false
    /// The Expires header value, nil when absent (Kamailio's `get_expires_hf` -1).
    var expiresHeader: Int?
    /// The parsed To header and CSeq number (parsed once for all of save()).
    let to: NameAddr
    let cseq: UInt32

    /// Parses the headers registrar needs; throws the reason for a 400.
    init(_ msg: SIPMessage, contactMaxSize: Int) throws(RegistrarFailure) {
        guard let to = try? msg.to() else { throw RegistrarFailure(.toMissing) }
        self.to = to
        guard msg.callIDRange != nil else { throw RegistrarFailure(.callIDMissing) }
        guard let cseq = try? msg.cseq() else { throw RegistrarFailure(.cseqMissing) }
        self.cseq = cseq.number
        if let h = msg.firstHeader(.expires) {
            expiresHeader = try Self.expiresValue(msg.buffer[h.valueRange])
        }
        let b = msg.buffer
        let all: [NameAddr]
        do {
            all = try msg.contacts()
        } catch {
            throw RegistrarFailure(.contactParse)
        }
        for na in all {
            if na.isWildcard {
                star = true
                continue
            }
            var c = RequestContact(uri: b.text(na.uri))
            for p in na.parameters(b) {
                let name = b.text(p.name).lowercased()
                let value = p.value.map { Self.unquoted(b.text($0)) } ?? ""
                switch name {
                case "expires": c.expires = value
                case "q": c.q = value
                case "methods": c.methods = value
                case "received": c.received = value
                case "+sip.instance": c.instance = value
                case "reg-id": c.regID = value
                default: break
                }
            }
            contacts.append(c)
        }
        if star {
            // `*` needs Expires: 0 and no other contact.
            guard expiresHeader == 0 else { throw RegistrarFailure(.starExpires) }
            guard contacts.isEmpty, all.count == 1 else { throw RegistrarFailure(.starContacts) }
        }
        // By index: `for c in contacts` copies each contact (a retain per string).
        for i in contacts.indices {
            if contacts[i].uri.utf8.count > contactMaxSize { throw RegistrarFailure(.contactTooLong) }
            if let n = contacts[i].received?.utf8.count, n > 255 { throw RegistrarFailure(.contactTooLong) }
        }
    }

    /// Kamailio's `parse_expires`: an empty value is an error; digits (up to a space) are the
    /// value; anything else, or more than 10 characters, counts as no Expires header (RFC 2543
    /// dates).
    static func expiresValue(_ raw: ArraySlice<UInt8>) throws(RegistrarFailure) -> Int? {
        var text = raw
        while let f = text.first, isSpace(f) { text = text.dropFirst() }
        while let l = text.last, isSpace(l) { text = text.dropLast() }
        guard !text.isEmpty else { throw RegistrarFailure(.expiresParse) }
        guard text.count <= 10 else { return nil }
        var v = 0
        for ch in text {
            switch ch {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = v &* 10 &+ Int(ch - UInt8(ascii: "0"))
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                return Int(Int32(truncatingIfNeeded: v))
            default: return nil
            }
        }
        return Int(Int32(truncatingIfNeeded: v))
    }

    /// SP, HT, CR, LF.
    static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }

    static func unquoted(_ s: String) -> String {
        if s.count >= 2, s.hasPrefix("\""), s.hasSuffix("\"") { return String(s.dropFirst().dropLast()) }
        return s
    }

    /// Kamailio's `str2q`: "0" to "1" with at most three decimals, in thousandths.
    static func qValue(_ s: String) -> Int? {
        let t = Array(s.utf8)
        guard let first = t.first, first == UInt8(ascii: "0") || first == UInt8(ascii: "1") else { return nil }
        let whole = Int(first - UInt8(ascii: "0"))
        if t.count == 1 { return whole * 1000 }
        guard t[1] == UInt8(ascii: "."), t.count <= 5 else { return nil }
        var frac = 0
        var scale = 100
        for d in t[2...] {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            frac += Int(d - UInt8(ascii: "0")) * scale
            scale /= 10
        }
        let q = whole * 1000 + frac
        return q <= 1000 ? q : nil
    }

    /// Kamailio's `q2str`: "" for unspecified, "1", "0", or "0.5", "0.05", "0.123".
    static func qText(_ q: Int) -> String {
        if q == UsrlocContact.qUnspecified { return "" }
        if q >= 1000 { return "1" }
        if q <= 0 { return "0" }
        var s = "0."
        var v = q
        s.append(Character(UnicodeScalar(UInt8(ascii: "0") + UInt8(v / 100))))
        v %= 100
        if v == 0 { return s }
        s.append(Character(UnicodeScalar(UInt8(ascii: "0") + UInt8(v / 10))))
        v %= 10
        if v == 0 { return s }
        s.append(Character(UnicodeScalar(UInt8(ascii: "0") + UInt8(v))))
        return s
    }
}

/// Kamailio's `METHOD_*` bits for method filtering (`methods` of a contact).
enum MethodBits {
    static let names: [(String, UInt32)] = [
        ("INVITE", 1), ("CANCEL", 2), ("ACK", 4), ("BYE", 8), ("INFO", 16), ("REGISTER", 32), ("SUBSCRIBE", 64),
        ("NOTIFY", 128), ("MESSAGE", 256), ("OPTIONS", 512), ("PRACK", 1024), ("UPDATE", 2048), ("REFER", 4096),
        ("PUBLISH", 8192), ("KDMQ", 16384), ("GET", 32768), ("POST", 65536), ("PUT", 131072), ("DELETE", 262144),
    ]
    static let other: UInt32 = 524288

    static func bit(_ method: String) -> UInt32 {
        let upper = method.uppercased()
        return names.first { $0.0 == upper }?.1 ?? other
    }

    /// A comma-separated method list (`Allow`, the `methods` parameter); nil when malformed.
    static func mask(_ list: String) -> UInt32? {
        var m: UInt32 = 0
        for part in list.split(separator: ",") {
            let token = part.trimmingCharacters()
            guard !token.isEmpty else { return nil }
            m |= bit(token)
        }
        return m
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" || f == "\n" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" { s = s.dropLast() }
        return String(s)
    }
}

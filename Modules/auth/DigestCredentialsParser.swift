import SwiftletSDK
import SwiftletSIP

/// Kamailio's digest credentials parser (`core/parser/digest/digest_parser.c`) and
/// `find_credentials`: the first header of a kind whose realm matches.
enum DigestCredentialsParser {
    /// The outcome of parsing one header value.
    enum Parsed {
        case digest(DigestCredentials)
        /// Another scheme (Kamailio: 1, skipped when looking for a realm).
        case otherScheme
        /// Broken digest parameters (Kamailio: -2, an error).
        case malformed
    }

    /// Finds the credentials for `realm` (compared case-insensitively) among the headers of
    /// `kind`: `.success(nil)` when none matches, `.failure` when one does not parse.
    static func find(_ message: SIPMessage, realm: String, kind: DigestCredentialsHeader) -> Result<
        DigestCredentials?, ParseFailure
    > {
        for field in message.headers where field.name == kind.headerName {
            switch parse(message.buffer, field) {
            case .otherScheme: continue
            case .malformed: return .failure(ParseFailure())
            case .digest(let c):
                if let r = c.realm, equalsIgnoringCase(r.utf8, realm.utf8) { return .success(c) }
            }
        }
        return .success(nil)
    }

    struct ParseFailure: Error {}

    /// `parse_digest_cred`.
    static func parse(_ b: [UInt8], _ field: HeaderField) -> Parsed {
        var i = field.valueRange.lowerBound
        let end = field.valueRange.upperBound
        func skipSpace() { while i < end, isLWS(b[i]) { i += 1 } }
        skipSpace()
        guard end - i >= 7, equalsIgnoringCase(b[i..<i + 6], "digest".utf8),
            isLWS(b[i + 6]) || b[i + 6] == 44
        else { return .otherScheme }
        i += 7
        skipSpace()
        var c = DigestCredentials(field: field)
        var username: String?
        while true {
            // parse_param_name: the name up to '=' (spaces before '=' allowed).
            guard let eq = b[i..<end].firstIndex(of: 61) else { return .malformed }
            var nameEnd = eq
            while nameEnd > i, isLWS(b[nameEnd - 1]) { nameEnd -= 1 }
            let name = parameterField(b, i..<nameEnd)
            i = eq + 1
            skipSpace()
            guard i < end else { return .malformed }
            let value: String
            if b[i] == 34 {
                guard end - i >= 2, let close = b[(i + 1)..<end].firstIndex(of: 34) else { return .malformed }
                value = String(decoding: b[(i + 1)..<close], as: UTF8.self)
                i = close + 1
            } else {
                let s = i
                while i < end, !isLWS(b[i]), b[i] != 44 { i += 1 }
                guard i > s else { return .malformed }
                value = String(decoding: b[s..<i], as: UTF8.self)
            }
            switch name {
            case .username: username = value
            case .realm: c.realm = value
            case .nonce: c.nonce = value
            case .uri: c.uri = value
            case .response: c.response = value
            case .cnonce: c.cnonce = value
            case .opaque: c.opaque = value
            case .qop: c.qop = value
            case .nc: c.nc = value
            case .algorithm: c.algorithm = value
            case nil: break
            }
            guard let comma = b[i..<end].firstIndex(of: 44) else { break }
            i = comma + 1
            skipSpace()
        }
        if let q = c.qop { c.qopKind = qopKind(q) }
        if let a = c.algorithm { c.algorithmKind = algorithmKind(a) }
        if let u = username { splitUsername(u, into: &c) }
        return .digest(c)
    }

    /// The digest parameters kept (names compared case-insensitively).
    enum Field: CaseIterable {
        case username, realm, nonce, uri, response, cnonce, opaque, qop, nc, algorithm
    }

    private static let fieldNames: [(name: [UInt8], field: Field)] = Field.allCases.map {
        (Array("\($0)".utf8), $0)
    }

    /// The parameter named by `b[r]`, without building a string.
    static func parameterField(_ b: [UInt8], _ r: Range<Int>) -> Field? {
        for (name, f) in fieldNames where name.count == r.count && equalsIgnoringCase(b[r], name) { return f }
        return nil
    }

    /// `parse_qop`.
    static func qopKind(_ text: String) -> DigestQOP {
        switch text.trimmingCharacters().lowercased() {
        case "": .unspecified
        case "auth": .auth
        case "auth-int": .authInt
        default: .other
        }
    }

    /// `parse_algorithm`.
    static func algorithmKind(_ text: String) -> DigestAlgorithmName {
        switch text.trimmingCharacters().lowercased() {
        case "md5": .md5
        case "md5-sess": .md5Session
        default: .other
        }
    }

    /// `parse_username`: `user@domain`, `sip:user@domain`.
    static func splitUsername(_ whole: String, into c: inout DigestCredentials) {
        c.username = whole
        c.user = whole
        c.domain = ""
        let u = Array(whole.utf8)
        guard u.count > 2 else { return }
        var user = u[...]
        if let at = u.firstIndex(of: 64) {
            c.domain = String(decoding: u[(at + 1)...], as: UTF8.self)
            user = u[..<at]
        }
        if let colon = user.firstIndex(of: 58) { user = user[(colon + 1)...] }
        c.user = String(decoding: user, as: UTF8.self)
    }

    /// Kamailio's `check_dig_cred`: the fields every credential needs.
    static func hasRequiredFields(_ c: DigestCredentials) -> Bool {
        guard c.username != nil, c.realm != nil, c.nonce != nil, c.uri != nil, c.response != nil else { return false }
        if c.qopKind == .auth || c.qopKind == .authInt { return c.cnonce != nil && c.nc != nil }
        return true
    }

    static func isLWS(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }

    static func equalsIgnoringCase(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where lower(x) != lower(y) { return false }
        return true
    }

    static func lower(_ c: UInt8) -> UInt8 { (65...90).contains(c) ? c | 0x20 : c }
}

import SwiftletSDK
import SwiftletSIP

/// Kamailio's digest credentials parser (`core/parser/digest/digest_parser.c`) and
/// `find_credentials`: the first header of a kind whose realm matches.
///
/// It runs on every authenticated request, so it scans the bytes of the message in place and
/// makes the credentials' strings only for a header whose realm matches.
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
        var scan = DigestFieldRanges()
        switch findRanges(message, realm: realm, kind: kind, into: &scan) {
        case .failure(let e): return .failure(e)
        case .success(nil): return .success(nil)
        case .success(let field?):
            return .success(message.buffer.withUnsafeBufferPointer { scan.credentials($0, field) })
        }
    }

    struct ParseFailure: Error {}

    /// `find` without making the credentials' strings: the header that matched, its scan
    /// (ranges of `message.buffer`) left in `scan`.
    static func findRanges(
        _ message: SIPMessage, realm: String, kind: DigestCredentialsHeader, into scan: inout DigestFieldRanges
    ) -> Result<HeaderField?, ParseFailure> {
        let name = kind.headerName
        var realm = realm
        return realm.withUTF8 { wanted in
            message.buffer.withUnsafeBufferPointer { b in
                for field in message.headers where field.name == name {
                    scan = DigestFieldRanges()
                    switch scan.parse(b, field.valueRange) {
                    case .otherScheme: continue
                    case .malformed: return .failure(ParseFailure())
                    case .digest:
                        if let r = scan.realm, equalsIgnoringCase(b, r, wanted) { return .success(field) }
                    }
                }
                return .success(nil)
            }
        }
    }

    /// `parse_digest_cred`.
    static func parse(_ b: [UInt8], _ field: HeaderField) -> Parsed {
        b.withUnsafeBufferPointer { p -> Parsed in
            var scan = DigestFieldRanges()
            switch scan.parse(p, field.valueRange) {
            case .otherScheme: return .otherScheme
            case .malformed: return .malformed
            case .digest: return .digest(scan.credentials(p, field))
            }
        }
    }

    /// The digest parameters kept (names compared case-insensitively).
    enum Field: CaseIterable {
        case username, realm, nonce, uri, response, cnonce, opaque, qop, nc, algorithm
    }

    /// The parameter named by `b[r]`, without building a string: by length, then the bytes.
    static func parameterField(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Field? {
        func named(_ name: StaticString, _ f: Field) -> Field? {
            let n = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
            for k in 0..<n.count where lower(b[r.lowerBound + k]) != n[k] { return nil }
            return f
        }
        switch r.count {
        case 2: return named("nc", .nc)
        case 3: return lower(b[r.lowerBound]) == 117 ? named("uri", .uri) : named("qop", .qop)
        case 5: return lower(b[r.lowerBound]) == 114 ? named("realm", .realm) : named("nonce", .nonce)
        case 6: return lower(b[r.lowerBound]) == 99 ? named("cnonce", .cnonce) : named("opaque", .opaque)
        case 8:
            switch lower(b[r.lowerBound]) {
            case 117: return named("username", .username)
            case 114: return named("response", .response)
            default: return nil
            }
        case 9: return named("algorithm", .algorithm)
        default: return nil
        }
    }

    /// `parse_qop`.
    static func qopKind(_ text: String) -> DigestQOP {
        var text = text
        return text.withUTF8 { qopKind($0, 0..<$0.count) }
    }

    /// `parse_qop` of `b[r]`: compared after trimming spaces and tabs, case-insensitively.
    static func qopKind(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> DigestQOP {
        let t = trimmed(b, r)
        if t.isEmpty { return .unspecified }
        if equalsIgnoringCase(b, t, "auth") { return .auth }
        if equalsIgnoringCase(b, t, "auth-int") { return .authInt }
        return .other
    }

    /// `parse_algorithm`.
    static func algorithmKind(_ text: String) -> DigestAlgorithmName {
        var text = text
        return text.withUTF8 { algorithmKind($0, 0..<$0.count) }
    }

    /// `parse_algorithm` of `b[r]`.
    static func algorithmKind(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> DigestAlgorithmName {
        let t = trimmed(b, r)
        if equalsIgnoringCase(b, t, "md5") { return .md5 }
        if equalsIgnoringCase(b, t, "md5-sess") { return .md5Session }
        return .other
    }

    /// `parse_username`: `user@domain`, `sip:user@domain`.
    static func splitUsername(_ whole: String, into c: inout DigestCredentials) {
        var whole = whole
        whole.withUTF8 { splitUsername($0, 0..<$0.count, into: &c) }
    }

    /// `parse_username` of `b[r]`: sets `username`, `user` and `domain`.
    static func splitUsername(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, into c: inout DigestCredentials) {
        let whole = string(b, r)
        c.username = whole
        c.user = whole
        c.domain = ""
        guard r.count > 2 else { return }
        var user = r
        if let at = index(of: 64, in: b, r) {
            c.domain = string(b, (at + 1)..<r.upperBound)
            user = r.lowerBound..<at
        }
        if let colon = index(of: 58, in: b, user) { user = (colon + 1)..<user.upperBound }
        if user != r { c.user = string(b, user) }
    }

    /// Kamailio's `check_dig_cred`: the fields every credential needs.
    static func hasRequiredFields(_ c: DigestCredentials) -> Bool {
        guard c.username != nil, c.realm != nil, c.nonce != nil, c.uri != nil, c.response != nil else { return false }
        if c.qopKind == .auth || c.qopKind == .authInt { return c.cnonce != nil && c.nc != nil }
        return true
    }

    static func isLWS(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }

    static func lower(_ c: UInt8) -> UInt8 { c &- 65 < 26 ? c | 0x20 : c }

    /// `b[r]` equals `other` ignoring ASCII case.
    static func equalsIgnoringCase(
        _ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ other: UnsafeBufferPointer<UInt8>
    )
        -> Bool
    {
        guard r.count == other.count else { return false }
        for k in 0..<other.count where lower(b[r.lowerBound + k]) != lower(other[k]) { return false }
        return true
    }

    /// `b[r]` equals the lower-case `literal` ignoring ASCII case.
    static func equalsIgnoringCase(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ literal: StaticString) -> Bool {
        equalsIgnoringCase(b, r, UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// `r` without leading and trailing spaces and tabs.
    static func trimmed(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Range<Int> {
        var s = r.lowerBound
        var e = r.upperBound
        while s < e, b[s] == 32 || b[s] == 9 { s += 1 }
        while e > s, b[e - 1] == 32 || b[e - 1] == 9 { e -= 1 }
        return s..<e
    }

    static func index(of byte: UInt8, in b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int? {
        var i = r.lowerBound
        while i < r.upperBound {
            if b[i] == byte { return i }
            i += 1
        }
        return nil
    }

    static func string(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)
    }
}

/// Where the parameters of one digest header value are (the scan of `parse_digest_cred`);
/// the strings of `DigestCredentials` are made from them afterwards.
struct DigestFieldRanges {
    enum Outcome { case digest, otherScheme, malformed }

    var username: Range<Int>?
    var realm: Range<Int>?
    var nonce: Range<Int>?
    var uri: Range<Int>?
    var response: Range<Int>?
    var cnonce: Range<Int>?
    var opaque: Range<Int>?
    var qop: Range<Int>?
    var nc: Range<Int>?
    var algorithm: Range<Int>?

    /// Scans `b[value]`: `Digest` and its `name=value` / `name="value"` parameters (a later
    /// parameter of the same name wins).
    mutating func parse(_ b: UnsafeBufferPointer<UInt8>, _ value: Range<Int>) -> Outcome {
        typealias P = DigestCredentialsParser
        var i = value.lowerBound
        let end = value.upperBound
        precondition(value.lowerBound >= 0 && end <= b.count, "range outside the message")
        while i < end, P.isLWS(b[i]) { i += 1 }
        guard end - i >= 7, P.equalsIgnoringCase(b, i..<i + 6, "digest"), P.isLWS(b[i + 6]) || b[i + 6] == 44
        else { return .otherScheme }
        i += 7
        while i < end, P.isLWS(b[i]) { i += 1 }
        while true {
            // parse_param_name: the name up to '=' (spaces before '=' allowed).
            guard let eq = P.index(of: 61, in: b, i..<end) else { return .malformed }
            var nameEnd = eq
            while nameEnd > i, P.isLWS(b[nameEnd - 1]) { nameEnd -= 1 }
            let name = P.parameterField(b, i..<nameEnd)
            i = eq + 1
            while i < end, P.isLWS(b[i]) { i += 1 }
            guard i < end else { return .malformed }
            let v: Range<Int>
            if b[i] == 34 {
                guard end - i >= 2, let close = P.index(of: 34, in: b, (i + 1)..<end) else { return .malformed }
                v = (i + 1)..<close
                i = close + 1
            } else {
                let s = i
                while i < end, !P.isLWS(b[i]), b[i] != 44 { i += 1 }
                guard i > s else { return .malformed }
                v = s..<i
            }
            switch name {
            case .username: username = v
            case .realm: realm = v
            case .nonce: nonce = v
            case .uri: uri = v
            case .response: response = v
            case .cnonce: cnonce = v
            case .opaque: opaque = v
            case .qop: qop = v
            case .nc: nc = v
            case .algorithm: algorithm = v
            case nil: break
            }
            guard let comma = P.index(of: 44, in: b, i..<end) else { break }
            i = comma + 1
            while i < end, P.isLWS(b[i]) { i += 1 }
        }
        return .digest
    }

    /// `qop`'s class (`parse_qop`), `.unspecified` without one.
    func qopKind(_ b: UnsafeBufferPointer<UInt8>) -> DigestQOP {
        qop.map { DigestCredentialsParser.qopKind(b, $0) } ?? .unspecified
    }

    /// `algorithm`'s class (`parse_algorithm`), `.unspecified` without one.
    func algorithmKind(_ b: UnsafeBufferPointer<UInt8>) -> DigestAlgorithmName {
        algorithm.map { DigestCredentialsParser.algorithmKind(b, $0) } ?? .unspecified
    }

    /// Kamailio's `check_dig_cred` (as `DigestCredentialsParser.hasRequiredFields`).
    func hasRequiredFields(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard username != nil, realm != nil, nonce != nil, uri != nil, response != nil else { return false }
        let q = qopKind(b)
        if q == .auth || q == .authInt { return cnonce != nil && nc != nil }
        return true
    }

    /// The credentials with their strings.
    func credentials(_ b: UnsafeBufferPointer<UInt8>, _ field: HeaderField) -> DigestCredentials {
        typealias P = DigestCredentialsParser
        var c = DigestCredentials(field: field)
        c.realm = realm.map { P.string(b, $0) }
        c.nonce = nonce.map { P.string(b, $0) }
        c.uri = uri.map { P.string(b, $0) }
        c.response = response.map { P.string(b, $0) }
        c.cnonce = cnonce.map { P.string(b, $0) }
        c.opaque = opaque.map { P.string(b, $0) }
        c.nc = nc.map { P.string(b, $0) }
        if let q = qop {
            c.qop = P.string(b, q)
            c.qopKind = P.qopKind(b, q)
        }
        if let a = algorithm {
            c.algorithm = P.string(b, a)
            c.algorithmKind = P.algorithmKind(b, a)
        }
        if let u = username { P.splitUsername(b, u, into: &c) }
        return c
    }
}

import SwiftletSDK

/// Why a sanity check failed: the reply Kamailio's sanity module sends for it (none for the
/// checks that fail silently, e.g. a missing Call-ID), and whether the message is marked
/// "no reply" (Kamailio's `FL_MSG_NOREPLY`: `sanity_reply()` then sends nothing either).
struct SanityFailure: Equatable {
    var code: Int?
    var reason: String
    var noReplyFlag = false
    /// A header line (with CRLF) added to the reply (`Unsupported:` for Proxy-Require).
    var replyHeader: String? = nil

    static func reply(_ code: Int, _ reason: String) -> SanityFailure { SanityFailure(code: code, reason: reason) }
    /// A failure without a reply; `noReply` marks the message as Kamailio does.
    static func silent(noReply: Bool) -> SanityFailure { SanityFailure(code: nil, reason: "", noReplyFlag: noReply) }
}

/// The message checks of Kamailio's sanity module (`sanity.c`), in its order, with its bit
/// values (`sanity_mod.h`) and its reply codes and reason phrases.
struct SanityChecks {
    /// Proxy-Require extensions this proxy supports (`proxy_require`).
    let supportedExtensions: [String]

    static let ruriSIPVersion = 1 << 0
    static let ruriScheme = 1 << 1
    static let requiredHeaders = 1 << 2
    static let viaSIPVersion = 1 << 3
    static let viaProtocol = 1 << 4
    static let cseqMethod = 1 << 5
    static let cseqValue = 1 << 6
    static let contentLength = 1 << 7
    static let expiresValue = 1 << 8
    static let proxyRequire = 1 << 9
    static let parseURIs = 1 << 10
    static let digest = 1 << 11
    static let dupTags = 1 << 12
    static let authorization = 1 << 13
    static let via1Header = 1 << 14
    static let maxChecks = 1 << 15
    /// Kamailio's `SANITY_DEFAULT_CHECKS` (3047).
    static let defaultChecks =
        ruriSIPVersion | ruriScheme | requiredHeaders | cseqMethod | cseqValue | contentLength | expiresValue
        | proxyRequire | digest

    static let uriRURI = 1 << 0
    static let uriFrom = 1 << 1
    static let uriTo = 1 << 2
    static let uriContact = 1 << 3
    static let uriMaxChecks = 1 << 4
    /// Kamailio's `SANITY_DEFAULT_URI_CHECKS` (7).
    static let defaultURIChecks = uriRURI | uriFrom | uriTo

    /// Runs the checks selected by `checks` (and `uriChecks` for the URI parsing check);
    /// nil when all pass, else the first failure.
    func run(_ ctx: MessageContext, checks: Int, uriChecks: Int) -> SanityFailure? {
        let steps: [(Int, (MessageContext) -> SanityFailure?)] = [
            (Self.ruriSIPVersion, checkRURIVersion), (Self.ruriScheme, checkRURIScheme),
            (Self.requiredHeaders, checkRequiredHeaders), (Self.via1Header, checkVia1),
            (Self.cseqMethod, checkCSeqMethod), (Self.cseqValue, checkCSeqValue),
            (Self.contentLength, checkContentLength), (Self.expiresValue, checkExpires),
            (Self.proxyRequire, checkProxyRequire),
        ]
        for (bit, check) in steps where checks & bit != 0 {
            if let f = check(ctx) { return f }
        }
        if checks & Self.parseURIs != 0, let f = checkURIs(ctx, uriChecks) { return f }
        if checks & Self.digest != 0, let f = checkDigest(ctx, notDigestFails: true) { return f }
        if checks & Self.authorization != 0, let f = checkDigest(ctx, notDigestFails: false) { return f }
        if checks & Self.dupTags != 0, let f = checkDupTags(ctx) { return f }
        return nil
    }

    // MARK: first line

    /// The third token of the first line: the version of a request, the reason phrase of a
    /// reply (Kamailio reads the same union field for both).
    static func thirdToken(_ msg: SIPMessage) -> [UInt8] {
        switch msg.firstLine {
        case .request: return Array(msg.buffer[msg.versionRange])
        case .response(_, let reason): return Array(msg.buffer[reason])
        }
    }

    func checkRURIVersion(_ ctx: MessageContext) -> SanityFailure? {
        let v = Self.thirdToken(ctx.message)
        guard !v.isEmpty else { return nil }
        guard let slash = v.firstIndex(of: UInt8(ascii: "/")) else { return .silent(noReply: false) }
        guard Array(v[(slash + 1)...]) == Array("2.0".utf8) else {
            return .reply(505, "Version Not Supported (R-URI)")
        }
        return nil
    }

    func checkRURIScheme(_ ctx: MessageContext) -> SanityFailure? {
        guard ctx.message.isRequest, let uri = ctx.requestURI, KamailioURI.parses(uri) else {
            return .reply(400, "Bad Request URI")
        }
        return nil
    }

    // MARK: headers

    func checkRequiredHeaders(_ ctx: MessageContext) -> SanityFailure? {
        let msg = ctx.message
        for name in [HeaderName.from, .to, .callID, .cseq] where msg.firstHeader(name) == nil {
            return .silent(noReply: true)
        }
        guard (try? msg.to()) != nil, LenientCSeq(msg) != nil else { return .silent(noReply: true) }
        for name in [HeaderName.from, .to, .callID, .cseq] where msg.headers(name).count > 1 {
            return .silent(noReply: false)
        }
        return nil
    }

    func checkVia1(_ ctx: MessageContext) -> SanityFailure? {
        guard let via = try? ctx.message.topVia(), !via.host.isEmpty else { return .silent(noReply: true) }
        return nil
    }

    func checkCSeqMethod(_ ctx: MessageContext) -> SanityFailure? {
        let msg = ctx.message
        guard msg.firstHeader(.cseq) != nil else { return .silent(noReply: false) }
        guard let cseq = LenientCSeq(msg) else { return .silent(noReply: true) }
        let method: [UInt8]
        switch msg.firstLine {
        case .request(_, let r, _): method = Array(msg.buffer[r])
        case .response: method = Array(msg.buffer[msg.versionRange])
        }
        guard cseq.method == method else { return .reply(400, "CSeq method does not match request method") }
        return nil
    }

    func checkCSeqValue(_ ctx: MessageContext) -> SanityFailure? {
        let msg = ctx.message
        guard msg.firstHeader(.cseq) != nil, let cseq = LenientCSeq(msg) else { return .silent(noReply: true) }
        guard Self.isValidUInt(cseq.number) else { return .reply(400, "CSeq number is illegal") }
        return nil
    }

    func checkContentLength(_ ctx: MessageContext) -> SanityFailure? {
        let msg = ctx.message
        guard msg.firstHeader(.contentLength) != nil else { return nil }
        guard let length = try? msg.contentLength() else { return .reply(400, "Content-Length Failure") }
        guard msg.buffer.count - msg.bodyRange.lowerBound == length else {
            return .reply(400, "Content-Length mis-match")
        }
        return nil
    }

    func checkExpires(_ ctx: MessageContext) -> SanityFailure? {
        let msg = ctx.message
        guard let f = msg.firstHeader(.expires) else { return nil }
        var text = Array(msg.buffer[f.valueRange])
        guard !text.isEmpty else { return .reply(400, "Bad Expires Header") }
        if text.count <= 10, let ws = text.firstIndex(where: { $0 == 32 || $0 == 9 || $0 == 13 || $0 == 10 }),
            text[..<ws].allSatisfy({ $0 >= 48 && $0 <= 57 })
        {
            text = Array(text[..<ws])
        }
        guard !text.isEmpty else { return .reply(400, "Missing number in Expires header") }
        guard Self.isValidUInt(text) else { return .reply(400, "Expires value is illegal") }
        return nil
    }

    func checkProxyRequire(_ ctx: MessageContext) -> SanityFailure? {
        let msg = ctx.message
        guard let f = msg.firstHeader(.proxyRequire) else { return nil }
        let items = msg.value(of: f).split(separator: ",", omittingEmptySubsequences: false).map {
            String($0).trimmingCharacters()
        }
        guard !f.valueRange.isEmpty else { return .reply(400, "Bad Proxy Require Header") }
        for item in items where !supportedExtensions.contains(item) {
            var failure = SanityFailure.reply(420, "Bad Proxy Require Extension")
            failure.replyHeader = "Unsupported: \(item)\r\n"
            return failure
        }
        return nil
    }

    /// Kamailio's `str2valid_uint`: at most 10 digits, not above 4294967296.
    static func isValidUInt(_ b: [UInt8]) -> Bool {
        guard b.count <= 10, b.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        guard b.count == 10 else { return true }
        for (c, limit) in zip(b, Array("4294967296".utf8)) {
            if c < limit { return true }
            if c > limit { return false }
        }
        return true
    }
}

/// The CSeq header split as Kamailio's `parse_cseq` does: a number token (any characters)
/// and a method token; nil when there is no method.
struct LenientCSeq {
    let number: [UInt8]
    let method: [UInt8]

    init?(_ msg: SIPMessage) {
        guard let f = msg.firstHeader(.cseq) else { return nil }
        let v = Array(msg.buffer[f.valueRange])
        func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }
        guard let sp = v.firstIndex(where: isSpace) else { return nil }
        number = Array(v[..<sp])
        let rest = v[sp...].drop(while: isSpace)
        let m = rest.prefix(while: { !isSpace($0) })
        guard !m.isEmpty, !number.isEmpty else { return nil }
        guard rest.dropFirst(m.count).allSatisfy(isSpace) else { return nil }
        method = Array(m)
    }
}

/// URIs as Kamailio's `parse_uri` accepts them: SIP, SIPS, TEL, TELS and URN schemes.
enum KamailioURI {
    static func parses(_ text: String) -> Bool {
        let b = Array(text.utf8)
        return parses(b, 0..<b.count)
    }

    static func parses(_ b: [UInt8], _ r: Range<Int>) -> Bool {
        guard let u = try? URIComponents.parse(b, r) else { return false }
        switch u.scheme {
        case .sip, .sips, .tel: return true
        case .other:
            let s = String(decoding: b[u.schemeRange], as: UTF8.self).lowercased()
            return s == "tels" || s == "urn"
        }
    }
}

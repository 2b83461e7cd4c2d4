/// The header fields the core recognises by name (long and compact forms, RFC 3261 section
/// 20 and the extensions Kamailio parses). Everything else is `.other` and is found by
/// comparing its name text.
public enum HeaderName: UInt8, Sendable, CaseIterable {
    case via, from, to, callID, cseq, contact, maxForwards, route, recordRoute
    case contentLength, contentType, contentEncoding, contentDisposition, contentLanguage
    case expires, minExpires, userAgent, server, allow, allowEvents, supported, require, proxyRequire, unsupported
    case authorization, proxyAuthorization, wwwAuthenticate, proxyAuthenticate, authenticationInfo
    case event, subscriptionState, subject, accept, acceptEncoding, acceptLanguage, acceptContact, rejectContact
    case requestDisposition, referTo, referredBy, path, serviceRoute, pAssertedIdentity, pPreferredIdentity
    case diversion, privacy, identity, identityInfo, sessionExpires, minSE, rack, rseq, date, timestamp
    case warning, retryAfter, replyTo, inReplyTo, organization, priority, mimeVersion, alertInfo, callInfo
    case errorInfo, other

    /// The canonical (long) name as written in generated messages.
    public var canonicalName: String {
        switch self {
        case .via: "Via"
        case .from: "From"
        case .to: "To"
        case .callID: "Call-ID"
        case .cseq: "CSeq"
        case .contact: "Contact"
        case .maxForwards: "Max-Forwards"
        case .route: "Route"
        case .recordRoute: "Record-Route"
        case .contentLength: "Content-Length"
        case .contentType: "Content-Type"
        case .contentEncoding: "Content-Encoding"
        case .contentDisposition: "Content-Disposition"
        case .contentLanguage: "Content-Language"
        case .expires: "Expires"
        case .minExpires: "Min-Expires"
        case .userAgent: "User-Agent"
        case .server: "Server"
        case .allow: "Allow"
        case .allowEvents: "Allow-Events"
        case .supported: "Supported"
        case .require: "Require"
        case .proxyRequire: "Proxy-Require"
        case .unsupported: "Unsupported"
        case .authorization: "Authorization"
        case .proxyAuthorization: "Proxy-Authorization"
        case .wwwAuthenticate: "WWW-Authenticate"
        case .proxyAuthenticate: "Proxy-Authenticate"
        case .authenticationInfo: "Authentication-Info"
        case .event: "Event"
        case .subscriptionState: "Subscription-State"
        case .subject: "Subject"
        case .accept: "Accept"
        case .acceptEncoding: "Accept-Encoding"
        case .acceptLanguage: "Accept-Language"
        case .acceptContact: "Accept-Contact"
        case .rejectContact: "Reject-Contact"
        case .requestDisposition: "Request-Disposition"
        case .referTo: "Refer-To"
        case .referredBy: "Referred-By"
        case .path: "Path"
        case .serviceRoute: "Service-Route"
        case .pAssertedIdentity: "P-Asserted-Identity"
        case .pPreferredIdentity: "P-Preferred-Identity"
        case .diversion: "Diversion"
        case .privacy: "Privacy"
        case .identity: "Identity"
        case .identityInfo: "Identity-Info"
        case .sessionExpires: "Session-Expires"
        case .minSE: "Min-SE"
        case .rack: "RAck"
        case .rseq: "RSeq"
        case .date: "Date"
        case .timestamp: "Timestamp"
        case .warning: "Warning"
        case .retryAfter: "Retry-After"
        case .replyTo: "Reply-To"
        case .inReplyTo: "In-Reply-To"
        case .organization: "Organization"
        case .priority: "Priority"
        case .mimeVersion: "MIME-Version"
        case .alertInfo: "Alert-Info"
        case .callInfo: "Call-Info"
        case .errorInfo: "Error-Info"
        case .other: ""
        }
    }

    /// RFC 3261 / RFC 3262 / RFC 3515 / RFC 3841 / RFC 4028 / RFC 4474 compact forms.
    static func compact(_ c: UInt8) -> HeaderName {
        switch c {
        case UInt8(ascii: "v"): .via
        case UInt8(ascii: "f"): .from
        case UInt8(ascii: "t"): .to
        case UInt8(ascii: "i"): .callID
        case UInt8(ascii: "m"): .contact
        case UInt8(ascii: "l"): .contentLength
        case UInt8(ascii: "c"): .contentType
        case UInt8(ascii: "e"): .contentEncoding
        case UInt8(ascii: "k"): .supported
        case UInt8(ascii: "s"): .subject
        case UInt8(ascii: "o"): .event
        case UInt8(ascii: "u"): .allowEvents
        case UInt8(ascii: "r"): .referTo
        case UInt8(ascii: "b"): .referredBy
        case UInt8(ascii: "x"): .sessionExpires
        case UInt8(ascii: "y"): .identity
        case UInt8(ascii: "a"): .acceptContact
        case UInt8(ascii: "j"): .rejectContact
        case UInt8(ascii: "d"): .requestDisposition
        case UInt8(ascii: "n"): .identityInfo
        default: .other
        }
    }

    /// Classifies a header name given as a string.
    public init(name: String) {
        let b = Array(name.utf8)
        self = HeaderName.classify(b, 0..<b.count)
    }
}

/// One header field line of a message, by offsets into the message buffer.
public struct HeaderField: Sendable {
    /// Which header this is.
    public let name: HeaderName
    /// The name as written (e.g. `v` or `Via`).
    public let nameRange: Range<Int>
    /// The value with surrounding whitespace removed (folded lines included).
    public let valueRange: Range<Int>
    /// The whole field from the first byte of the name to the end of its line break.
    public let lineRange: Range<Int>

    public init(name: HeaderName, nameRange: Range<Int>, valueRange: Range<Int>, lineRange: Range<Int>) {
        self.name = name
        self.nameRange = nameRange
        self.valueRange = valueRange
        self.lineRange = lineRange
    }
}

/// The header fields the core recognises by name (long and RFC 3261 compact forms).
/// Everything else is `.other` and is found by comparing its name text.
public enum HeaderName: UInt8, Sendable {
    case via, from, to, callID, cseq, contact, maxForwards, route, recordRoute
    case contentLength, contentType, expires, userAgent, server, allow, supported, require
    case authorization, proxyAuthorization, wwwAuthenticate, proxyAuthenticate, event
    case subject, accept, referTo, path, other

    /// Classifies a header name (case-insensitive). Compact forms map to their long form.
    static func classify(_ bytes: [UInt8], _ range: Range<Int>) -> HeaderName {
        if range.count == 1 {
            switch ASCII.lower(bytes[range.lowerBound]) {
            case UInt8(ascii: "v"): return .via
            case UInt8(ascii: "f"): return .from
            case UInt8(ascii: "t"): return .to
            case UInt8(ascii: "i"): return .callID
            case UInt8(ascii: "m"): return .contact
            case UInt8(ascii: "l"): return .contentLength
            case UInt8(ascii: "c"): return .contentType
            case UInt8(ascii: "k"): return .supported
            case UInt8(ascii: "s"): return .subject
            case UInt8(ascii: "o"): return .event
            case UInt8(ascii: "r"): return .referTo
            default: return .other
            }
        }
        switch range.count {
        case 2 where bytes.equalsLowercased(range, "to"): return .to
        case 3 where bytes.equalsLowercased(range, "via"): return .via
        case 4 where bytes.equalsLowercased(range, "from"): return .from
        case 4 where bytes.equalsLowercased(range, "cseq"): return .cseq
        case 4 where bytes.equalsLowercased(range, "path"): return .path
        case 5 where bytes.equalsLowercased(range, "route"): return .route
        case 5 where bytes.equalsLowercased(range, "allow"): return .allow
        case 5 where bytes.equalsLowercased(range, "event"): return .event
        case 6 where bytes.equalsLowercased(range, "server"): return .server
        case 6 where bytes.equalsLowercased(range, "accept"): return .accept
        case 7 where bytes.equalsLowercased(range, "call-id"): return .callID
        case 7 where bytes.equalsLowercased(range, "contact"): return .contact
        case 7 where bytes.equalsLowercased(range, "expires"): return .expires
        case 7 where bytes.equalsLowercased(range, "require"): return .require
        case 7 where bytes.equalsLowercased(range, "subject"): return .subject
        case 8 where bytes.equalsLowercased(range, "refer-to"): return .referTo
        case 9 where bytes.equalsLowercased(range, "supported"): return .supported
        case 10 where bytes.equalsLowercased(range, "user-agent"): return .userAgent
        case 12 where bytes.equalsLowercased(range, "max-forwards"): return .maxForwards
        case 12 where bytes.equalsLowercased(range, "record-route"): return .recordRoute
        case 12 where bytes.equalsLowercased(range, "content-type"): return .contentType
        case 13 where bytes.equalsLowercased(range, "authorization"): return .authorization
        case 14 where bytes.equalsLowercased(range, "content-length"): return .contentLength
        case 16 where bytes.equalsLowercased(range, "www-authenticate"): return .wwwAuthenticate
        case 18 where bytes.equalsLowercased(range, "proxy-authenticate"): return .proxyAuthenticate
        case 19 where bytes.equalsLowercased(range, "proxy-authorization"): return .proxyAuthorization
        default: return .other
        }
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
}

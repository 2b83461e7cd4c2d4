#if canImport(Glibc)
    import Glibc
#endif

/// A SIP request method. Known methods get their own case so that comparisons on the hot
/// path are integer compares; anything else is `.other` and compared by its text.
public enum SIPMethod: Equatable, Hashable, Sendable {
    case invite, ack, options, bye, cancel, register, info, prack, subscribe, notify
    case update, message, refer, publish, kdmq
    case other(String)

    /// Classifies a method token (case-sensitive, as RFC 3261 requires).
    public init(_ token: String) {
        switch token {
        case "INVITE": self = .invite
        case "ACK": self = .ack
        case "OPTIONS": self = .options
        case "BYE": self = .bye
        case "CANCEL": self = .cancel
        case "REGISTER": self = .register
        case "INFO": self = .info
        case "PRACK": self = .prack
        case "SUBSCRIBE": self = .subscribe
        case "NOTIFY": self = .notify
        case "UPDATE": self = .update
        case "MESSAGE": self = .message
        case "REFER": self = .refer
        case "PUBLISH": self = .publish
        case "KDMQ": self = .kdmq
        default: self = .other(token)
        }
    }

    /// Classifies a method token given as bytes, allocating only for unknown methods.
    public init(bytes b: [UInt8], _ r: Range<Int>) {
        precondition(r.lowerBound >= 0 && r.upperBound <= b.count)
        if let known = b.withUnsafeBufferPointer({ Self.known($0, r) }) {
            self = known
        } else {
            self = .other(String(decoding: b[r], as: UTF8.self))
        }
    }

    /// The known method written in `r` of `b` (case-sensitive), or nil. The token is loaded
    /// as one machine word (the first 8 bytes of `SUBSCRIBE`, then its last) and compared
    /// with the methods of its length: no `memcmp` call per candidate.
    static func known(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> SIPMethod? {
        let n = r.count
        guard n >= 3, n <= 9 else { return nil }
        let w = HeaderName.word(b, r.lowerBound, Swift.min(n, 8))
        switch n {
        case 3:
            if w == 0x4B_4341 { return .ack }  // ACK
            if w == 0x45_5942 { return .bye }  // BYE
        case 4:
            if w == 0x4F46_4E49 { return .info }  // INFO
            if w == 0x514D_444B { return .kdmq }  // KDMQ
        case 5:
            if w == 0x4B_4341_5250 { return .prack }  // PRACK
            if w == 0x52_4546_4552 { return .refer }  // REFER
        case 6:
            if w == 0x4554_4956_4E49 { return .invite }  // INVITE
            if w == 0x4C45_434E_4143 { return .cancel }  // CANCEL
            if w == 0x5946_4954_4F4E { return .notify }  // NOTIFY
            if w == 0x4554_4144_5055 { return .update }  // UPDATE
        case 7:
            if w == 0x53_4E4F_4954_504F { return .options }  // OPTIONS
            if w == 0x45_4741_5353_454D { return .message }  // MESSAGE
            if w == 0x48_5349_4C42_5550 { return .publish }  // PUBLISH
        case 8:
            if w == 0x5245_5453_4947_4552 { return .register }  // REGISTER
        default:
            // SUBSCRIBE
            if w == 0x4249_5243_5342_5553, b[r.lowerBound + 8] == UInt8(ascii: "E") { return .subscribe }
        }
        return nil
    }

    /// The method token as it appears on the wire.
    public var name: String {
        switch self {
        case .invite: "INVITE"
        case .ack: "ACK"
        case .options: "OPTIONS"
        case .bye: "BYE"
        case .cancel: "CANCEL"
        case .register: "REGISTER"
        case .info: "INFO"
        case .prack: "PRACK"
        case .subscribe: "SUBSCRIBE"
        case .notify: "NOTIFY"
        case .update: "UPDATE"
        case .message: "MESSAGE"
        case .refer: "REFER"
        case .publish: "PUBLISH"
        case .kdmq: "KDMQ"
        case .other(let s): s
        }
    }
}

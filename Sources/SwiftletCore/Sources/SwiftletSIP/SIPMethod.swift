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
        func eq(_ lit: StaticString) -> Bool {
            lit.utf8CodeUnitCount == r.count
                && b.withUnsafeBufferPointer { memcmp($0.baseAddress! + r.lowerBound, lit.utf8Start, r.count) == 0 }
        }
        switch r.count {
        case 3 where eq("ACK"): self = .ack
        case 3 where eq("BYE"): self = .bye
        case 4 where eq("INFO"): self = .info
        case 4 where eq("KDMQ"): self = .kdmq
        case 5 where eq("PRACK"): self = .prack
        case 5 where eq("REFER"): self = .refer
        case 6 where eq("INVITE"): self = .invite
        case 6 where eq("CANCEL"): self = .cancel
        case 6 where eq("NOTIFY"): self = .notify
        case 6 where eq("UPDATE"): self = .update
        case 7 where eq("OPTIONS"): self = .options
        case 7 where eq("MESSAGE"): self = .message
        case 7 where eq("PUBLISH"): self = .publish
        case 8 where eq("REGISTER"): self = .register
        case 9 where eq("SUBSCRIBE"): self = .subscribe
        default: self = .other(String(decoding: b[r], as: UTF8.self))
        }
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

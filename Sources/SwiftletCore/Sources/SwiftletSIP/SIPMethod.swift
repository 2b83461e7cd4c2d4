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

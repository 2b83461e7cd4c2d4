/// Per-message requests of the script about connections (Kamailio's `msg_flags` set by
/// `set_forward_no_connect()`, `set_reply_no_connect()`, `set_forward_close()`,
/// `set_reply_close()`). They matter to connection-oriented transports only.
public struct SendFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Do not open a new connection to forward the request (`FL_FORCE_ACTIVE`'s opposite).
    public static let forwardNoConnect = SendFlags(rawValue: 1)
    /// Do not open a new connection to send a reply.
    public static let replyNoConnect = SendFlags(rawValue: 2)
    /// Close the connection after forwarding the request.
    public static let forwardClose = SendFlags(rawValue: 4)
    /// Close the connection after sending a reply.
    public static let replyClose = SendFlags(rawValue: 8)
}

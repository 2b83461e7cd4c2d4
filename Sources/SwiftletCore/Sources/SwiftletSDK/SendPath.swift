/// What goes out through the core's one send path.
public struct OutboundMessage: Sendable {
    /// What the bytes are: `onsend_route` runs for requests only (Kamailio's
    /// `forward_request`), the out-hooks for both.
    public enum Kind: Sendable { case request, reply }

    /// The bytes to write (the out-hooks may rewrite them).
    public var bytes: [UInt8]
    /// Where they go. A nil `socket` lets the core choose (`get_send_socket`).
    public var destination: Destination
    public var kind: Kind

    public init(bytes: [UInt8], destination: Destination, kind: Kind) {
        self.bytes = bytes
        self.destination = destination
        self.kind = kind
    }
}

/// How a send ended.
public enum SendOutcome: Sendable, Equatable {
    /// Written to the socket or connection.
    case sent
    /// `drop` in `onsend_route`.
    case droppedByScript
    /// A module's out-hook (`NetDataHook`) dropped it.
    case droppedByHook
    /// No listening socket fits the destination's protocol and address family.
    case noSocket
    /// The transport could not write it (the transport logged why), or nothing can be sent
    /// (a configuration check, a unit test without a transport).
    case failed
}

/// The one way out of the server: every byte that leaves (stateless replies, forwarded
/// requests and replies, tm's relays, retransmissions and local requests, RPC-originated
/// requests) goes through `send`, which, in Kamailio's order:
///
/// 1. picks the socket when the destination names none (`force_send_socket`, else the
///    receiving socket when it fits, else the first of the protocol and family);
/// 2. runs `onsend_route` for requests that come from a message context (`drop` cancels);
/// 3. runs the modules' out-hooks on the bytes (`SREV_NET_DATA_OUT`, reverse load order);
/// 4. writes to the socket or connection;
/// 5. shows the written bytes to the modules' observers (`SREV_NET_DATA_SENT`, siptrace).
///
/// It may be called from any thread (a worker, the timer thread, an RPC).
public protocol OutboundPath: AnyObject, Sendable {
    func send(_ message: OutboundMessage, context: MessageContext?) -> SendOutcome
}

/// The raw bytes of a message as they arrive or leave, with where they come from or go to
/// (Kamailio's `sr_event_param_t` for `SREV_NET_DATA_IN`/`SREV_NET_DATA_OUT`).
public struct NetData: Sendable {
    /// The message bytes; a hook may replace them (topoh encodes and decodes here).
    public var bytes: [UInt8]
    /// The protocol of the transport.
    public let proto: TransportProtocol
    /// The peer: the source of a received message, the destination of a sent one.
    public let peer: SocketAddress
    /// The local socket, when known.
    public let socket: ListeningSocket?
    /// For an outgoing message: a reply (true) or a request (false). For an incoming one:
    /// nil (the bytes are not parsed yet).
    public let isReply: Bool?

    public init(
        bytes: [UInt8], proto: TransportProtocol, peer: SocketAddress, socket: ListeningSocket?, isReply: Bool?
    ) {
        self.bytes = bytes
        self.proto = proto
        self.peer = peer
        self.socket = socket
        self.isReply = isReply
    }
}

/// What a raw-bytes hook decides.
public enum NetDataVerdict: Sendable {
    /// Go on with the (possibly rewritten) bytes.
    case `continue`
    /// Drop the message: it is neither processed (in) nor sent (out).
    case drop
}

/// A raw-bytes hook of a module: called with the bytes of every received (in) or sent (out)
/// message. It must be thread-safe: every worker and the timer thread call it.
public typealias NetDataHook = (inout NetData) -> NetDataVerdict

/// A raw-bytes observer of a module (Kamailio's `SREV_NET_DATA_RECV`/`SREV_NET_DATA_SENT`, as
/// siptrace uses them): sees the bytes as they are on the wire, received before any in-hook
/// rewrote them, sent after every out-hook did and the write succeeded. It cannot change or
/// drop them. Thread-safe, as hooks are.
public typealias NetDataObserver = (borrowing NetData) -> Void

/// What a module's reply handler did with a received reply (Kamailio's `response_f`
/// returning 0 or 1).
public enum ReplyDisposition: Sendable {
    /// The module took the reply (e.g. it matched a transaction): the core stops here and
    /// does not forward it statelessly.
    case consumed
    /// Not the module's: the next module is asked, then the reply is forwarded statelessly.
    case notMine
}

/// The places in the message path where modules plug in, collected from every loaded
/// module's exports in load order when the configuration is loaded, read-only afterwards.
///
/// Order of a received message: in-hooks (load order) → parse → request-in hooks (load
/// order; `false` drops the request) → `request_route`; for a reply: in-hooks → parse →
/// core `reply_route` → reply handlers (load order; the first that consumes ends it) →
/// stateless forwarding. Order of a sent message: `onsend_route` (requests) → out-hooks in
/// reverse load order (so that a module loaded first sees the bytes last, mirroring the
/// in-direction, as Kamailio's `SREV_NET_DATA_OUT` list) → write.
public final class MessageHooks: @unchecked Sendable {
    /// `SREV_NET_DATA_IN`, load order.
    public let netDataIn: [NetDataHook]
    /// `SREV_NET_DATA_OUT`, in the order they run (reverse load order).
    public let netDataOut: [NetDataHook]
    /// Pre-script request callbacks (Kamailio's `PRE_SCRIPT_CB` for requests): `false` drops.
    public let requestIn: [(MessageContext) -> Bool]
    /// Reply handlers (Kamailio's `response_f`).
    public let replyHandlers: [(MessageContext) -> ReplyDisposition]
    /// `SREV_NET_DATA_RECV` observers, load order: the received bytes before the in-hooks.
    public let netDataReceived: [NetDataObserver]
    /// `SREV_NET_DATA_SENT` observers, load order: the bytes written, after the out-hooks.
    public let netDataSent: [NetDataObserver]

    public init(
        netDataIn: [NetDataHook] = [], netDataOut: [NetDataHook] = [],
        requestIn: [(MessageContext) -> Bool] = [],
        replyHandlers: [(MessageContext) -> ReplyDisposition] = [],
        netDataReceived: [NetDataObserver] = [], netDataSent: [NetDataObserver] = []
    ) {
        self.netDataIn = netDataIn
        self.netDataOut = netDataOut
        self.requestIn = requestIn
        self.replyHandlers = replyHandlers
        self.netDataReceived = netDataReceived
        self.netDataSent = netDataSent
    }

    /// The hooks of `modules`, given in load order.
    public convenience init(modules: [ModuleExports]) {
        self.init(
            netDataIn: modules.compactMap(\.netDataIn), netDataOut: modules.reversed().compactMap(\.netDataOut),
            requestIn: modules.flatMap(\.requestFilters), replyHandlers: modules.compactMap(\.replyHandler),
            netDataReceived: modules.compactMap(\.netDataReceived), netDataSent: modules.compactMap(\.netDataSent))
    }

    /// Runs the in-hooks on received bytes; false when one dropped them.
    public func runIn(_ data: inout NetData) -> Bool {
        for hook in netDataIn where hook(&data) == .drop { return false }
        return true
    }

    /// Runs the out-hooks on bytes about to be sent; false when one dropped them.
    public func runOut(_ data: inout NetData) -> Bool {
        for hook in netDataOut where hook(&data) == .drop { return false }
        return true
    }
}

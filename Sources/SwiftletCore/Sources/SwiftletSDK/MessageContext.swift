/// Where and how a message was received (Kamailio's `receive_info`): the peer and local
/// addresses as socket addresses, so that a reply can be sent later from any thread (a
/// transaction timer), not only from the worker that received the request.
public struct ReceiveInfo: Sendable {
    public var proto: TransportProtocol
    /// The peer's address and port.
    public var source: SocketAddress
    /// The local address and port the message arrived at.
    public var local: SocketAddress
    /// The socket it arrived on (nil for faked messages and unit tests).
    public var socket: ListeningSocket?
    /// The connection it arrived on (TCP, TLS, WS), else nil.
    public var connectionID: Int?

    public init(
        proto: TransportProtocol, source: SocketAddress, local: SocketAddress, socket: ListeningSocket? = nil,
        connectionID: Int? = nil
    ) {
        self.proto = proto
        self.source = source
        self.local = local
        self.socket = socket
        self.connectionID = connectionID
    }

    /// From address texts (tests, faked messages); an address that is not an IP literal
    /// becomes the unspecified address.
    public init(
        proto: TransportProtocol, sourceIP: String, sourcePort: Int, localIP: String, localPort: Int,
        socket: ListeningSocket? = nil, connectionID: Int? = nil
    ) {
        self.init(
            proto: proto, source: SocketAddress(numericHost: sourceIP, port: sourcePort) ?? SocketAddress(),
            local: SocketAddress(numericHost: localIP, port: localPort) ?? SocketAddress(), socket: socket,
            connectionID: connectionID)
    }

    /// The peer's IP address as text (`$si`), formatted on demand.
    public var sourceIP: String { source.ipString }
    /// The peer's port (`$sp`).
    public var sourcePort: Int { source.port }
    /// The local IP address as text (`$Ri`).
    public var localIP: String { local.ipString }
    /// The local port (`$Rp`).
    public var localPort: Int { local.port }
}

/// An insertion into a request whose bytes are known only when the sending socket is
/// (Kamailio's `SUBST_SND_*` lumps, as rr's `record_route()` uses them): `build` runs when
/// the request is built for a socket, once per branch, and its bytes go in at `offset` (an
/// offset of the received message).
public struct SendSocketLump {
    /// Where and how the request leaves.
    public struct Target {
        public let socket: ListeningSocket
        public let proto: TransportProtocol
    }

    public let offset: Int
    public let build: (Target, MessageContext) -> [UInt8]

    public init(offset: Int, build: @escaping (Target, MessageContext) -> [UInt8]) {
        self.offset = offset
        self.build = build
    }
}

/// An additional branch of a request (Kamailio's `append_branch`).
public struct Branch: Sendable, Equatable {
    public var uri: String
    public var destinationURI: String?
    /// q-value times 1000, or nil when not given.
    public var q: Int?
    public var flags: UInt64
    /// The socket the branch leaves from (`force_send_socket()` when it was added), or nil.
    public var sendSocket: ListeningSocket?
    /// The registered contact the branch was built from (`+sip.instance`, reg-id, ruid, UA).
    public var binding: ContactBinding

    public init(
        uri: String, destinationURI: String? = nil, q: Int? = nil, flags: UInt64 = 0,
        sendSocket: ListeningSocket? = nil, binding: ContactBinding = ContactBinding()
    ) {
        self.uri = uri
        self.destinationURI = destinationURI
        self.q = q
        self.flags = flags
        self.sendSocket = sendSocket
        self.binding = binding
    }
}

/// A message about to be sent, as `onsend_route` sees it (Kamailio's `onsend_info`).
public struct SendInfo: Sendable {
    public var destination: Destination
    public var bytes: [UInt8]
    public init(destination: Destination, bytes: [UInt8]) {
        self.destination = destination
        self.bytes = bytes
    }
}

/// The state of one message while the script runs on it (Kamailio's `sip_msg_t` plus the
/// run context). Created by the transport for each received message and used by one
/// worker thread only.
public final class MessageContext {
    /// The message being processed. Replacing it (`msg_apply_changes()`) parses the new one's
    /// top Via into `via1` and forgets the To-tag found in the old one.
    public var message: SIPMessage {
        didSet {
            via1 = try? message.topVia()
            foundToTag = nil
            foundToURIHost = nil
        }
    }
    /// Where it came from.
    public let receive: ReceiveInfo
    /// The kind of route running now.
    public var routeType: RouteTypes
    /// Set by `force_rport()`: fill `rport` and reply to the source port.
    public var forceRport = false
    /// Connection requests of the script (`set_reply_no_connect()`, ...).
    public var sendFlags: SendFlags = []
    /// Set by `add_local_rport()`: the Via added when forwarding carries `;rport`.
    public var addLocalRport = false
    /// Set by `set_advertised_address()`/`set_advertised_port()`: what the Via added when
    /// forwarding names instead of the sending socket's (advertised) address and port.
    public var advertisedAddress: String? {
        get { extras?.advertisedAddress }
        set { madeExtras.advertisedAddress = newValue }
    }
    public var advertisedPort: Int? {
        get { extras?.advertisedPort }
        set { madeExtras.advertisedPort = newValue }
    }
    /// Set by `force_send_socket()` (`$fs`): the socket forwarded messages leave from.
    public var forcedSendSocket: ListeningSocket?
    /// Set by `udp_mtu_try_proto()`: the protocol a request larger than `udp_mtu` is sent
    /// over instead of UDP (the global `udp_mtu_try_proto` when nil).
    public var mtuFallback: TransportProtocol?
    /// While `onsend_route` runs: where the message goes and its bytes (`$snd(...)`).
    public var sendInfo: SendInfo?
    /// Message flags (`setflag`/`isflagset`), 0-63.
    public var flags: UInt64 = 0
    /// Flags of branch 0 (`setbflag`/`isbflagset`), 0-63.
    public var branchFlags: UInt64 = 0
    /// Kamailio's internal message flags (`msg_flags`, `FL_*` bits; corex `msg_iflag_set`).
    public var internalFlags: UInt32 = 0
    /// Kamailio's extended message flags 0-63 (`xflags`; corex `setxflag`).
    public var extendedFlags: UInt64 = 0
    /// The Request-URI as changed by the script (`$ru = ...`, `rewriteuri()`, ...), or nil
    /// when unchanged. Kamailio's `new_uri`. Setting it makes the Request-URI new for forking.
    public var newRequestURI: String? { didSet { requestURIIsNew = true } }
    /// The destination URI (`$du`), or nil. Kamailio's `dst_uri`. Setting it makes the
    /// Request-URI new for forking, as Kamailio's `$du` does.
    public var destinationURI: String? { didSet { requestURIIsNew = true } }
    /// Kamailio's `ruri_is_new`: the Request-URI is a target `t_relay()` still forks to. A
    /// received request's is; tm consumes it when it relays and in a failure route (where
    /// only a changed Request-URI or `$du`, and the appended branches, make new branches).
    public var requestURIIsNew = true
    /// Additional branches (`append_branch()`), each with its URI and optional destination.
    public var branches: [Branch] = []
    /// The registered contact the Request-URI (branch 0) was set from (Kamailio's
    /// `msg->instance`, `reg_id`, `ruid`, `location_ua`): registrar's `lookup()`,
    /// `t_next_contacts()`, `t_reuse_branch()`.
    public var binding: ContactBinding {
        get { extras?.binding ?? ContactBinding() }
        set { madeExtras.binding = newValue }
        _modify { yield &madeExtras.binding }
    }
    /// `binding` is not empty, read in place (no copy of its texts as `binding` makes): the
    /// relay path asks for every branch, and nearly every request has none.
    public var hasBinding: Bool { !(extras?.binding.isEmpty ?? true) }
    /// AVPs of this message (`$avp(name)`): each name holds a stack, the newest value first.
    public var avps: [String: [PVValue]] {
        get { extras?.avps ?? [:] }
        set { madeExtras.avps = newValue }
        _modify { yield &madeExtras.avps }
    }
    /// cfg group instances selected with `cfg_select(group, id)`, until `cfg_reset(group)`
    /// or the end of the message.
    public var cfgInstances: [String: Int] {
        get { extras?.cfgInstances ?? [:] }
        set { madeExtras.cfgInstances = newValue }
        _modify { yield &madeExtras.cfgInstances }
    }
    /// The flags of each AVP value (`setavpflag`), parallel to `avps` (newest first).
    public var avpFlags: [String: [UInt32]] {
        get { extras?.avpFlags ?? [:] }
        set { madeExtras.avpFlags = newValue }
        _modify { yield &madeExtras.avpFlags }
    }
    /// The state few messages use (AVPs, a registered contact's binding, advertised address),
    /// made on first use: the context itself stays small (one allocation from malloc's
    /// per-thread cache, fewer cache lines for every message) and has less to release.
    private var extras: MessageContextExtras?
    private var madeExtras: MessageContextExtras {
        if let e = extras { return e }
        let e = MessageContextExtras()
        extras = e
        return e
    }
    /// Extended AVPs of this message (`$xavp(root=>field)`), the newest first.
    public var xavps: [XAVP] = []
    /// Edits to the message recorded by the script (`append_hf`, `remove_hf`, ...), applied
    /// when the message is sent on. Created on first use. Edits through it
    /// (`ctx.edits.insert(...)`) change the stored editor in place, without a copy.
    public var edits: MessageEditor {
        get {
            if let e = storedEdits { return e }
            let e = MessageEditor(message)
            storedEdits = e
            return e
        }
        set { storedEdits = newValue }
        _modify {
            if storedEdits == nil { storedEdits = MessageEditor(message) }
            yield &storedEdits!
        }
    }
    private var storedEdits: MessageEditor?
    /// The edits recorded so far, for a caller that builds from a copy: unlike reading
    /// `edits`, this does not create and keep an editor in the context when there is none
    /// yet (tm building each reply it relays).
    public var editsSoFar: MessageEditor { storedEdits ?? MessageEditor(message) }
    /// No edits recorded (`editsSoFar.isUnchanged`), asked without making or copying an
    /// editor: tm relaying a reply the reply route did not change.
    public var editsAreUnchanged: Bool { storedEdits?.isUnchanged ?? true }
    /// Insertions whose bytes depend on the socket the request leaves from (rr's
    /// Record-Route), resolved each time the request is built for sending.
    public var sendSocketLumps: [SendSocketLump] = []
    /// Header lines and body to add to replies built for this request (Kamailio's reply lumps).
    public var replyLumps = ReplyLumps()

    /// The Request-URI in effect: the one set by the script, else the received one.
    public var requestURI: String? { newRequestURI ?? message.requestURI }
    /// The return code of the last function or route (`$rc`, `$?`).
    public var lastReturnCode = 1
    /// Set when a function returned 0 inside an expression: the script stops after it.
    public var exitRequested = false
    /// Depth of nested `route()` calls, bounded by `max_recursive_level`.
    public var routeDepth = 0
    /// The core's last internal errors (Kamailio's `ser_error`/`prev_ser_error`).
    public var coreError = CoreErrorState()
    /// The core this message runs in: registries, the send path, hooks, timers.
    public let core: CoreContext
    /// The top Via, parsed once when the message was received (Kamailio's `msg->via1`);
    /// nil when it does not parse (the core drops such messages before the script).
    public var via1: ViaHeader?
    /// The To-tag's range in `message.buffer`, looked up once per message: `has_totag()`,
    /// `loose_route()` and sl's ACK filter each ask for it. nil when the To header is missing,
    /// malformed (`;tag=` without a value included) or has no tag.
    public var toTagRange: Range<Int>? {
        if let found = foundToTag { return found }
        let m = message
        let range = m.firstHeader(.to).flatMap { NameAddr.tag(in: m.buffer, $0.valueRange) }
        foundToTag = .some(range)
        return range
    }
    /// `toTagRange` once looked up (`.some(nil)`: no tag).
    private var foundToTag: Range<Int>??
    /// The host of the To URI in `message.buffer` (`$td`), looked up once per message: nil
    /// when the To header is missing, its URI does not parse or has an empty host.
    public var toURIHostRange: Range<Int>? {
        if let found = foundToURIHost { return found }
        let m = message
        var range: Range<Int>?
        if let field = m.firstHeader(.to) {
            let uri = (try? NameAddr.parse(m.buffer, field.valueRange))?.uri ?? field.valueRange
            if let c = try? URIComponents.parse(m.buffer, uri), !c.host.isEmpty { range = c.host }
        }
        foundToURIHost = .some(range)
        return range
    }
    /// `toURIHostRange` once looked up (`.some(nil)`: none).
    private var foundToURIHost: Range<Int>??

    /// A context for `message`. `via1` is the parsed top Via when the caller has it already;
    /// otherwise it is parsed here.
    public init(
        message: SIPMessage, receive: ReceiveInfo, routeType: RouteTypes = .request, core: CoreContext = .current,
        via1: ViaHeader? = nil
    ) {
        self.message = message
        self.receive = receive
        self.routeType = routeType
        self.core = core
        // Not `via1 ?? ...` nor `if let`: the optional ViaHeader (over 500 bytes) is copied
        // once, not through temporaries.
        self.via1 = via1
        if via1 == nil { self.via1 = try? message.topVia() }
    }

    /// Where a reply to this request goes (RFC 3261 section 18.2.2, RFC 3581): the source
    /// address, at the source port when the top Via has `rport` (or `force_rport()` was
    /// called), else at the Via's sent-by port; on the connection it came in on, if any.
    public var replyDestination: Destination {
        var address = receive.source
        if let via = via1, !forceRport, via.rport == nil { address.port = via.port ?? 5060 }
        return Destination(
            proto: receive.proto, address: address, socket: receive.socket, connectionID: receive.connectionID,
            flags: sendFlags)
    }

    /// Sends a locally generated reply to this request through the core's send path
    /// (`onsend_route` is not run for replies, as in Kamailio; the out-hooks are). False when
    /// it could not be sent.
    public func sendReply(_ bytes: [UInt8]) -> Bool {
        core.send(OutboundMessage(bytes: bytes, destination: replyDestination, kind: .reply), context: self) == .sent
    }
}

/// The rarely used part of a `MessageContext`, made when first set.
final class MessageContextExtras {
    var advertisedAddress: String?
    var advertisedPort: Int?
    var binding = ContactBinding()
    var avps = [String: [PVValue]]()
    var cfgInstances = [String: Int]()
    var avpFlags = [String: [UInt32]]()
}

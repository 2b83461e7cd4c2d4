/// A request that tm sends itself as a client transaction (Kamailio's `uac_req_t` with the
/// `dlg_t` that `t_uac`/`t_request` build): what is not given is generated as Kamailio does
/// (From `sip:<server address>` with a tag, To = Request-URI, a Call-ID, CSeq 10).
public struct LocalRequest: Sendable {
    /// The method (`OPTIONS`, `MESSAGE`, `INVITE`, ...).
    public var method: String
    /// The Request-URI.
    public var requestURI: String
    /// Where it goes first (an outbound proxy URI, `$du`); nil: the Request-URI.
    public var nextHop: String?
    /// The socket to send from (`udp:1.2.3.4:5060` of a `listen=`); nil: the core chooses.
    public var sendSocket: ListeningSocket?
    /// From: a URI or a name-addr (`"Alice" <sip:a@example.com>`); nil: `sip:` + the sending
    /// socket's address.
    public var from: String?
    /// The From tag; nil: a generated one.
    public var fromTag: String?
    /// To: a URI or a name-addr; nil: the Request-URI.
    public var to: String?
    /// The To tag (an in-dialog request); nil: none.
    public var toTag: String?
    /// The Call-ID; nil: a generated one.
    public var callID: String?
    /// The CSeq number; nil: 10 (Kamailio's `DEFAULT_CSEQ`).
    public var cseq: Int?
    /// Extra header lines, each ending in CRLF (a missing final CRLF is added).
    public var headers: String
    /// The body (with a `Content-Type` among `headers`).
    public var body: [UInt8]
    /// Deliver provisional replies to the completion too (Kamailio's `TMCB_RESPONSE_IN`
    /// with `TMCB_LOCAL_COMPLETED`); otherwise only the final one.
    public var wantsProvisionals: Bool
    /// tm does not ACK a 2xx to this INVITE (Kamailio's `TMCB_DONT_ACK`): the requester
    /// does.
    public var noAutoAck: Bool

    public init(
        method: String, requestURI: String, nextHop: String? = nil, sendSocket: ListeningSocket? = nil,
        from: String? = nil, fromTag: String? = nil, to: String? = nil, toTag: String? = nil, callID: String? = nil,
        cseq: Int? = nil, headers: String = "", body: [UInt8] = [], wantsProvisionals: Bool = false,
        noAutoAck: Bool = false
    ) {
        self.method = method
        self.requestURI = requestURI
        self.nextHop = nextHop
        self.sendSocket = sendSocket
        self.from = from
        self.fromTag = fromTag
        self.to = to
        self.toTag = toTag
        self.callID = callID
        self.cseq = cseq
        self.headers = headers
        self.body = body
        self.wantsProvisionals = wantsProvisionals
        self.noAutoAck = noAutoAck
    }
}

/// A reply to a locally originated request, as tm hands it to the completion.
public struct LocalReply {
    /// The status code: the reply's, or 408 when no final reply came in `fr_timer` (487
    /// when the transaction was cancelled).
    public let code: Int
    /// The reason phrase.
    public let reason: String
    /// The reply as received, without tm's Via; nil for a locally generated 408/487.
    public let message: SIPMessage?
    /// The request as it was sent on the branch (with tm's Via).
    public let request: SIPMessage?
    /// The transaction's index and label (`tm.reply`'s `"index:label"`).
    public let transactionIndex: String
    public let transactionLabel: String

    public init(
        code: Int, reason: String, message: SIPMessage?, request: SIPMessage?, transactionIndex: String,
        transactionLabel: String
    ) {
        self.code = code
        self.reason = reason
        self.message = message
        self.request = request
        self.transactionIndex = transactionIndex
        self.transactionLabel = transactionLabel
    }

    /// True from 200 on.
    public var isFinal: Bool { code >= 200 }
}

/// Why tm could not send a local request.
public enum LocalRequestError: Error, CustomStringConvertible {
    /// The request could not be built (a bad Request-URI, From, To, ...).
    case invalid(String)
    /// No branch could be sent (unresolvable next hop, no socket, ...).
    case notSent(String)
    /// Shared memory or the transaction table is full.
    case noResources(String)
    /// `drop` in `event_route[tm:local-request]` (Kamailio's `E_DROP`).
    case dropped(String)

    public var description: String {
        switch self {
        case .invalid(let s), .notSent(let s), .noResources(let s), .dropped(let s): s
        }
    }
}

/// tm's client side for other modules (Kamailio's `t_request`, `t_uac` in the tm API):
/// sends a request it originates as a client transaction — UDP retransmissions, `fr_timer`,
/// a 408 when nothing final came — and hands the replies to `completion` (on the thread
/// that received the reply, or the timer thread; under the transaction's lock, so the
/// completion must not wait for other transactions). A 2xx to a local INVITE is ACKed by tm.
/// Look it up with `core.apis.lookup(TransactionUACAPI.self)`.
public protocol TransactionUACAPI: AnyObject {
    /// Sends `request`; `completion` gets the final reply (and the provisional ones when
    /// `wantsProvisionals`). Returns the transaction's index and label once sent.
    func sendRequest(
        _ request: LocalRequest, completion: @escaping (LocalReply) -> Void
    ) -> Result<(index: String, label: String), LocalRequestError>
}

/// The counters of group "core" (Kamailio's core statistics, which its kex module
/// registers: `rcv_requests`, `rcv_requests_invite`, ..., `rcv_replies_4xx_invite`, ...), with
/// Kamailio's names. They are registered first, so their handles are constants.
///
/// The message path calls one function per event; each is a few adds on the calling
/// thread's own counter row:
///
/// ```swift
/// CoreCounters.received(message)      // a request or reply passed the core checks, before the script
/// CoreCounters.forwardedRequest()     // a request was sent on (forward, t_relay)
/// CoreCounters.forwardedReply()       // a reply was sent on
/// CoreCounters.droppedRequest()       // a request was dropped (pre-script filter, send failure)
/// CoreCounters.droppedReply()         // a reply was dropped (script drop, send failure)
/// CoreCounters.badRequest()           // err_requests: a request without Via or required headers
/// CoreCounters.badReply()             // err_replies: the same for a reply
/// CoreCounters.badURI()               // bad_URIs_rcvd: a URI that does not parse
/// CoreCounters.badHeader()            // bad_msg_hdr: a header that does not parse
/// ```
public enum CoreCounters {
    /// Kamailio's counters in its registration order (`core_stats[]` of kex).
    static let names: [String] =
        [
            "rcv_requests", "rcv_requests_invite", "rcv_requests_cancel", "rcv_requests_ack", "rcv_requests_bye",
            "rcv_requests_info", "rcv_requests_register", "rcv_requests_subscribe", "rcv_requests_notify",
            "rcv_requests_message", "rcv_requests_options", "rcv_requests_prack", "rcv_requests_update",
            "rcv_requests_refer", "rcv_requests_publish",
            "rcv_replies", "rcv_replies_1xx", "rcv_replies_18x", "rcv_replies_2xx", "rcv_replies_3xx",
            "rcv_replies_4xx",
            "rcv_replies_401", "rcv_replies_404", "rcv_replies_407", "rcv_replies_480", "rcv_replies_486",
            "rcv_replies_5xx", "rcv_replies_6xx",
            "fwd_requests", "fwd_replies", "drop_requests", "drop_replies", "err_requests", "err_replies",
            "bad_URIs_rcvd", "unsupported_methods", "bad_msg_hdr",
        ]
        + replyMethods.flatMap { m in (1...6).map { "rcv_replies_\($0)xx_\(m)" } }

    /// The CSeq methods with per-class reply counters, in Kamailio's order.
    static let replyMethods = ["invite", "cancel", "bye", "reg", "message", "prack", "update", "refer"]

    // Handles: the index in `names`.
    @usableFromInline static let rcvRequests = CounterHandle(id: 0)
    @usableFromInline static let rcvReplies = CounterHandle(id: 15)
    @usableFromInline static let fwdRequests = CounterHandle(id: 28)
    @usableFromInline static let fwdReplies = CounterHandle(id: 29)
    @usableFromInline static let dropRequests = CounterHandle(id: 30)
    @usableFromInline static let dropReplies = CounterHandle(id: 31)
    @usableFromInline static let errRequests = CounterHandle(id: 32)
    @usableFromInline static let errReplies = CounterHandle(id: 33)
    @usableFromInline static let badURIs = CounterHandle(id: 34)
    static let unsupportedMethods = CounterHandle(id: 35)
    @usableFromInline static let badMessageHeaders = CounterHandle(id: 36)
    static let firstReplyByMethod = 37

    static func register(in counters: Counters) {
        for name in names {
            _ = try? counters.register(group: "core", name: name, description: "kamailio statistic (no description)")
        }
    }

    /// Counts a received message that passed the core's checks, before the script runs on
    /// it (Kamailio's kex pre-script callbacks): `rcv_requests` and `rcv_requests_<method>`
    /// (`unsupported_methods` for a method Kamailio does not know), or `rcv_replies`, the
    /// class and code counters and `rcv_replies_<class>xx_<CSeq method>`.
    public static func received(_ message: SIPMessage) {
        // The first line read once; for a reply only a known CSeq method counts, read from the
        // CSeq bytes without making the header's value.
        switch message.firstLine {
        case .request(let method, _, _): receivedRequest(method: method)
        case .response(let code, _): receivedReply(code: code, cseqMethod: message.knownCSeqMethod)
        }
    }

    /// `rcv_requests` and the counter of `method`.
    public static func receivedRequest(method: SIPMethod?) {
        // The thread's row, looked up once for both counters.
        let row = CounterShards.row()
        row[rcvRequests.id] &+= 1
        let offset: Int
        switch method {
        case .invite: offset = 1
        case .cancel: offset = 2
        case .ack: offset = 3
        case .bye: offset = 4
        case .info: offset = 5
        case .register: offset = 6
        case .subscribe: offset = 7
        case .notify: offset = 8
        case .message: offset = 9
        case .options: offset = 10
        case .prack: offset = 11
        case .update: offset = 12
        case .refer: offset = 13
        case .publish: offset = 14
        case .kdmq, nil: return
        case .other(let name):
            // Kamailio knows these (its HTTP methods) without counting them.
            if name == "GET" || name == "POST" || name == "PUT" || name == "DELETE" { return }
            row[unsupportedMethods.id] &+= 1
            return
        }
        row[rcvRequests.id + offset] &+= 1
    }

    /// `rcv_replies`, the class counters (`rcv_replies_1xx`, `_18x`, ... `_6xx`, and
    /// `_401 _404 _407 _480 _486`) and `rcv_replies_<class>xx_<method>` for the CSeq method.
    public static func receivedReply(code: Int, cseqMethod: SIPMethod?) {
        // The thread's row, looked up once for every counter of the reply.
        let row = CounterShards.row()
        let base = rcvReplies.id
        row[base] &+= 1
        switch code {
        case 100...199:
            row[base + 1] &+= 1
            if (180...189).contains(code) { row[base + 2] &+= 1 }
        case 200...299: row[base + 3] &+= 1
        case 300...399: row[base + 4] &+= 1
        case 400...499:
            row[base + 5] &+= 1
            switch code {
            case 401: row[base + 6] &+= 1
            case 404: row[base + 7] &+= 1
            case 407: row[base + 8] &+= 1
            case 480: row[base + 9] &+= 1
            case 486: row[base + 10] &+= 1
            default: break
            }
        case 500...599: row[base + 11] &+= 1
        case 600...699: row[base + 12] &+= 1
        default: break
        }
        let group = code / 100 - 1
        guard group >= 0, group <= 5, let cseqMethod else { return }
        let m: Int
        switch cseqMethod {
        case .invite: m = 0
        case .cancel: m = 1
        case .bye: m = 2
        case .register: m = 3
        case .message: m = 4
        case .prack: m = 5
        case .update: m = 6
        case .refer: m = 7
        default: return
        }
        row[firstReplyByMethod + m * 6 + group] &+= 1
    }

    /// `fwd_requests`: a request was sent on.
    @inlinable public static func forwardedRequest() { fwdRequests.increment() }
    /// `fwd_replies`: a reply was sent on.
    @inlinable public static func forwardedReply() { fwdReplies.increment() }
    /// `drop_requests`: a request was dropped (pre-script callback, failed send).
    @inlinable public static func droppedRequest() { dropRequests.increment() }
    /// `drop_replies`: a reply was dropped (script drop, failed send).
    @inlinable public static func droppedReply() { dropReplies.increment() }
    /// `err_requests`: a request too bad to process (no Via, missing required headers).
    @inlinable public static func badRequest() { errRequests.increment() }
    /// `err_replies`: a reply too bad to process.
    @inlinable public static func badReply() { errReplies.increment() }
    /// `bad_URIs_rcvd`: a URI that did not parse.
    @inlinable public static func badURI() { badURIs.increment() }
    /// `bad_msg_hdr`: a header that did not parse.
    @inlinable public static func badHeader() { badMessageHeaders.increment() }
}

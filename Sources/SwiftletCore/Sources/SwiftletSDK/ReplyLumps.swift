/// What the script adds to any reply built for the request it runs on (Kamailio's reply
/// lumps, `add_lump_rpl`): header lines from `append_to_reply()`, sanity's `Unsupported:`,
/// siputils' `options_reply()`, and one body from `set_reply_body()`. The stateless reply
/// writer (sl) puts the header bytes after the copied headers, before `Server:`, and the
/// body after the empty line, as Kamailio's `build_res_buf_from_sip_req` does.
public struct ReplyLumps: Sendable, Equatable {
    /// Header bytes exactly as given (each line normally ends with CRLF), in order.
    public private(set) var headers: [UInt8] = []
    /// The body, when one was set.
    public private(set) var body: [UInt8]? = nil

    public init() {}

    /// Appends header text (Kamailio's `LUMP_RPL_HDR`). Empty text is refused (false).
    @discardableResult
    public mutating func appendHeader(_ text: [UInt8]) -> Bool {
        guard !text.isEmpty else { return false }
        // The first header takes the caller's array as it is (no copy).
        if headers.isEmpty { headers = text } else { headers += text }
        return true
    }

    /// Sets the body (Kamailio's `LUMP_RPL_BODY`): refused (false) when empty or when a body
    /// was already set, as Kamailio refuses a second body lump.
    @discardableResult
    public mutating func setBody(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty, body == nil else { return false }
        body = bytes
        return true
    }

    /// True when nothing was added.
    public var isEmpty: Bool { headers.isEmpty && body == nil }
}

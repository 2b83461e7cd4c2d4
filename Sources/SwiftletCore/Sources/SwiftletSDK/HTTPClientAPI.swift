/// What an HTTP request made through `HTTPClientAPI` gave: Kamailio's return value of
/// `httpc_api_t` functions and the body they store.
public struct HTTPClientReply: Equatable, Sendable {
    /// The HTTP status (100 and above), a libcurl error code (below 100: 7 could not connect,
    /// 28 timed out, 60 bad peer certificate, ...) or -1 (the request could not be made).
    public var code: Int
    /// The body, as Kamailio hands it over: for 2xx to 4xx replies only, cut to the module's
    /// size limit (and to the first line where the function does that); empty otherwise.
    public var body: String

    public init(code: Int, body: String) {
        self.code = code
        self.body = body
    }
}

/// The http_client module's API for other modules (Kamailio's `httpc_api_t`, bound with
/// `httpc_load_api`/`bind_http_client`), offered by http_client and used by slack. All calls
/// block the calling worker until the reply or the timeout (the module's `connection_timeout`
/// or the connection's `timeout`).
public protocol HTTPClientAPI: AnyObject {
    /// Kamailio's `http_client_query_c`: GET `url`, or POST `body` when it is not nil, with the
    /// module's defaults (`connection_timeout`, `query_result`, `query_maxdatasize`, TLS and
    /// proxy parameters). `contentType` adds a Content-Type header; `headers` is one more
    /// header line.
    func query(_ ctx: MessageContext?, url: String, body: String?, contentType: String?, headers: String?)
        -> HTTPClientReply

    /// Kamailio's `http_connect`: a request on the connection `connection` (an `httpcon`),
    /// with `url` appended to its base URL; POST with `contentType` when `body` is not nil.
    func connect(_ ctx: MessageContext?, connection: String, url: String?, contentType: String?, body: String?)
        -> HTTPClientReply

    /// Kamailio's `http_connection_exists`.
    func connectionExists(_ connection: String) -> Bool

    /// Kamailio's `http_get_content_type`: the Content-Type of this thread's last reply on
    /// `connection`; nil for an unknown connection.
    func contentType(connection: String) -> String?
}

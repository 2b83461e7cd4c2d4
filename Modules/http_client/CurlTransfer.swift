import CCurl
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Everything one request takes (Kamailio's `curl_query_t`): the module defaults for
/// `http_client_query`, a connection's settings for `http_connect`.
struct CurlQuery {
    var method: String?
    var url: String
    var username: String?
    var password: String?
    var authMethod = 3
    /// Content-Type of a POST body (a header is added only when there is a body).
    var contentType: String?
    var body: String?
    /// One more header line (the `hdrs` argument), as given.
    var headers: String?
    var clientCert: String?
    var clientKey: String?
    var caCert: String?
    var cipherSuites: String?
    var proxy: String?
    var proxyPort = 0
    var tlsVersion = 0
    var verifyPeer = true
    var verifyHost = true
    /// Seconds for the whole transfer (CURLOPT_TIMEOUT); 0: no limit.
    var timeout = 4
    var followRedirects = false
    /// `query_result` 1: keep the body up to its first line feed.
    var firstLineOnly = false
    /// Bytes of the body kept; 0: all.
    var maxDataSize = 0
    var userAgent: String?
    var netInterface: String?
}

/// What a request gave.
struct CurlOutcome {
    /// HTTP status, or the libcurl error code (below 100), or -1 when no handle could be made.
    var code: Int
    /// The kept body: only for 2xx to 4xx, cut as Kamailio cuts it; empty otherwise.
    var body: String
    /// True when libcurl failed (no HTTP status).
    var transportFailed: Bool
    /// The last URL fetched (after redirects when they are followed).
    var effectiveURL: String
    var contentType: String
    var totalTime: Double
}

/// One libcurl easy handle doing requests (Kamailio's `curL_request_url`). A handle may be
/// kept and used again (`keep_connections`): libcurl then reuses its open connection.
final class CurlTransfer {
    private(set) var handle: UnsafeMutableRawPointer?

    init?() {
        CurlGlobal.initialize()
        guard let h = curl_easy_init() else { return nil }
        handle = h
    }

    deinit { if let handle { curl_easy_cleanup(handle) } }

    /// Performs `q` on this handle (options reset first) and returns the outcome.
    func perform(_ q: CurlQuery) -> CurlOutcome {
        guard let curl = handle else {
            return CurlOutcome(
                code: -1, body: "", transportFailed: true, effectiveURL: "", contentType: "", totalTime: 0)
        }
        curl_easy_reset(curl)
        var strings = CStrings()
        defer { strings.free() }
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { if let headerList { curl_slist_free_all(headerList) } }
        var res = Int(CURLE_OK.rawValue)
        func setLong(_ o: CURLoption, _ v: Int) { res |= Int(swiftlet_curl_setopt_long(curl, o, v).rawValue) }
        func setString(_ o: CURLoption, _ v: String) {
            res |= Int(swiftlet_curl_setopt_pointer(curl, o, strings.keep(v)).rawValue)
        }
        setString(CURLOPT_URL, q.url)
        setLong(CURLOPT_PROTOCOLS, CurlGlobal.httpProtocols)
        setLong(CURLOPT_REDIR_PROTOCOLS, CurlGlobal.httpProtocols)
        if let m = q.method { setString(CURLOPT_CUSTOMREQUEST, m) }
        if let body = q.body {
            if q.method == nil { setLong(CURLOPT_POST, 1) }
            if let ct = q.contentType { headerList = curl_slist_append(headerList, "Content-Type: \(ct)") }
            setLong(CURLOPT_POSTFIELDSIZE, body.utf8.count)
            setString(CURLOPT_COPYPOSTFIELDS, body)
        } else {
            setLong(CURLOPT_POST, 0)
        }
        if let h = q.headers { headerList = curl_slist_append(headerList, h) }
        if let headerList { res |= Int(swiftlet_curl_setopt_pointer(curl, CURLOPT_HTTPHEADER, headerList).rawValue) }
        if let u = q.username {
            setString(CURLOPT_USERNAME, u)
            setLong(CURLOPT_HTTPAUTH, q.authMethod)
        }
        if let p = q.password { setString(CURLOPT_PASSWORD, p) }
        if let cert = q.clientCert, let key = q.clientKey {
            setString(CURLOPT_SSLCERTTYPE, "PEM")
            setString(CURLOPT_SSLCERT, cert)
            setString(CURLOPT_SSLKEYTYPE, "PEM")
            setString(CURLOPT_SSLKEY, key)
        }
        if let ca = q.caCert { setString(CURLOPT_CAINFO, ca) }
        if q.tlsVersion != 0 { setLong(CURLOPT_SSLVERSION, q.tlsVersion) }
        if let c = q.cipherSuites { setString(CURLOPT_SSL_CIPHER_LIST, c) }
        if let p = q.proxy { setString(CURLOPT_PROXY, p) }
        if q.proxyPort > 0 { setLong(CURLOPT_PROXYPORT, q.proxyPort) }
        setLong(CURLOPT_SSL_VERIFYPEER, q.verifyPeer ? 1 : 0)
        setLong(CURLOPT_SSL_VERIFYHOST, q.verifyHost ? 2 : 0)
        setLong(CURLOPT_NOSIGNAL, 1)
        setLong(CURLOPT_TIMEOUT, q.timeout)
        setLong(CURLOPT_FOLLOWLOCATION, q.followRedirects ? 1 : 0)
        if let i = q.netInterface { setString(CURLOPT_INTERFACE, i) }
        if let ua = q.userAgent { setString(CURLOPT_USERAGENT, ua) }
        let sink = CurlBodySink(limit: q.maxDataSize)
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        res |= Int(swiftlet_curl_setopt_write_function(curl, curlBodySinkWrite).rawValue)
        res |= Int(swiftlet_curl_setopt_pointer(curl, CURLOPT_WRITEDATA, sinkPointer).rawValue)

        var code: CURLcode
        if res != Int(CURLE_OK.rawValue) {
            Log.error("http_client", "Could not set CURL options. Library error")
            code = CURLcode(rawValue: UInt32(truncatingIfNeeded: res))
        } else {
            code = withExtendedLifetime(sink) { curl_easy_perform(curl) }
        }
        var total = 0.0
        _ = swiftlet_curl_getinfo_double(curl, CURLINFO_TOTAL_TIME, &total)
        if code != CURLE_OK {
            CurlGlobal.logFailure(code, url: q.url, proxy: q.proxy)
            return CurlOutcome(
                code: Int(code.rawValue), body: "", transportFailed: true, effectiveURL: "", contentType: "",
                totalTime: total)
        }
        var status = 0
        _ = swiftlet_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        var ct: UnsafePointer<CChar>?
        var eff: UnsafePointer<CChar>?
        _ = swiftlet_curl_getinfo_string(curl, CURLINFO_CONTENT_TYPE, &ct)
        _ = swiftlet_curl_getinfo_string(curl, CURLINFO_EFFECTIVE_URL, &eff)
        var body = ""
        if status >= 200 && status < 500 { body = sink.kept(firstLineOnly: q.firstLineOnly, limit: q.maxDataSize) }
        return CurlOutcome(
            code: status, body: body, transportFailed: false, effectiveURL: eff.map { String(cString: $0) } ?? "",
            contentType: ct.map { String(cString: $0) } ?? "", totalTime: total)
    }
}

/// C strings handed to libcurl, kept alive until the request is done (libcurl copies most
/// strings, but not all of them in every version).
private struct CStrings {
    private var buffers: [UnsafeMutablePointer<CChar>] = []

    mutating func keep(_ s: String) -> UnsafeMutablePointer<CChar> {
        let p = strdup(s)!
        buffers.append(p)
        return p
    }

    /// Frees every buffer (when the request is done).
    func free() { for b in buffers { Glibc.free(b) } }
}

/// The body as it arrives (Kamailio's `write_function`): chunks are appended while less than
/// `limit` bytes are held (0: no limit), later chunks dropped.
final class CurlBodySink {
    let limit: Int
    var bytes: [UInt8] = []

    init(limit: Int) { self.limit = limit }

    /// The body as Kamailio stores it: up to the first line feed with `firstLineOnly`, else
    /// cut at `limit` bytes.
    func kept(firstLineOnly: Bool, limit: Int) -> String {
        if firstLineOnly, let lf = bytes.firstIndex(of: 10) { return String(decoding: bytes[..<lf], as: UTF8.self) }
        if limit > 0 && bytes.count > limit { return String(decoding: bytes[..<limit], as: UTF8.self) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

private func curlBodySinkWrite(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    let n = size * count
    guard let data, let user else { return n }
    let sink = Unmanaged<CurlBodySink>.fromOpaque(user).takeUnretainedValue()
    if sink.limit == 0 || sink.bytes.count < sink.limit {
        sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: n))
    }
    return n
}

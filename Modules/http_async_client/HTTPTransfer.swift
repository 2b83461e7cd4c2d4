import CHTTPAsyncCurl
import SwiftletSDK

/// One query on its way: the libcurl easy handle with its options, and the reply as it
/// arrives (Kamailio's `http_m_cell`). Lives on one `CurlMultiWorker` thread.
final class HTTPTransfer {
    let url: String
    let id: String
    let parameters: HTTPQueryParameters
    let settings: HTTPClientSettings
    /// Runs on the worker thread when the transfer ended, with its result.
    let completion: (HTTPQueryResult) -> Void

    private(set) var easy: UnsafeMutableRawPointer?
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    /// The header block of the latest reply (a 100 or a redirect's block is replaced).
    private var head: [UInt8] = []
    private var body: [UInt8] = []
    /// When the transfer last moved (connected, sent or received anything), in monotonic
    /// milliseconds, and what it had moved then (`InactivityTimeout`).
    var lastActivity: Int64 = 0
    var lastProgress: Int64 = -1

    init(
        url: String, id: String, parameters: HTTPQueryParameters, settings: HTTPClientSettings,
        completion: @escaping (HTTPQueryResult) -> Void
    ) {
        self.url = url
        self.id = id
        self.parameters = parameters
        self.settings = settings
        self.completion = completion
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        if let easy { curl_easy_cleanup(easy) }
        if let headerList { curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
    }

    /// Creates the easy handle with the query's options (Kamailio's `new_request`); nil when
    /// libcurl refuses.
    func makeHandle() -> UnsafeMutableRawPointer? {
        guard let easy = curl_easy_init() else { return nil }
        self.easy = easy
        let me = Unmanaged.passUnretained(self).toOpaque()
        let p = parameters
        _ = swiftlet_hac_setopt_pointer(easy, CURLOPT_URL, url)
        _ = swiftlet_hac_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = swiftlet_hac_setopt_callback(easy, CURLOPT_WRITEFUNCTION, transferWrite)
        _ = swiftlet_hac_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        _ = swiftlet_hac_setopt_callback(easy, CURLOPT_HEADERFUNCTION, transferHeader)
        _ = swiftlet_hac_setopt_pointer(easy, CURLOPT_HEADERDATA, me)
        _ = swiftlet_hac_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer)
        if settings.verbose {
            _ = swiftlet_hac_setopt_long(easy, CURLOPT_VERBOSE, 1)
            _ = swiftlet_hac_setopt_debug(easy, transferDebug)
        }
        if p.followRedirect { _ = swiftlet_hac_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 1) }
        // The timeout counts from the last activity (InactivityTimeout), not over the whole query.
        _ = swiftlet_hac_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, p.tlsVerifyPeer ? 1 : 0)
        _ = swiftlet_hac_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, p.tlsVerifyHost ? 2 : 0)
        _ = swiftlet_hac_setopt_long(easy, CURLOPT_SSLVERSION, settings.tlsVersion)
        if let cert = p.tlsClientCert { _ = swiftlet_hac_setopt_pointer(easy, CURLOPT_SSLCERT, cert) }
        if let key = p.tlsClientKey { _ = swiftlet_hac_setopt_pointer(easy, CURLOPT_SSLKEY, key) }
        if let path = p.tlsCAPath { _ = swiftlet_hac_setopt_pointer(easy, CURLOPT_CAPATH, path) }
        for header in p.headers { headerList = curl_slist_append(headerList, header) }
        if let headerList { _ = swiftlet_hac_setopt_pointer(easy, CURLOPT_HTTPHEADER, headerList) }
        if let body = p.body, !body.isEmpty {
            _ = swiftlet_hac_setopt_long(easy, CURLOPT_POSTFIELDSIZE, body.utf8.count)
            _ = swiftlet_hac_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, body)
        }
        if let method = p.method.customRequest {
            _ = swiftlet_hac_setopt_pointer(easy, CURLOPT_CUSTOMREQUEST, method)
        }
        if let user = p.username {
            _ = swiftlet_hac_setopt_pointer(easy, CURLOPT_USERNAME, user)
            _ = swiftlet_hac_setopt_long(easy, CURLOPT_HTTPAUTH, p.authMethod)
        }
        if let password = p.password { _ = swiftlet_hac_setopt_pointer(easy, CURLOPT_PASSWORD, password) }
        if p.tcpKeepalive != 0 {
            _ = swiftlet_hac_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
            if p.tcpKeepaliveIdle > 0 { _ = swiftlet_hac_setopt_long(easy, CURLOPT_TCP_KEEPIDLE, p.tcpKeepaliveIdle) }
            if p.tcpKeepaliveInterval > 0 {
                _ = swiftlet_hac_setopt_long(easy, CURLOPT_TCP_KEEPINTVL, p.tcpKeepaliveInterval)
            }
        }
        return easy
    }

    func appendHeaderLine(_ line: UnsafeBufferPointer<UInt8>) {
        if line.starts(with: Array("HTTP/".utf8)) {
            head.removeAll(keepingCapacity: true)
            body.removeAll(keepingCapacity: true)
        }
        head.append(contentsOf: line)
    }

    func appendBody(_ data: UnsafeBufferPointer<UInt8>) { body.append(contentsOf: data) }

    /// The result of the ended transfer: the reply, or the error (`TIMEOUT` for a timeout).
    func result(code: CURLcode) -> HTTPQueryResult {
        guard code == CURLE_OK, let easy else {
            let error: String
            if code == CURLE_OPERATION_TIMEDOUT {
                error = "TIMEOUT"
            } else if errorBuffer.pointee != 0 {
                error = String(cString: errorBuffer)
            } else {
                error = String(cString: curl_easy_strerror(code))
            }
            return HTTPQueryResult(id: id, error: error)
        }
        let (reason, headers) = HTTPReplyHead.parse(head)
        var times = HTTPTransferTimes()
        times.total = Int(swiftlet_hac_info_time(easy, CURLINFO_TOTAL_TIME_T))
        times.lookup = Int(swiftlet_hac_info_time(easy, CURLINFO_NAMELOOKUP_TIME_T))
        times.connect = Int(swiftlet_hac_info_time(easy, CURLINFO_CONNECT_TIME_T))
        times.redirect = Int(swiftlet_hac_info_time(easy, CURLINFO_REDIRECT_TIME_T))
        times.appconnect = Int(swiftlet_hac_info_time(easy, CURLINFO_APPCONNECT_TIME_T))
        times.pretransfer = Int(swiftlet_hac_info_time(easy, CURLINFO_PRETRANSFER_TIME_T))
        times.starttransfer = Int(swiftlet_hac_info_time(easy, CURLINFO_STARTTRANSFER_TIME_T))
        return HTTPQueryResult(
            id: id, error: nil, status: swiftlet_hac_info_long(easy, CURLINFO_RESPONSE_CODE), reason: reason,
            headers: headers, head: head, body: body, times: times)
    }
}

/// CURLOPT_WRITEFUNCTION: the reply body.
private func transferWrite(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    guard let data, let user else { return 0 }
    let n = size * count
    let transfer = Unmanaged<HTTPTransfer>.fromOpaque(user).takeUnretainedValue()
    transfer.appendBody(
        UnsafeBufferPointer(start: UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: n))
    return n
}

/// CURLOPT_HEADERFUNCTION: one header line (status lines included).
private func transferHeader(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    guard let data, let user else { return 0 }
    let n = size * count
    let transfer = Unmanaged<HTTPTransfer>.fromOpaque(user).takeUnretainedValue()
    transfer.appendHeaderLine(
        UnsafeBufferPointer(start: UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: n))
    return n
}

/// CURLOPT_DEBUGFUNCTION with `curl_verbose`: libcurl's text and headers at INFO, as Kamailio.
private func transferDebug(
    _ easy: UnsafeMutableRawPointer?, _ type: curl_infotype, _ data: UnsafeMutablePointer<CChar>?, _ size: Int,
    _ user: UnsafeMutableRawPointer?
) -> Int32 {
    let prefix: String
    switch type {
    case CURLINFO_TEXT: prefix = "[cURL]"
    case CURLINFO_HEADER_IN: prefix = "[cURL hdr in]"
    case CURLINFO_HEADER_OUT: prefix = "[cURL hdr out]"
    default: return 0
    }
    guard let data else { return 0 }
    let text = String(
        decoding: UnsafeBufferPointer(start: UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: size),
        as: UTF8.self)
    Log.info("http_async_client", "\(prefix) \(text)")
    return 0
}

/// The status line's reason phrase and the header fields of a reply's header block.
enum HTTPReplyHead {
    static func parse(_ head: [UInt8]) -> (reason: String, headers: [(name: String, value: String)]) {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.split(omittingEmptySubsequences: true) { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }
        guard !lines.isEmpty else { return ("", []) }
        let status = lines.removeFirst()
        let parts = status.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        let reason = parts.count > 2 ? String(parts[2]) : ""
        var headers: [(name: String, value: String)] = []
        for line in lines {
            if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += " " + String(line).trimmingCharacters()
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(
                (
                    String(line[..<colon]).trimmingCharacters(),
                    String(line[line.index(after: colon)...]).trimmingCharacters()
                ))
        }
        return (reason, headers)
    }
}

import CCurl
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The module parameters (Kamailio 5.6's ruxc defaults), the fields of libruxc's
/// `RuxcHTTPRequest` that the module fills.
struct RuxcSettings {
    var timeout = 5000
    var timeoutConnect = 5000
    var timeoutRead = 5000
    var timeoutWrite = 5000
    /// 0: accept every server certificate; 1: only trusted ones (the system's CAs).
    var tlsMode = 0
    /// 0: a new connection per request; 1: one kept per worker; 2: one per base URL per worker.
    var reuse = 0
    var retry = 0
    var logType = 0
    var debug = 0
}

/// An HTTP request as libruxc makes it, on libcurl instead of Rust's ureq: redirects
/// followed (up to 5), the request retried `retry` times while the reply is not 2xx, the
/// body of the last reply kept.
struct RuxcRequest {
    enum Method: String { case get = "GET", post = "POST", delete = "DELETE" }

    var method: Method
    var url: String
    /// POST only: libruxc sends no body with GET and DELETE.
    var body: String?
    /// Header lines; each `Name: value` line is sent (value trimmed), others skipped.
    var headers: String?

    /// libruxc's response: `retcode` -1 when no reply came, the status and body otherwise.
    struct Response {
        var retcode = -1
        var status = 0
        var body: [UInt8] = []
    }

    func perform(_ s: RuxcSettings) -> Response {
        var response = Response()
        var attempts = max(0, s.retry)
        while true {
            let last = attempts <= 0
            if let r = RuxcHandles.withHandle(url: url, reuse: s.reuse, { once($0, s) }) {
                response.status = r.status
                if last || (200...299).contains(r.status) {
                    response.body = r.body
                    response.retcode = 0
                }
            }
            if last || (200...299).contains(response.status) { break }
            attempts -= 1
        }
        return response
    }

    /// One attempt: the status and body, nil when libcurl failed (logged with `http_debug`).
    private func once(_ curl: UnsafeMutableRawPointer, _ s: RuxcSettings) -> (status: Int, body: [UInt8])? {
        curl_easy_reset(curl)
        var kept: [UnsafeMutablePointer<CChar>] = []
        var list: UnsafeMutablePointer<curl_slist>?
        defer {
            for p in kept { free(p) }
            if let list { curl_slist_free_all(list) }
        }
        func string(_ o: CURLoption, _ v: String) {
            let p = strdup(v)!
            kept.append(p)
            _ = swiftlet_curl_setopt_pointer(curl, o, p)
        }
        string(CURLOPT_URL, url)
        _ = swiftlet_curl_setopt_long(curl, CURLOPT_PROTOCOLS, 3)
        _ = swiftlet_curl_setopt_long(curl, CURLOPT_REDIR_PROTOCOLS, 3)
        _ = swiftlet_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
        _ = swiftlet_curl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 1)
        _ = swiftlet_curl_setopt_long(curl, CURLOPT_MAXREDIRS, 5)
        var hasContentType = false
        for line in (headers ?? "").split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else { continue }
            let name = String(line[..<colon])
            let value = String(line[line.index(after: colon)...]).trimmingCharacters()
            if name.lowercased() == "content-type" { hasContentType = true }
            list = curl_slist_append(list, "\(name): \(value)")
        }
        switch method {
        case .get: break
        case .delete: string(CURLOPT_CUSTOMREQUEST, "DELETE")
        case .post:
            let b = body ?? ""
            _ = swiftlet_curl_setopt_long(curl, CURLOPT_POST, 1)
            _ = swiftlet_curl_setopt_long(curl, CURLOPT_POSTFIELDSIZE, b.utf8.count)
            string(CURLOPT_COPYPOSTFIELDS, b)
            // ureq sends no Content-Type of its own; libcurl would add a form type.
            if !hasContentType { list = curl_slist_append(list, "Content-Type:") }
        }
        if let list { _ = swiftlet_curl_setopt_pointer(curl, CURLOPT_HTTPHEADER, list) }
        if s.timeoutConnect > 0 { _ = swiftlet_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, s.timeoutConnect) }
        if s.timeout > 0 {
            _ = swiftlet_curl_setopt_long(curl, CURLOPT_TIMEOUT_MS, s.timeout)
        } else if s.timeoutRead > 0 {
            // No reply byte for this long: libcurl's low-speed limit, in whole seconds.
            _ = swiftlet_curl_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1)
            _ = swiftlet_curl_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, (s.timeoutRead + 999) / 1000)
        }
        if s.tlsMode == 0 {
            _ = swiftlet_curl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 0)
            _ = swiftlet_curl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 0)
        }
        let sink = RuxcBody()
        _ = swiftlet_curl_setopt_write_function(curl, ruxcBodyWrite)
        _ = swiftlet_curl_setopt_pointer(curl, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
        let code = withExtendedLifetime(sink) { curl_easy_perform(curl) }
        guard code == CURLE_OK else {
            if s.debug != 0 {
                Log.error("ruxc", "* ruxc:: error: \(String(cString: curl_easy_strerror(code))) (url: \(url))")
            }
            return nil
        }
        var status = 0
        _ = swiftlet_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        return (status, sink.bytes)
    }
}

/// The reply body as it arrives.
final class RuxcBody {
    var bytes: [UInt8] = []
}

private func ruxcBodyWrite(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    let n = size * count
    guard let data, let user else { return n }
    Unmanaged<RuxcBody>.fromOpaque(user).takeUnretainedValue().bytes.append(
        contentsOf: UnsafeRawBufferPointer(start: data, count: n))
    return n
}

import CCurl
import SwiftletSDK

/// libcurl's process-wide state and the log lines of failed requests.
enum CurlGlobal {
    /// CURLPROTO_HTTP | CURLPROTO_HTTPS: the module only speaks HTTP and HTTPS.
    static let httpProtocols = 1 | 2

    /// curl_global_init(CURL_GLOBAL_ALL), CURL_GLOBAL_ALL being 3.
    private static let once: Void = { _ = curl_global_init(3) }()

    /// `curl_global_init(CURL_GLOBAL_ALL)`, once per process (mod_init).
    static func initialize() { _ = once }

    /// libcurl's text for an error code (`curl_easy_strerror`).
    static func errorText(_ code: Int) -> String {
        String(cString: curl_easy_strerror(CURLcode(rawValue: UInt32(truncatingIfNeeded: code))))
    }

    /// The libcurl version and its TLS library, for the start-up log.
    static var version: String {
        guard let info = curl_version_info(CURLVERSION_ELEVENTH) else { return "?" }
        let v = info.pointee.version.map { String(cString: $0) } ?? "?"
        let ssl = info.pointee.ssl_version.map { String(cString: $0) } ?? "none"
        return "\(v) SSL \(ssl)"
    }

    /// Logs a failed transfer as Kamailio's http_client does (a warning for the usual
    /// network and TLS failures, an error otherwise).
    static func logFailure(_ code: CURLcode, url: String, proxy: String?) {
        let text: String?
        switch code {
        case CURLE_COULDNT_CONNECT: text = "failed to connect() to host"
        case CURLE_COULDNT_RESOLVE_HOST: text = "Couldn't resolve host"
        case CURLE_COULDNT_RESOLVE_PROXY:
            Log.warning("http_client", "Couldn't resolve http proxy host (url: \(url) - proxy: \(proxy ?? ""))")
            return
        case CURLE_UNSUPPORTED_PROTOCOL: text = "URL Schema not supported by curl"
        case CURLE_URL_MALFORMAT: text = "Malformed URL used in http client"
        case CURLE_OUT_OF_MEMORY: text = "Curl library out of memory"
        case CURLE_OPERATION_TIMEDOUT: text = "Curl library timed out on request"
        case CURLE_SSL_CONNECT_ERROR: text = "TLS error in curl connection"
        case CURLE_SSL_CERTPROBLEM: text = "TLS local certificate error"
        case CURLE_SSL_CIPHER: text = "TLS cipher error"
        case CURLE_SSL_CACERT_BADFILE: text = "TLS CA certificate read error"
        case CURLE_SSL_ISSUER_ERROR: text = "TLS issuer certificate check error"
        case CURLE_PEER_FAILED_VERIFICATION: text = "TLS verification error"
        case CURLE_TOO_MANY_REDIRECTS: text = "Too many redirects"
        default: text = nil
        }
        if let text {
            Log.warning("http_client", "\(text) (url: \(url))")
        } else {
            Log.error("http_client", "failed to perform curl (\(code.rawValue)) (url: \(url))")
        }
    }
}

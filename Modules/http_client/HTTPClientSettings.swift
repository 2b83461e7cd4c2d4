import SwiftletSDK

/// The module parameters (Kamailio 5.6's defaults): the defaults of every connection and of
/// `http_client_query`/`http_client_get`.
struct HTTPClientSettings {
    /// `connection_timeout`: seconds for a whole request (0 is refused at start-up: 4).
    var connectionTimeout = 4
    /// `cacert`: CA certificates (PEM) to verify servers with; nil: libcurl's default bundle.
    var caCert: String?
    var clientCert: String?
    var clientKey: String?
    var cipherSuites: String?
    /// `tlsversion`: libcurl's CURL_SSLVERSION_* (0 default, 1 TLSv1, ... 6 TLSv1.2, 7 TLSv1.3).
    var tlsVersion = 0
    var verifyPeer = 1
    var verifyHost = 2
    var httpProxy: String?
    var httpProxyPort = 0
    /// `httpredirect`: follow 3xx Location (Kamailio's code defaults to 0, its README says 1).
    var followRedirects = 0
    var keepConnections = 0
    var userAgent = HTTPClientSettings.defaultUserAgent
    /// `maxdatasize`: bytes of a connection's reply body kept (0: all).
    var maxDataSize = 0
    /// `authmethod`: CURLAUTH_* bits (1 Basic, 2 Digest, 4 Negotiate, 8 NTLM, 16 Digest IE).
    var authMethod = 3
    var netInterface: String?
    /// `query_result`: 1 keeps the first line of `http_client_query`'s body, 0 all of it.
    var queryResult = 1
    /// `query_maxdatasize`: bytes of `http_client_query`'s body kept (0: all).
    var queryMaxDataSize = 0
    /// `config_file`: connection definitions in sections.
    var configFile: String?

    /// Kamailio's CURL_USER_AGENT: `NAME (VERSION (ARCH/OS))`.
    static let defaultUserAgent: String = {
        #if arch(x86_64)
            let arch = "x86_64"
        #elseif arch(arm64)
            let arch = "aarch64"
        #else
            let arch = "unknown"
        #endif
        return "swiftlet (\(Core.version) (\(arch)/linux))"
    }()

    /// libcurl's CURL_SSLVERSION_LAST: `tlsversion` values from here on are refused.
    static let tlsVersionLast = 8

    /// The module parameters, each setting a field.
    static func parameters(_ set: @escaping ((inout HTTPClientSettings) -> Void) -> Void) -> [ModuleParameter] {
        func int(_ name: String, _ apply: @escaping (inout HTTPClientSettings, Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set { apply(&$0, v) } })
        }
        func string(_ name: String, _ apply: @escaping (inout HTTPClientSettings, String?) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set { apply(&$0, v.isEmpty ? nil : v) } })
        }
        return [
            int("connection_timeout") { $0.connectionTimeout = $1 },
            string("cacert") { $0.caCert = $1 },
            string("client_cert") { $0.clientCert = $1 },
            string("client_key") { $0.clientKey = $1 },
            string("cipher_suites") { $0.cipherSuites = $1 },
            int("tlsversion") { $0.tlsVersion = $1 },
            int("verify_peer") { $0.verifyPeer = $1 },
            int("verify_host") { $0.verifyHost = $1 },
            int("httpproxyport") { $0.httpProxyPort = $1 },
            string("httpproxy") { $0.httpProxy = $1 },
            int("httpredirect") { $0.followRedirects = $1 },
            string("useragent") { $0.userAgent = $1 ?? "" },
            int("maxdatasize") { $0.maxDataSize = $1 },
            string("config_file") { $0.configFile = $1 },
            int("authmethod") { $0.authMethod = $1 },
            int("keep_connections") { $0.keepConnections = $1 },
            int("query_result") { $0.queryResult = $1 },
            int("query_maxdatasize") { $0.queryMaxDataSize = $1 },
            string("netinterface") { $0.netInterface = $1 },
        ]
    }

    /// The request of `http_client_query`/`http_client_get` (Kamailio's `http_client_request_c`).
    func query(url: String, method: String?, body: String?, contentType: String?, headers: String?) -> CurlQuery {
        var q = CurlQuery(method: method, url: url)
        q.authMethod = authMethod
        q.contentType = contentType
        q.headers = headers
        q.body = body
        q.tlsVersion = tlsVersion
        q.verifyPeer = verifyPeer != 0
        q.verifyHost = verifyHost != 0
        q.timeout = connectionTimeout
        q.followRedirects = followRedirects != 0
        q.firstLineOnly = queryResult != 0
        q.maxDataSize = queryMaxDataSize
        q.netInterface = netInterface
        q.userAgent = userAgent.isEmpty ? nil : userAgent
        if let p = httpProxy {
            q.proxy = p
            if httpProxyPort > 0 { q.proxyPort = httpProxyPort }
        }
        q.clientCert = clientCert
        q.clientKey = clientKey
        q.caCert = caCert
        q.cipherSuites = cipherSuites
        return q
    }
}

import SwiftletSDK

/// A named connection (`httpcon` or a section of `config_file`; Kamailio's `curl_con_t`):
/// a base URL and the settings its requests use, fixed at start-up.
struct HTTPConnection {
    var name: String
    /// `http` or `https`.
    var schema: String
    /// The base URL after `schema://` (credentials removed).
    var url: String
    var username: String?
    var password: String?
    var failover: String?
    var authMethod: Int
    var keepConnections: Bool
    var useragent: String
    var clientCert: String?
    var clientKey: String?
    var cipherSuites: String?
    var tlsVersion: Int
    var verifyPeer: Int
    var verifyHost: Int
    var timeout: Int
    var maxDataSize: Int
    var followRedirects: Int
    var httpProxy: String?
    var httpProxyPort: Int

    /// A connection with the module defaults as they are when it is defined.
    init(name: String, schema: String, url: String, defaults d: HTTPClientSettings) {
        self.name = name
        self.schema = schema
        self.url = url
        authMethod = d.authMethod
        keepConnections = d.keepConnections != 0
        useragent = d.userAgent
        clientCert = d.clientCert
        clientKey = d.clientKey
        cipherSuites = d.cipherSuites
        tlsVersion = d.tlsVersion
        verifyPeer = d.verifyPeer
        verifyHost = d.verifyHost
        timeout = d.connectionTimeout
        maxDataSize = d.maxDataSize
        followRedirects = d.followRedirects
        if d.httpProxyPort > 0 {
            httpProxyPort = d.httpProxyPort
            httpProxy = d.httpProxy
        } else {
            httpProxyPort = 0
        }
    }

    /// The full URL of a request: the base URL, then `path` (a `/` put between when it has
    /// none), as Kamailio's `curl_con_query_url`.
    func requestURL(_ path: String?) -> String {
        guard let path, !path.isEmpty else { return "\(schema)://\(url)" }
        return "\(schema)://\(url)\(path.hasPrefix("/") ? "" : "/")\(path)"
    }

    /// The request for this connection (module-wide: `cacert`, `netinterface`).
    func query(url: String, contentType: String?, body: String?, settings: HTTPClientSettings) -> CurlQuery {
        var q = CurlQuery(method: nil, url: url)
        q.username = username
        q.password = password
        q.authMethod = authMethod
        q.contentType = contentType ?? "text/plain"
        q.body = body
        q.clientCert = clientCert
        q.clientKey = clientKey
        q.caCert = settings.caCert
        q.cipherSuites = cipherSuites
        q.tlsVersion = tlsVersion
        q.userAgent = useragent
        q.verifyPeer = verifyPeer != 0
        q.verifyHost = verifyHost != 0
        q.timeout = timeout
        q.followRedirects = followRedirects != 0
        q.maxDataSize = maxDataSize
        q.netInterface = settings.netInterface
        q.proxyPort = httpProxyPort
        q.proxy = httpProxy
        return q
    }

    /// Parses an `httpcon` value, `name => schema://[user[:password]@]host/path[;param=value...]`,
    /// with the defaults set so far (Kamailio's `curl_parse_param`). Unknown parameters are
    /// logged and ignored, bad values logged and replaced by the default, as Kamailio does.
    init(parsing text: String, defaults d: HTTPClientSettings) throws(FixupError) {
        let bad = FixupError("http_client: invalid curl parameter [\(text)]")
        guard let eq = text.firstIndex(of: "="), text[eq...].hasPrefix("=>") else { throw bad }
        let name = text[..<eq].trimmingCharacters()
        guard !name.isEmpty, !name.contains(" "), !name.contains("\t") else { throw bad }
        let rest = text[text.index(eq, offsetBy: 2)...].trimmingCharacters()
        guard let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") else { throw bad }
        let schema = String(rest[..<colon])
        var remainder = String(rest[rest.index(colon, offsetBy: 3)...])
        var user: String?
        var password: String?
        if let at = remainder.firstIndex(of: "@") {
            let credentials = remainder[..<at]
            if let c = credentials.firstIndex(of: ":") {
                user = String(credentials[..<c])
                password = String(credentials[credentials.index(after: c)...])
            } else {
                user = String(credentials)
            }
            remainder = String(remainder[remainder.index(after: at)...])
        }
        var params: Substring = ""
        if let semi = remainder.firstIndex(of: ";") {
            params = remainder[remainder.index(after: semi)...]
            remainder = String(remainder[..<semi])
        }
        self.init(name: name, schema: schema, url: remainder, defaults: d)
        username = user
        self.password = password
        for item in params.split(separator: ";") {
            let kv = item.split(separator: "=", maxSplits: 1)
            let key = kv[0].trimmingCharacters()
            let value = kv.count > 1 ? kv[1].trimmingCharacters() : ""
            applyParameter(key, value, defaults: d)
        }
    }

    private mutating func applyParameter(_ key: String, _ value: String, defaults d: HTTPClientSettings) {
        func number(_ fallback: Int, allowed: ((Int) -> Bool)? = nil) -> Int {
            if let n = Int(value), n >= 0, allowed?(n) ?? true { return n }
            Log.warning("http_client", "curl connection [\(name)]: \(key) bad value. Using default")
            return fallback
        }
        switch key {
        case "httpredirect": followRedirects = number(d.followRedirects) { $0 <= 1 }
        case "timeout": timeout = number(d.connectionTimeout)
        case "useragent": useragent = value
        case "failover": failover = value
        case "maxdatasize": maxDataSize = number(d.maxDataSize)
        case "verify_peer": verifyPeer = number(d.verifyPeer) { $0 <= 1 }
        case "verify_host": verifyHost = number(d.verifyHost)
        case "tlsversion": tlsVersion = number(d.tlsVersion) { $0 < HTTPClientSettings.tlsVersionLast }
        case "client_cert": clientCert = value
        case "client_key": clientKey = value
        case "cipher_suites": cipherSuites = value
        default: Log.error("http_client", "curl Unknown parameter [\(key)]")
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    func trimmingCharacters() -> String {
        String(self).trimmingCharacters()
    }
}

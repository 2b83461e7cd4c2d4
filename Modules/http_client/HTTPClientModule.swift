import SwiftletSDK

/// The `http_client` module: HTTP requests from the script on libcurl (`http_client_query`,
/// `http_client_get`, `http_connect`, `http_connect_raw`, `http_get_redirect`, `$curlerror`,
/// `httpclient.listcon`) and for other modules (`HTTPClientAPI`, Kamailio's `httpc_api_t`).
/// Requests block the worker that makes them, as in Kamailio. The settings and connections
/// are fixed once mod_init is done (hence `@unchecked Sendable`); per-request state is per
/// thread (`HTTPClientThreadState`).
final class HTTPClientModule: HTTPClientAPI, @unchecked Sendable {
    var settings = HTTPClientSettings()
    /// The connections, newest first (Kamailio's `_curl_con_root` list order).
    var connections: [HTTPConnection] = []
    private var byName: [String: Int] = [:]
    let slot = HTTPClientThreadState.newSlot()
    var connectionsCounter: CounterHandle?
    var connOK: CounterHandle?
    var connFail: CounterHandle?

    var exports: ModuleExports {
        let e = ModuleExports(name: "http_client")
        e.parameters =
            HTTPClientSettings.parameters { change in change(&self.settings) } + [
                ModuleParameter(
                    "httpcon",
                    .string { (v: String) throws(FixupError) in
                        try self.add(HTTPConnection(parsing: v, defaults: self.settings))
                    })
            ]
        e.functions = functions
        e.pseudoVariables = [curlErrorPV]
        e.rpcs = rpcs
        e.provide(self, as: HTTPClientAPI.self)
        e.initialize = { _ in try self.initialize() }
        e.destroy = { HTTPClientThreadState.current.remove(self.slot) }
        return e
    }

    /// Kamailio's mod_init: libcurl, counters, `config_file`, the checks of the defaults.
    func initialize() throws(FixupError) {
        CurlGlobal.initialize()
        if settings.tlsVersion >= HTTPClientSettings.tlsVersionLast {
            Log.warning("http_client", "tlsversion \(settings.tlsVersion) unsupported value. Using libcurl default")
            settings.tlsVersion = 0
        }
        if let file = settings.configFile {
            for c in try HTTPConnectionFile.load(file, defaults: settings).reversed() { try add(c) }
        }
        if settings.connectionTimeout == 0 {
            Log.error("http_client", "CURL connection timeout set to zero. Using default 4 secs")
            settings.connectionTimeout = 4
        }
        if settings.httpProxyPort == 0 { Log.info("http_client", "HTTP proxy port set to 0. Disabling HTTP proxy") }
        let counters = Counters.shared
        connectionsCounter = try counters.register(
            group: "httpclient", name: "connections", description: "Counter of connection definitions (httpcon)",
            existingIsFine: true)
        connOK = try counters.register(
            group: "httpclient", name: "connok", description: "Counter of successful connections (200 OK)",
            existingIsFine: true)
        connFail = try counters.register(
            group: "httpclient", name: "connfail", description: "Counter of failed connections (not 200 OK)",
            existingIsFine: true)
        connectionsCounter?.add(connections.count)
        Log.debug("http_client", "init http_client module done. Curl version: \(CurlGlobal.version)")
    }

    func add(_ c: HTTPConnection) throws(FixupError) {
        guard byName[c.name] == nil else { throw FixupError("http_client: duplicate Curl connection name [\(c.name)]") }
        connections.insert(c, at: 0)
        byName = Dictionary(uniqueKeysWithValues: connections.enumerated().map { ($1.name, $0) })
    }

    func connection(_ name: String) -> HTTPConnection? { byName[name].map { connections[$0] } }

    /// Runs a request and counts it (connok for 200, connfail otherwise).
    func run(_ q: CurlQuery, on transfer: CurlTransfer) -> CurlOutcome {
        let outcome = transfer.perform(q)
        if outcome.code == 200 { connOK?.increment() } else { connFail?.increment() }
        return outcome
    }

    /// `http_client_query`/`http_client_get` (Kamailio's `http_client_request_c`).
    func request(url: String, method: String?, body: String?, contentType: String?, headers: String?) -> HTTPClientReply
    {
        guard let transfer = CurlTransfer() else {
            Log.error("http_client", "Failed to initialize curl connection")
            return HTTPClientReply(code: -1, body: "")
        }
        let q = settings.query(url: url, method: method, body: body, contentType: contentType, headers: headers)
        let o = run(q, on: transfer)
        return HTTPClientReply(code: o.code, body: o.body)
    }

    /// `http_connect` on a connection, with its failover connection when it fails with a
    /// libcurl error or a 5xx (Kamailio's `curl_con_query_url_f`: one failover step).
    func connect(connection name: String, path: String?, contentType: String?, body: String?, depth: Int = 0)
        -> HTTPClientReply
    {
        guard let c = connection(name) else {
            Log.error("http_client", "No cURL connection found: \(name)")
            return HTTPClientReply(code: -1, body: "")
        }
        let state = HTTPClientThreadState.current.connection(slot, name)
        state.contentType = ""
        state.redirectURL = ""
        let transfer: CurlTransfer
        if let kept = state.transfer {
            transfer = kept
        } else if let t = CurlTransfer() {
            transfer = t
        } else {
            Log.error("http_client", "Failed to initialize curl connection")
            return HTTPClientReply(code: -1, body: "")
        }
        state.transfer = c.keepConnections ? transfer : nil
        let q = c.query(
            url: c.requestURL(path), contentType: contentType, body: body.flatMap { $0.isEmpty ? nil : $0 },
            settings: settings)
        let o = run(q, on: transfer)
        state.queryTime = o.totalTime
        state.lastResult = o.code
        if !o.transportFailed {
            state.contentType = o.contentType
            state.redirectURL = o.effectiveURL
        }
        let failed = o.transportFailed || o.code >= 500
        if failed, let failover = c.failover {
            Log.error("http_client", "FAILURE: Trying failover to curl con (\(failover))")
            if depth + 1 < 2 {
                return connect(connection: failover, path: path, contentType: contentType, body: body, depth: depth + 1)
            }
        }
        return HTTPClientReply(code: o.code, body: o.body)
    }

    // MARK: HTTPClientAPI

    func query(_ ctx: MessageContext?, url: String, body: String?, contentType: String?, headers: String?)
        -> HTTPClientReply
    {
        request(
            url: url, method: nil, body: body.flatMap { $0.isEmpty ? nil : $0 }, contentType: contentType,
            headers: headers.flatMap { $0.isEmpty ? nil : $0 })
    }

    func connect(_ ctx: MessageContext?, connection: String, url: String?, contentType: String?, body: String?)
        -> HTTPClientReply
    {
        connect(connection: connection, path: url, contentType: contentType, body: body)
    }

    func connectionExists(_ connection: String) -> Bool { byName[connection] != nil }

    func contentType(connection: String) -> String? {
        guard connectionExists(connection) else { return nil }
        return HTTPClientThreadState.current.connection(slot, connection).contentType
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "http_client") { HTTPClientModule().exports }
}

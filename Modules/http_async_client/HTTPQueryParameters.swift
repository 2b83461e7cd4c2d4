import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP method of a query (`$http_req(method)`); `.automatic` lets libcurl choose: GET,
/// or POST when there is a body (Kamailio's `AH_METH_DEFAULT`).
enum HTTPQueryMethod: Sendable {
    case automatic, get, post, put, delete

    /// Kamailio's `query_params_set_method`: GET, POST, PUT or DELETE, case-insensitive; nil
    /// for any other method. As Kamailio (`strncasecmp` with the value's length), a prefix of
    /// a name matches (`"PO"` is POST).
    init?(name: String) {
        let upper = name.uppercased()
        guard !upper.isEmpty else { return nil }
        if "GET".hasPrefix(upper) {
            self = .get
        } else if "POST".hasPrefix(upper) {
            self = .post
        } else if "PUT".hasPrefix(upper) {
            self = .put
        } else if "DELETE".hasPrefix(upper) {
            self = .delete
        } else {
            return nil
        }
    }

    /// The request line's method set with CURLOPT_CUSTOMREQUEST (nil: libcurl's choice).
    var customRequest: String? {
        switch self {
        case .automatic: nil
        case .get: "GET"
        case .post: "POST"
        case .put: "PUT"
        case .delete: "DELETE"
        }
    }
}

/// What one query is sent with (Kamailio's `struct query_params`): the module parameters'
/// values, changed for the next query of the worker with `$http_req(...)`.
struct HTTPQueryParameters: Sendable {
    var headers: [String] = []
    var body: String?
    var method = HTTPQueryMethod.automatic
    /// Milliseconds (`connection_timeout`).
    var timeout = 500
    var tlsVerifyHost = true
    var tlsVerifyPeer = true
    var tlsClientCert: String?
    var tlsClientKey: String?
    var tlsCAPath: String?
    var suspendTransaction = true
    var authMethod = 3
    var username: String?
    var password: String?
    var tcpKeepalive = 0
    var tcpKeepaliveIdle = 0
    var tcpKeepaliveInterval = 0
    var followRedirect = false
}

/// The parameters the next `http_async_query` of this thread uses (Kamailio keeps them per
/// process in `ah_params`); reset to the module's defaults after each query and by
/// `$http_req(all) = $null`.
final class PendingQueryParameters {
    var value: HTTPQueryParameters
    /// The module instance (configuration) they belong to.
    var owner: ObjectIdentifier

    init(_ value: HTTPQueryParameters, owner: ObjectIdentifier) {
        self.value = value
        self.owner = owner
    }

    /// This thread's parameters for the module `owner`, from its `defaults` on first use (and
    /// when the thread last served another instance: several configurations in one process).
    static func current(for owner: AnyObject, defaults: HTTPQueryParameters) -> PendingQueryParameters {
        let id = ObjectIdentifier(owner)
        if let raw = pthread_getspecific(key) {
            let state = Unmanaged<PendingQueryParameters>.fromOpaque(raw).takeUnretainedValue()
            if state.owner != id {
                state.owner = id
                state.value = defaults
            }
            return state
        }
        let state = PendingQueryParameters(defaults, owner: id)
        pthread_setspecific(key, Unmanaged.passRetained(state).toOpaque())
        return state
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            guard let raw else { return }
            Unmanaged<PendingQueryParameters>.fromOpaque(raw).release()
        }
        return key
    }()
}

import CCurl
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The libcurl handles a worker keeps with `http_reuse` (libruxc keeps its agents per
/// thread): one for every request (1) or one per `scheme://host:port` (2). A kept handle
/// keeps its connections open for the next request.
final class RuxcHandles {
    private var shared: UnsafeMutableRawPointer?
    private var byBase: [String: UnsafeMutableRawPointer] = [:]

    deinit {
        if let shared { curl_easy_cleanup(shared) }
        for h in byBase.values { curl_easy_cleanup(h) }
    }

    private static let globalInit: Void = { _ = curl_global_init(3) }()  // CURL_GLOBAL_ALL

    /// Runs `body` with the handle for `url` under `reuse`; nil when no handle could be made.
    static func withHandle<T>(url: String, reuse: Int, _ body: (UnsafeMutableRawPointer) -> T?) -> T? {
        _ = globalInit
        switch reuse {
        case 1, 2:
            let me = current
            let key = reuse == 1 ? "" : baseURL(url)
            let handle: UnsafeMutableRawPointer
            if reuse == 1, let h = me.shared {
                handle = h
            } else if reuse == 2, let h = me.byBase[key] {
                handle = h
            } else {
                guard let h = curl_easy_init() else { return nil }
                if reuse == 1 { me.shared = h } else { me.byBase[key] = h }
                handle = h
            }
            return body(handle)
        default:
            guard let h = curl_easy_init() else { return nil }
            defer { curl_easy_cleanup(h) }
            return body(h)
        }
    }

    /// `scheme://host:port` of a URL, the port defaulted from the scheme (libruxc's key).
    static func baseURL(_ url: String) -> String {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return url }
        let scheme = url[..<colon].lowercased()
        var rest = url[url.index(colon, offsetBy: 3)...]
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        let hasPort = rest.hasPrefix("[") ? rest.contains("]:") : rest.contains(":")
        return hasPort ? "\(scheme)://\(rest)" : "\(scheme)://\(rest):\(scheme == "https" ? 443 : 80)"
    }

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<RuxcHandles>.fromOpaque(p).release() }
        }
        return key
    }()

    private static var current: RuxcHandles {
        if let p = pthread_getspecific(key) { return Unmanaged<RuxcHandles>.fromOpaque(p).takeUnretainedValue() }
        let s = RuxcHandles()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }
}

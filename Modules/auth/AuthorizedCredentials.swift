import SwiftletSDK
import SwiftletSIP

#if canImport(Glibc)
    import Glibc
#endif

/// The credentials the last check of a request used (Kamailio's `mark_authorized_cred`),
/// which `consume_credentials()` removes. Kept per worker thread for the request the thread
/// runs. The context is held strongly until the thread checks another request: a weak
/// reference would give every checked context a side table (an allocation, and a slower
/// release), and while it is held its address cannot be reused by a later context, so the
/// identity check never mistakes a new request for the old one.
final class AuthorizedCredentials {
    var context: MessageContext?
    var authorization: HeaderField?
    var proxyAuthorization: HeaderField?
    var consumed = false

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { p in
            if let p { Unmanaged<AuthorizedCredentials>.fromOpaque(p).release() }
        }
        return k
    }()

    private static var current: AuthorizedCredentials {
        if let p = pthread_getspecific(key) {
            return Unmanaged<AuthorizedCredentials>.fromOpaque(p).takeUnretainedValue()
        }
        let s = AuthorizedCredentials()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }

    /// The state for `ctx`, reset when the thread moved on to another request.
    private static func state(_ ctx: MessageContext) -> AuthorizedCredentials {
        let s = current
        if s.context !== ctx {
            s.context = ctx
            s.authorization = nil
            s.proxyAuthorization = nil
            s.consumed = false
        }
        return s
    }

    /// Marks `field` as the credentials of `kind` that were checked.
    static func mark(_ ctx: MessageContext, _ field: HeaderField, _ kind: DigestCredentialsHeader) {
        let s = state(ctx)
        if kind == .authorization { s.authorization = field } else { s.proxyAuthorization = field }
    }

    /// `consume_credentials`: removes the checked `Authorization` (else `Proxy-Authorization`)
    /// header from the request as it is sent on. 1, or -1 when none was checked.
    static func consume(_ ctx: MessageContext) -> Int {
        switch ctx.message.method {
        case .ack, .cancel, .prack: return -1
        default: break
        }
        let s = state(ctx)
        guard let field = s.authorization ?? s.proxyAuthorization else {
            Log.error("auth", "No authorized credentials found (error in scripts)")
            return -1
        }
        if !s.consumed {
            ctx.edits.removeHeader(field)
            s.consumed = true
        }
        return 1
    }
}

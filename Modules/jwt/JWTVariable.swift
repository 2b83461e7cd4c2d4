import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// What `$jwt(...)` reads: the last token `jwt_generate` built and the status of the last
/// `jwt_verify`, per worker thread (Kamailio keeps them per process; each of its workers is
/// one), kept from message to message as there.
final class JWTResults {
    /// `$jwt(val)`: nil until a `jwt_generate` succeeds; every call clears it first.
    var token: String?
    /// `$jwt(status)`: 0 at the start of every verification.
    var status = 0

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            if let raw { Unmanaged<JWTResults>.fromOpaque(raw).release() }
        }
        return key
    }()

    /// The results of the calling thread.
    static var current: JWTResults {
        if let raw = pthread_getspecific(key) { return Unmanaged<JWTResults>.fromOpaque(raw).takeUnretainedValue() }
        let results = JWTResults()
        pthread_setspecific(key, Unmanaged.passRetained(results).toOpaque())
        return results
    }

    /// `$jwt(val)` and `$jwt(status)`; another name is refused at start-up.
    static var pseudoVariableClass: PseudoVariableClass {
        PseudoVariableClass("jwt") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            switch pv.inner {
            case "val": return PseudoVariable(text: pv.text) { _ in current.token.map { .string($0) } ?? .null }
            case "status": return PseudoVariable(text: pv.text) { _ in .int(current.status) }
            default: throw FixupError("unknown inner name [\(pv.inner ?? "")] of $jwt")
            }
        }
    }
}

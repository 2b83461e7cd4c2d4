import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// `$async(data)`: the data of the `async_task_data` route running on this thread (null
/// elsewhere); `$async(gname)`: the name of the task worker group of this thread (null on
/// other threads).
enum AsyncVariable {
    static var pseudoVariableClass: PseudoVariableClass {
        PseudoVariableClass("async") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            switch pv.inner {
            case "data":
                return PseudoVariable(text: pv.text) { _ in currentData.map { .string($0) } ?? .null }
            case "gname":
                return PseudoVariable(text: pv.text) { ctx in
                    ctx.core.apis.lookup(AsyncTaskAPI.self)?.currentGroup.map { .string($0) } ?? .null
                }
            default:
                throw FixupError("unknown PV async name \(pv.inner ?? "")")
            }
        }
    }

    /// Runs `body` with `$async(data)` = `data` on this thread.
    static func withData(_ data: String, _ body: () -> Void) {
        let box = Unmanaged.passRetained(DataBox(data))
        let saved = pthread_getspecific(key)
        pthread_setspecific(key, box.toOpaque())
        body()
        pthread_setspecific(key, saved)
        box.release()
    }

    static var currentData: String? {
        guard let raw = pthread_getspecific(key) else { return nil }
        return Unmanaged<DataBox>.fromOpaque(raw).takeUnretainedValue().value
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    private final class DataBox {
        let value: String
        init(_ value: String) { self.value = value }
    }
}

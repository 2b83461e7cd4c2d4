import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The payload of the NATS message whose event route runs on this thread (`$natsData`):
/// set by the subscriber thread around the route, nil elsewhere.
final class NATSMessageState {
    var payload: String?

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<NATSMessageState>.fromOpaque(p).release() }
        }
        return key
    }()

    /// This thread's state, made on first use.
    static var current: NATSMessageState {
        if let p = pthread_getspecific(key) { return Unmanaged<NATSMessageState>.fromOpaque(p).takeUnretainedValue() }
        let state = NATSMessageState()
        pthread_setspecific(key, Unmanaged.passRetained(state).toOpaque())
        return state
    }

    /// This thread's payload, without making a state.
    static var currentPayload: String? {
        guard let p = pthread_getspecific(key) else { return nil }
        return Unmanaged<NATSMessageState>.fromOpaque(p).takeUnretainedValue().payload
    }

    /// `$natsData`: the payload of the consumed message; `$null` outside its event route.
    static var pseudoVariableClass: PseudoVariableClass {
        PseudoVariableClass("natsData") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            PseudoVariable(text: pv.text) { _ in currentPayload.map { .string($0) } ?? .null }
        }
    }
}

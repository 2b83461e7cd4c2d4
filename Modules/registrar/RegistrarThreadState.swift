import Glibc
import SwiftletSDK

/// What registrar keeps per worker thread between its calls, as Kamailio keeps it per
/// process: the reason of the last `save()` (`rerrno`) and the Contact header prepared for
/// the reply, for a later `reg_send_reply()`; and the contact profiles of
/// `reg_fetch_contacts()`.
final class RegistrarThreadState {
    var reason: RegistrarError = .fine
    /// The `Contact: ...\r\n` line of the last save, empty for none.
    var contactHeader: [UInt8] = []
    /// The Path vector of the last save, for the reply's `Path:` header.
    var path = ""
    var profiles: [String: FetchedContacts] = [:]
    /// The q of the contact the last `lookup()` put in the R-URI (the core has no R-URI q).
    var ruriQ = UsrlocContact.qUnspecified
    /// The socket of the last saved REGISTER and its `sock_str` (made once per socket).
    private var lastSocket: ListeningSocket?
    private var lastSocketString = ""

    /// `socket.socketString`, remembered for the socket of the previous call.
    func socketString(_ socket: ListeningSocket) -> String {
        if socket !== lastSocket {
            lastSocket = socket
            lastSocketString = socket.socketString
        }
        return lastSocketString
    }

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { p in
            if let p { Unmanaged<RegistrarThreadState>.fromOpaque(p).release() }
        }
        return k
    }()

    /// This thread's state, created on first use.
    static var current: RegistrarThreadState {
        if let p = pthread_getspecific(key) {
            return Unmanaged<RegistrarThreadState>.fromOpaque(p).takeUnretainedValue()
        }
        let s = RegistrarThreadState()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }
}

extension Array where Element == UInt8 {
    /// The bytes of `range` as a String.
    func text(_ range: Range<Int>) -> String { String(decoding: self[range], as: UTF8.self) }
}

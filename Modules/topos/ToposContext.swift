import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `tps_set_context()`'s value, per thread as Kamailio keeps it per process
/// (`_tps_context_value`): emptied when a message is received (before the topos event
/// routes run), set by the script, used for what is recorded and sent on the same thread
/// until the next message comes.
final class ToposThreadContext {
    private var values: [Int: String] = [:]

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<ToposThreadContext>.fromOpaque(p).release() }
        }
        return key
    }()

    private static let lastSlot = Atomic<Int>(0)

    /// A slot for a new topos instance (several cores may share a process in tests).
    static func newSlot() -> Int { lastSlot.add(1, ordering: .relaxed).newValue }

    private static var current: ToposThreadContext {
        if let p = pthread_getspecific(key) {
            return Unmanaged<ToposThreadContext>.fromOpaque(p).takeUnretainedValue()
        }
        let s = ToposThreadContext()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }

    /// The value of instance `slot` on the calling thread ("" when none is set).
    static func value(_ slot: Int) -> String { current.values[slot] ?? "" }

    /// Sets (or, with "", clears) the value of instance `slot` on the calling thread.
    static func set(_ slot: Int, _ value: String) {
        let c = current
        if value.isEmpty {
            if c.values[slot] != nil { c.values[slot] = nil }
        } else {
            c.values[slot] = value
        }
    }
}

extension ToposEngine {
    /// The context of what is recorded now (Kamailio's `_tps_context_value`, else the
    /// `context` parameter).
    var currentContext: String {
        let v = ToposThreadContext.value(contextSlot)
        return v.isEmpty ? settings.context : v
    }

    /// Kamailio's `tps_pack_message` with the current context.
    func pack(_ msg: SIPMessage) -> TopologyRecord? {
        guard var td = toposPack(msg, settings) else { return nil }
        td.xContext = currentContext
        return td
    }
}

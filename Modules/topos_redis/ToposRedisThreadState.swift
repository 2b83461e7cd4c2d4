import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What each thread keeps of the records the message it handles read (per storage
/// instance): filled between `beginMessage` and `endMessage`, so only for the records of one
/// received message and of what it causes to be sent.
final class ToposRedisThreadState {
    /// A hash as read (or as written since), and whether the key exists.
    struct Kept {
        var record: TopologyRecord
        var exists: Bool
    }

    final class Records {
        /// True between `beginMessage` and `endMessage`.
        var keeping = false
        /// By Redis key.
        var kept: [String: Kept] = [:]
    }

    private var instances: [Int: Records] = [:]

    func records(_ slot: Int) -> Records {
        if let r = instances[slot] { return r }
        let r = Records()
        instances[slot] = r
        return r
    }

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<ToposRedisThreadState>.fromOpaque(p).release() }
        }
        return key
    }()

    private static let lastSlot = Atomic<Int>(0)

    /// A slot for a new storage instance (several cores may share a process in tests).
    static func newSlot() -> Int { lastSlot.add(1, ordering: .relaxed).newValue }

    /// The calling thread's state.
    static var current: ToposRedisThreadState {
        if let p = pthread_getspecific(key) {
            return Unmanaged<ToposRedisThreadState>.fromOpaque(p).takeUnretainedValue()
        }
        let s = ToposRedisThreadState()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }
}

/// The hash fields of topos' records (Kamailio's names) and where they go in a
/// `TopologyRecord`: what a dialog load takes (its text fields and `iflags`) and what a
/// branch load takes (its text fields; `x_vbranch` is `xVBranch1`). `rectime` and
/// `direction` are not read back.
enum ToposRedisFields {
    /// Sets the field `name` of `record` from a hash field.
    static func set(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, in record: inout TopologyRecord) {
        set(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self), in: &record)
    }

    /// Sets the field `name` of `record` (unknown names and `rectime`/`direction` are left out).
    static func set(_ name: String, _ value: String, in record: inout TopologyRecord) {
        switch name {
        case "a_callid": record.aCallID = value
        case "a_uuid": record.aUUID = value
        case "b_uuid": record.bUUID = value
        case "a_contact": record.aContact = value
        case "b_contact": record.bContact = value
        case "as_contact": record.asContact = value
        case "bs_contact": record.bsContact = value
        case "a_tag": record.aTag = value
        case "b_tag": record.bTag = value
        case "a_rr": record.aRR = value
        case "b_rr": record.bRR = value
        case "s_rr": record.sRR = value
        case "a_uri": record.aURI = value
        case "b_uri": record.bURI = value
        case "r_uri": record.rURI = value
        case "a_srcaddr": record.aSrcAddr = value
        case "b_srcaddr": record.bSrcAddr = value
        case "s_method": record.sMethod = value
        case "s_cseq": record.sCSeq = value
        case "x_context": record.xContext = value
        case "x_via": record.xVia = value
        case "x_vbranch": record.xVBranch1 = value
        case "x_rr": record.xRR = value
        case "y_rr": record.yRR = value
        case "x_uri": record.xURI = value
        case "x_tag": record.xTag = value
        case "iflags": record.iflags = Int(value) ?? 0
        default: break
        }
    }
}

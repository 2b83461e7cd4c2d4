import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// A recursive pthread mutex (Kamailio's dialog entries use recursive locks: a callback run
/// under a slot lock may look the dialog up again).
final class RecursiveLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() {
        var attr = pthread_mutexattr_t()
        pthread_mutexattr_init(&attr)
        pthread_mutexattr_settype(&attr, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attr)
        pthread_mutexattr_destroy(&attr)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always) func locked<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// The dialogs (Kamailio's `d_table`): `hash_size` slots chosen by the Call-ID's
/// `core_hash`, each with its lock, its dialogs and the next `h_id` to give.
final class DialogTable: @unchecked Sendable {
    final class Slot {
        let lock = RecursiveLock()
        var dialogs: [Dialog] = []
        var nextID: UInt32
        init(nextID: UInt32) { self.nextID = nextID }
    }

    let slots: [Slot]
    let mask: UInt32

    /// `size` is rounded down to a power of two (Kamailio does the same with `hash_size`).
    init(size: Int) {
        var n = 1
        while n * 2 <= max(1, size) { n *= 2 }
        mask = UInt32(n - 1)
        slots = (0..<n).map { _ in Slot(nextID: UInt32.random(in: 1...UInt32(3 * n))) }
    }

    /// The slot of a Call-ID (Kamailio's `core_hash(callid, 0, size)`).
    func entry(forCallID callID: String) -> UInt32 { CoreHash.hash(callID) & mask }

    /// Runs `body` under the lock of `dialog`'s slot.
    @inline(__always) func locked<R>(_ dialog: Dialog, _ body: () throws -> R) rethrows -> R {
        try slots[Int(dialog.hashEntry)].lock.locked(body)
    }

    /// Creates and links a dialog for the Call-ID (`build_new_dlg` + `link_dlg`).
    func create(
        callID: String, fromURI: String, toURI: String, requestURI: String, lifetime: Int, now: Int,
        configure: (Dialog) -> Void
    ) -> Dialog {
        let entry = entry(forCallID: callID)
        let slot = slots[Int(entry)]
        return slot.lock.locked {
            let id = slot.nextID
            slot.nextID = slot.nextID &+ 1
            if slot.nextID == 0 { slot.nextID = 1 }
            let d = Dialog(
                hashEntry: entry, hashID: id, callID: callID, fromURI: fromURI, toURI: toURI, requestURI: requestURI,
                lifetime: lifetime, initTime: now)
            configure(d)
            slot.dialogs.append(d)
            return d
        }
    }

    /// Links a dialog loaded from the database with its stored entry and id.
    func link(_ d: Dialog) {
        guard Int(d.hashEntry) < slots.count else { return }
        let slot = slots[Int(d.hashEntry)]
        slot.lock.locked {
            slot.dialogs.append(d)
            if d.hashID >= slot.nextID { slot.nextID = d.hashID &+ 1 }
        }
    }

    /// Removes the dialog from the table.
    func unlink(_ d: Dialog) {
        let slot = slots[Int(d.hashEntry)]
        slot.lock.locked {
            d.unlinked = true
            slot.dialogs.removeAll { $0 === d }
        }
    }

    /// The dialog with this entry and id (`dlg_lookup`).
    func lookup(entry: UInt32, id: UInt32) -> Dialog? {
        guard entry <= mask else { return nil }
        let slot = slots[Int(entry)]
        return slot.lock.locked { slot.dialogs.first { $0.hashID == id } }
    }

    /// The dialog matching Call-ID and tags in either direction (`get_dlg` / `match_dialog`),
    /// with the direction of the request. An empty `toTag` matches only the caller's side
    /// of a dialog whose callee tag is not known yet.
    func search(callID: String, fromTag: String, toTag: String) -> (Dialog, DialogDirection)? {
        let slot = slots[Int(entry(forCallID: callID))]
        return slot.lock.locked {
            for d in slot.dialogs where d.callID == callID {
                if d.tag[0] == fromTag, toTag.isEmpty || d.tag[1].isEmpty || d.tag[1] == toTag {
                    return (d, .downstream)
                }
                if !toTag.isEmpty, d.tag[0] == toTag, d.tag[1].isEmpty || d.tag[1] == fromTag {
                    return (d, .upstream)
                }
            }
            return nil
        }
    }

    /// The dialogs with this Call-ID and, when given, From tag (`dlg.dlg_list`).
    func dialogs(callID: String, fromTag: String?) -> [Dialog] {
        let slot = slots[Int(entry(forCallID: callID))]
        return slot.lock.locked {
            slot.dialogs.filter { $0.callID == callID && (fromTag == nil || $0.tag[0] == fromTag) }
        }
    }

    /// Every dialog, slot by slot (RPC listings, timers).
    var all: [Dialog] {
        var result: [Dialog] = []
        for slot in slots {
            slot.lock.locked { result.append(contentsOf: slot.dialogs) }
        }
        return result
    }
}

/// Kamailio's `core_hash(s, NULL, 0)` (core/hashes.h).
enum CoreHash {
    static func hash(_ text: String) -> UInt32 {
        var text = text
        return text.withUTF8 { utf8 in
            var h: UInt32 = 0
            // Kamailio reads `char`, signed on x86: bytes >= 0x80 count as negative values.
            func byte(_ i: Int) -> UInt32 { UInt32(bitPattern: Int32(Int8(bitPattern: utf8[i]))) }
            var p = 0
            let end = utf8.count
            while p + 4 <= end {
                let v = (byte(p) << 24) &+ (byte(p + 1) << 16) &+ (byte(p + 2) << 8) &+ byte(p + 3)
                h = h &+ (v ^ (v >> 3))
                p += 4
            }
            var v: UInt32 = 0
            while p < end {
                v = (v << 8) &+ byte(p)
                p += 1
            }
            h = h &+ (v ^ (v >> 3))
            return (h &+ (h >> 11)) &+ ((h >> 13) &+ (h >> 23))
        }
    }
}

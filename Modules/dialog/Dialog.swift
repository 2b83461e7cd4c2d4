import SwiftletSDK

/// The legs of a dialog (Kamailio's `DLG_CALLER_LEG`, `DLG_CALLEE_LEG`).
enum Leg: Int {
    case caller = 0
    case callee = 1
}

/// The events that move a dialog (Kamailio's `DLG_EVENT_*`).
enum DialogStateEvent: Int {
    case transactionDeleted = 1
    case reply1xx, reply2xx, reply3xx, prack, ack, bye, request
}

/// Kamailio's `DLG_FLAG_*` (dflags) and `DLG_IFLAG_*` (iflags) bits.
enum DialogFlags {
    static let new: UInt32 = 1 << 0
    static let changed: UInt32 = 1 << 1
    static let hasBye: UInt32 = 1 << 2
    static let callerBye: UInt32 = 1 << 4
    static let calleeBye: UInt32 = 1 << 5
    static let changedVars: UInt32 = 1 << 7
    static let transaction: UInt32 = 1 << 9
    static let expired: UInt32 = 1 << 10
    /// Kamailio gives `DLG_FLAG_CHANGED_PROF` the value of `DLG_FLAG_EXPIRED`.
    static let changedProfiles: UInt32 = 1 << 10

    static let timeoutBye: UInt32 = 1 << 0
    static let keepAliveSource: UInt32 = 1 << 1
    static let keepAliveDestination: UInt32 = 1 << 2
    static let timerNoReset: UInt32 = 1 << 3
    static let prack: UInt32 = 1 << 5
}

/// One profile membership of a dialog (Kamailio's `dlg_profile_link`).
struct ProfileLink: Equatable {
    let profile: String
    /// The value for profiles with values; nil for the others.
    let value: String?
}

/// A value per leg, caller first, stored inline (no array to allocate per dialog).
struct LegPair<T> {
    var caller: T
    var callee: T

    init(_ caller: T, _ callee: T) {
        self.caller = caller
        self.callee = callee
    }

    /// 0: the caller's, 1: the callee's (Kamailio's `DLG_CALLER_LEG`, `DLG_CALLEE_LEG`).
    subscript(leg: Int) -> T {
        get { leg == 0 ? caller : callee }
        set {
            if leg == 0 { caller = newValue } else { callee = newValue }
        }
    }
}

/// One dialog (Kamailio's `struct dlg_cell`). Its mutable fields are read and written under
/// the lock of its table slot (`DialogTable.locked`).
final class Dialog: @unchecked Sendable {
    let hashEntry: UInt32
    let hashID: UInt32
    let callID: String
    let fromURI: String
    let toURI: String
    let requestURI: String
    /// Per leg (caller, callee): tag, CSeq number as text, Contact URI, route set (the
    /// Record-Route values joined by ","), the socket the leg's messages came in on.
    var tag = LegPair("", "")
    var cseq = LegPair("", "")
    var contact = LegPair("", "")
    var routeSet = LegPair("", "")
    var socket = LegPair<ListeningSocket?>(nil, nil)
    var state = DialogState.unconfirmed
    /// Seconds the dialog may last once confirmed (`default_timeout`, `$avp(timeout)`, ...).
    var lifetime: Int
    /// Unix times: created, confirmed, ended.
    var initTime: Int
    var startTime = 0
    var endTime = 0
    var dflags: UInt32 = 0
    var sflags: UInt32 = 0
    var iflags: UInt32 = 0
    /// The route run on timeout (`$dlg_ctx(timeout_route)`), "" for none.
    var timeoutRoute = ""
    /// Variables in Kamailio's list order (the newest first).
    var variables: [(key: String, value: String)] = []
    var profiles: [ProfileLink] = []
    /// The number of Record-Route entries of the initial INVITE as received.
    var callerRecordRoutes = 0
    /// The timer tick the dialog times out at; nil when not on the timer.
    var timeoutTick: UInt64?
    /// When the next keep-alives are due (Unix time); nil when none are sent.
    var keepAliveDue: Int?
    /// Keep-alive failures per leg (`ka_failed_limit`).
    var keepAliveFailures = LegPair(0, 0)
    /// Final replies received to the BYEs the module sent.
    var byeReplies = 0
    /// Removed from the table.
    var unlinked = false

    init(
        hashEntry: UInt32, hashID: UInt32, callID: String, fromURI: String, toURI: String, requestURI: String,
        lifetime: Int, initTime: Int
    ) {
        self.hashEntry = hashEntry
        self.hashID = hashID
        self.callID = callID
        self.fromURI = fromURI
        self.toURI = toURI
        self.requestURI = requestURI
        self.lifetime = lifetime
        self.initTime = initTime
    }

    /// The `did` Record-Route value: entry and id in Kamailio's reversed hex, `.` between.
    var routeParameterValue: String { ReverseHex.encode(hashEntry) + "." + ReverseHex.encode(hashID) }

    /// The value of the variable `key`.
    func variable(_ key: String) -> String? { variables.first { $0.key == key }?.value }

    /// Sets (nil: removes) the variable `key`.
    func setVariable(_ key: String, _ value: String?) {
        variables.removeAll { $0.key == key }
        if let value { variables.insert((key, value), at: 0) }
        dflags |= DialogFlags.changedVars
    }

    /// Kamailio's `next_state_dlg`: the state after `event` (the caller leaves the profiles
    /// when the dialog becomes deleted).
    func apply(_ event: DialogStateEvent) -> (old: DialogState, new: DialogState) {
        let old = state
        state = DialogStateMachine.next(state, event, hasBye: dflags & DialogFlags.hasBye != 0)
        switch (event, old) {
        case (.bye, .confirmedWithoutAck), (.bye, .confirmed): dflags |= DialogFlags.hasBye
        case (.prack, .early), (.prack, .confirmedWithoutAck): iflags |= DialogFlags.prack
        default: break
        }
        return (old, state)
    }

    /// A copy for other modules.
    var snapshot: DialogSnapshot {
        DialogSnapshot(
            hashEntry: hashEntry, hashID: hashID, callID: callID, fromURI: fromURI, toURI: toURI,
            fromTag: tag[0], toTag: tag[1], state: state, initTime: initTime, startTime: startTime, endTime: endTime,
            variables: Dictionary(variables.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }))
    }
}

/// Kamailio's dialog state machine (`next_state_dlg` in dlg_hash.c), as a pure function.
enum DialogStateMachine {
    static func next(_ state: DialogState, _ event: DialogStateEvent, hasBye: Bool) -> DialogState {
        switch (event, state) {
        case (.transactionDeleted, .unconfirmed), (.transactionDeleted, .early): return .deleted
        case (.reply1xx, .unconfirmed), (.reply1xx, .early): return .early
        case (.reply3xx, .unconfirmed), (.reply3xx, .early): return .deleted
        case (.reply2xx, .deleted): return hasBye ? .deleted : .confirmedWithoutAck
        case (.reply2xx, .unconfirmed), (.reply2xx, .early): return .confirmedWithoutAck
        case (.ack, .confirmedWithoutAck): return .confirmed
        case (.bye, .confirmedWithoutAck), (.bye, .confirmed): return .deleted
        default: return state
        }
    }
}

/// Kamailio's `int2reverse_hex` / `reverse_hex2int`: hex digits, least significant first.
enum ReverseHex {
    static func encode(_ value: UInt32) -> String {
        if value == 0 { return "0" }
        // At most 8 digits, built as bytes (no Character array per call).
        var digits: (UInt64, UInt8) = (0, 0)
        var v = value
        return withUnsafeMutableBytes(of: &digits) { buffer in
            var n = 0
            while v != 0 {
                let d = UInt8(v & 0xF)
                buffer[n] = d < 10 ? UInt8(ascii: "0") + d : UInt8(ascii: "a") + d - 10
                n += 1
                v >>= 4
            }
            return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<n]), as: UTF8.self)
        }
    }

    static func decode<S: StringProtocol>(_ text: S) -> UInt32? {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= 8 else { return nil }
        var v: UInt32 = 0
        var shift: UInt32 = 0
        for c in bytes {
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v |= UInt32(d) << shift
            shift += 4
        }
        return v
    }
}

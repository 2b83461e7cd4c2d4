import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// What the module keeps about the message a thread is processing (Kamailio's `_dlg_ctx`
/// and the pending profile links and variables): only the message that set it sees it.
final class DialogMessageState {
    /// The dialog of the message (`dlg_get_ctx_dialog`).
    var dialog: Dialog?
    /// `$dlg_ctx(flags)`: flags the dialog created for the message gets (`dlg_setflag`
    /// before `dlg_manage`).
    var flags: UInt32 = 0
    /// Properties (`dlg_set_property`) the dialog created for the message gets.
    var iflags: UInt32 = 0
    /// `$dlg_ctx(timeout)`, `$dlg_ctx(timeout_bye)`, `$dlg_ctx(timeout_route)`, `$dlg_ctx(on)`.
    var timeout = 0
    var timeoutBye = 0
    var timeoutRoute = ""
    var on = 0
    /// `$dlg_ctx(dir)`: 1 downstream, 2 upstream, 0 unknown.
    var direction = 0
    /// Variables and profiles set before the dialog existed.
    var pendingVariables: [(key: String, value: String)] = []
    var pendingProfiles: [ProfileLink] = []
    /// The message was found to be a spiral of a known dialog.
    var spiral = false
    /// `$DLG_status` and `$DLG_lifetime` of the last in-dialog request.
    var lastStatus: (state: DialogState, lifetime: Int)?

    func reset() {
        dialog = nil
        flags = 0
        iflags = 0
        timeout = 0
        timeoutBye = 0
        timeoutRoute = ""
        on = 0
        direction = 0
        pendingVariables = []
        pendingProfiles = []
        spiral = false
        lastStatus = nil
    }
}

/// The per-thread states, each valid only for the message context that made it (as rr's
/// `MessageStates`). Event routes run on other contexts install theirs for the run and put
/// the previous one back afterwards.
enum DialogMessageStates {
    private final class Entry {
        var ctx: MessageContext?
        var state = DialogMessageState()
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { if let p = $0 { Unmanaged<Entry>.fromOpaque(p).release() } }
        return key
    }()

    private static var entry: Entry {
        if let p = pthread_getspecific(key) { return Unmanaged<Entry>.fromOpaque(p).takeUnretainedValue() }
        let e = Entry()
        pthread_setspecific(key, Unmanaged.passRetained(e).toOpaque())
        return e
    }

    /// The state of `ctx`, created (reset) when asked for.
    static func state(_ ctx: MessageContext) -> DialogMessageState {
        let e = entry
        if e.ctx !== ctx {
            e.ctx = ctx
            e.state.reset()
        }
        return e.state
    }

    /// The state of `ctx` when this thread has one.
    static func existing(_ ctx: MessageContext) -> DialogMessageState? {
        let e = entry
        return e.ctx === ctx ? e.state : nil
    }

    /// Runs `body` with `ctx`'s state holding `dialog`, then restores what the thread had.
    static func with<R>(_ ctx: MessageContext, dialog: Dialog?, _ body: () -> R) -> R {
        let e = entry
        let savedCtx = e.ctx
        let savedState = e.state
        e.ctx = ctx
        e.state = DialogMessageState()
        e.state.dialog = dialog
        defer {
            e.ctx = savedCtx
            e.state = savedState
        }
        return body()
    }

    /// Sets the dialog of `ctx` (a reply context, a failure route's request).
    static func setDialog(_ dialog: Dialog, for ctx: MessageContext) {
        state(ctx).dialog = dialog
    }
}

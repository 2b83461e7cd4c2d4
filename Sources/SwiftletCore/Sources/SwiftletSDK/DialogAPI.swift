/// The state of a dialog the dialog module tracks (Kamailio's `DLG_STATE_*`, same values).
public enum DialogState: Int, Sendable {
    /// The initial INVITE was seen, no reply yet.
    case unconfirmed = 1
    /// A provisional reply (101-199) was relayed.
    case early = 2
    /// A 2xx was relayed, its ACK has not arrived yet.
    case confirmedWithoutAck = 3
    /// The 2xx was ACKed.
    case confirmed = 4
    /// Ended: BYE, timeout, negative final reply.
    case deleted = 5
}

/// The events of a dialog other modules can follow (Kamailio's `DLGCB_*` types, with its
/// bit values).
public struct DialogCallbackTypes: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// The dialog was created (`DLGCB_CREATED`; global only).
    public static let created = DialogCallbackTypes(rawValue: 1 << 0)
    /// The initial INVITE failed (`DLGCB_FAILED`).
    public static let failed = DialogCallbackTypes(rawValue: 1 << 1)
    /// A 2xx was relayed (`DLGCB_CONFIRMED_NA`).
    public static let confirmedWithoutAck = DialogCallbackTypes(rawValue: 1 << 2)
    /// The ACK of the 2xx arrived (`DLGCB_CONFIRMED`).
    public static let confirmed = DialogCallbackTypes(rawValue: 1 << 3)
    /// An in-dialog request other than BYE (`DLGCB_REQ_WITHIN`).
    public static let requestWithin = DialogCallbackTypes(rawValue: 1 << 4)
    /// A BYE ended the dialog, or the module sent BYEs (`DLGCB_TERMINATED`).
    public static let terminated = DialogCallbackTypes(rawValue: 1 << 5)
    /// The dialog timed out (`DLGCB_EXPIRED`).
    public static let expired = DialogCallbackTypes(rawValue: 1 << 6)
    /// A provisional reply made the dialog early (`DLGCB_EARLY`).
    public static let early = DialogCallbackTypes(rawValue: 1 << 7)
}

/// What a dialog looks like to other modules: a copy taken under the dialog's lock.
public struct DialogSnapshot: Sendable {
    /// The hash entry and id (`$dlg(h_entry)`, `$dlg(h_id)`, `dlg.end_dlg`'s parameters).
    public let hashEntry: UInt32
    public let hashID: UInt32
    public let callID: String
    public let fromURI: String
    public let toURI: String
    /// The caller's (From) and callee's (To) tags; the callee's is empty before a reply.
    public let fromTag: String
    public let toTag: String
    public let state: DialogState
    /// Unix times: created, confirmed (0 before), ended (0 before).
    public let initTime: Int
    public let startTime: Int
    public let endTime: Int
    /// The dialog's variables (`$dlg_var(key)`).
    public let variables: [String: String]

    public init(
        hashEntry: UInt32, hashID: UInt32, callID: String, fromURI: String, toURI: String, fromTag: String,
        toTag: String, state: DialogState, initTime: Int, startTime: Int, endTime: Int, variables: [String: String]
    ) {
        self.hashEntry = hashEntry
        self.hashID = hashID
        self.callID = callID
        self.fromURI = fromURI
        self.toURI = toURI
        self.fromTag = fromTag
        self.toTag = toTag
        self.state = state
        self.initTime = initTime
        self.startTime = startTime
        self.endTime = endTime
        self.variables = variables
    }
}

/// What a dialog callback receives (Kamailio's `struct dlg_cb_params` with the cell).
public struct DialogEvent {
    /// The one type this call is for.
    public let type: DialogCallbackTypes
    /// The dialog as it is after the event.
    public let dialog: DialogSnapshot
    /// The request or reply that caused the event, when there is one.
    public let message: SIPMessage?

    public init(type: DialogCallbackTypes, dialog: DialogSnapshot, message: SIPMessage?) {
        self.type = type
        self.dialog = dialog
        self.message = message
    }
}

/// The dialog module's API for other modules (Kamailio's `load_dlg` / `struct dlg_binds`),
/// looked up with `core.apis.lookup(DialogAPI.self)`.
public protocol DialogAPI: AnyObject {
    /// Calls `callback` for the `types` events of every dialog (Kamailio's `register_dlgcb`
    /// with no dialog, extended to every type). Only before workers run (mod_init). The
    /// callback runs on the thread of the event, outside the dialog's lock.
    func registerCallback(_ types: DialogCallbackTypes, _ callback: @escaping (DialogEvent) -> Void)
    /// The dialog of the message in `context` (`dlg_get_ctx_dialog`, else matched by Call-ID
    /// and tags), nil when there is none.
    func dialog(for context: MessageContext) -> DialogSnapshot?
    /// The dialog with this Call-ID and tags (`get_dlg`; an empty `toTag` matches a dialog
    /// not answered yet).
    func dialog(callID: String, fromTag: String, toTag: String) -> DialogSnapshot?
    /// Sets (or, with nil, removes) a variable of the dialog (`set_dlg_var`); false when the
    /// dialog does not exist.
    @discardableResult
    func setVariable(hashEntry: UInt32, hashID: UInt32, key: String, value: String?) -> Bool
    /// Ends a confirmed dialog with a BYE to both sides (`dlg_bye_all`, `terminate_dlg`),
    /// `headers` added to each BYE (lines ending in CRLF); false when the dialog does not
    /// exist or is not confirmed.
    @discardableResult
    func terminate(hashEntry: UInt32, hashID: UInt32, headers: String) -> Bool
}

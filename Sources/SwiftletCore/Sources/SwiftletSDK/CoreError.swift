/// The core's internal error codes (Kamailio's `E_*` in `core/error.h`): what the last action
/// left in `ser_error`, turned into a reply by `sl_reply_error()`.
public enum CoreError: Int, Sendable, CaseIterable {
    case ok = 0
    case unspecified = -1
    case outOfMemory = -2
    case badRegex = -3
    case bug = -5
    case config = -6
    case noSocket = -7
    case badVia = -8
    case badTuple = -9
    case script = -10
    case exec = -11
    case tooManyBranches = -12
    case badTo = -13
    case invalidParameters = -14
    case qInvalidCharacter = -15
    case qEmpty = -16
    case qTooBig = -17
    case qDecimalMissing = -18
    case drop = -19
    /// Sending to the next hop failed.
    case send = -477
    /// The next hop could not be resolved.
    case badAddress = -478
    /// The next hop's URI could not be parsed.
    case badURI = -479
    case badProtocol = -480
    case badRequest = -400
    case canceled = -487
    case badServer = -500
    case adminProhibited = -510
    case blocklisted = -520

    /// The reply for this error, as Kamailio's `err2reason_phrase`: the status code and
    /// `text (N/signature)`, N the error code without its sign (`Unresolvable destination
    /// (478/SL)`).
    public func reply(signature: String) -> (code: Int, reason: String) {
        let (code, text): (Int, String) =
            switch self {
            case .send: (477, "Unfortunately error on sending to next hop occurred")
            case .badAddress: (478, "Unresolvable destination")
            case .badRequest: (400, "Bad Request")
            case .badURI: (479, "Regretfully, we were not able to process the URI")
            case .badTuple: (400, "Transaction tuple incomplete")
            case .badTo: (400, "Bad To")
            case .exec: (500, "Error in external logic")
            case .tooManyBranches: (500, "Forking capacity exceeded")
            case .qInvalidCharacter: (400, "Invalid character in q parameter")
            case .qEmpty: (400, "Empty q parameter")
            case .qTooBig: (400, "Q parameter too big")
            case .qDecimalMissing: (400, "Decimal part missing in q")
            case .canceled: (487, "Transaction canceled")
            // Kamailio does not disclose a lack of memory (outside EXTRA_DEBUG builds).
            case .ok, .outOfMemory: (500, "No error")
            default: (500, "I'm terribly sorry, server error occurred")
            }
        return (code, "\(text) (\(-rawValue)/\(signature))")
    }
}

/// Kamailio's `ser_error` and `prev_ser_error` for one message: every action of the script
/// starts by moving the current error to `previous` and resetting it to `unspecified`; the
/// code that fails (forwarding, resolving) sets `current`. A function that reports the
/// error of what ran before it (`sl_reply_error()`) reads `previous`.
public struct CoreErrorState: Sendable {
    /// The error of the action running now (`ser_error`).
    public var current = CoreError.unspecified
    /// The error the previous action left (`prev_ser_error`).
    public var previous = CoreError.unspecified

    public init() {}

    /// Called by the script engine when an action starts.
    @inline(__always)
    public mutating func beginAction() {
        previous = current
        current = .unspecified
    }
}

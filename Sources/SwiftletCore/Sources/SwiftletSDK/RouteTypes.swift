/// The kinds of routing blocks a script function may be called from (Kamailio's bit values).
public struct RouteTypes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let request = RouteTypes(rawValue: 1)
    public static let failure = RouteTypes(rawValue: 2)
    public static let tmOnReply = RouteTypes(rawValue: 4)
    public static let branch = RouteTypes(rawValue: 8)
    public static let onSend = RouteTypes(rawValue: 16)
    public static let error = RouteTypes(rawValue: 32)
    public static let local = RouteTypes(rawValue: 64)
    public static let coreOnReply = RouteTypes(rawValue: 128)
    public static let branchFailure = RouteTypes(rawValue: 256)
    public static let event = RouteTypes(rawValue: 512)
    /// `ONREPLY_ROUTE`: tm and core reply routes.
    public static let onReply: RouteTypes = [.tmOnReply, .coreOnReply]
    /// `ANY_ROUTE`
    public static let any = RouteTypes(rawValue: 0xFFFF_FFFF)

    /// The route kind as named in messages (`request_route`, `onsend_route`, ...).
    public var displayName: String {
        switch self {
        case .request: "request_route"
        case .failure: "failure_route"
        case .tmOnReply: "onreply_route"
        case .branch: "branch_route"
        case .onSend: "onsend_route"
        case .error: "error_route"
        case .local: "local_route"
        case .coreOnReply: "reply_route"
        case .branchFailure: "branch_failure event route"
        case .event: "event_route"
        default: "route"
        }
    }
}

/// The sanity module's checks for other modules (Kamailio's `bind_sanity`), looked up with
/// `core.apis.lookup(SanityCheckAPI.self)`: topoh and topos run the default checks on the
/// requests they receive (`sanity_checks`), before the core parsed them.
public protocol SanityCheckAPI: AnyObject {
    /// Runs the sanity module's default checks (its `default_checks` and `uri_checks`) on
    /// `message`, received from `peer` over `proto` (Kamailio's `check_defaults`): 1 when
    /// every check passes, 0 when one fails (logged). Nothing is answered: Kamailio's
    /// modules call it on raw received data, from where the reply it tries cannot be sent.
    func checkDefaults(_ message: SIPMessage, proto: TransportProtocol, peer: SocketAddress) -> Int
}
